"""Hard rules every generated dataset obeys: suitability, age limits, sale windows, closes."""

from __future__ import annotations

import polars as pl

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.dataset import BankData

from .conftest import purchases, with_profile

_AGE = (pl.col(C.timestamp).dt.year() - pl.col(C.birth_year)).alias("age")


def _offending_age(frame: pl.DataFrame) -> pl.DataFrame:
    low = pl.col(C.min_age).is_not_null() & (_AGE < pl.col(C.min_age))
    high = pl.col(C.max_age).is_not_null() & (_AGE > pl.col(C.max_age))
    return frame.filter(low | high)


def test_no_purchase_above_the_customers_risk_tolerance(large_bank: BankData) -> None:
    bought = purchases(large_bank)
    assert bought.height > 10_000
    assert bought.filter(pl.col(C.risk_rating) > pl.col(C.risk_tolerance)).height == 0
    # the rule binds: risky products exist and some customers are cautious
    assert bought[C.risk_rating].max() == 5
    assert (large_bank.customers[C.risk_tolerance] == 1).sum() > 0


def test_no_purchase_outside_the_age_limits(large_bank: BankData) -> None:
    bought = purchases(large_bank)
    assert _offending_age(bought).height == 0
    juniors = bought.filter(pl.col(C.product_id) == "CA_JUNIOR").select(_AGE)
    assert juniors.height > 0 and juniors["age"].max() <= 17


def test_no_purchase_outside_a_products_sale_window(large_bank: BankData) -> None:
    bought = purchases(large_bank).with_columns(pl.col(C.timestamp).dt.date().alias("day"))
    early = pl.col(C.active_from).is_not_null() & (pl.col("day") < pl.col(C.active_from))
    late = pl.col(C.active_to).is_not_null() & (pl.col("day") > pl.col(C.active_to))
    assert bought.filter(early | late).height == 0
    campaign = bought.filter(pl.col(C.product_id) == "TD_SPRING")
    assert campaign.height > 0  # the windowed product does sell inside its window


def test_impressions_show_only_suitable_products_to_consenting_customers(
    large_bank: BankData,
) -> None:
    shown = with_profile(
        large_bank, large_bank.events.filter(pl.col(C.event) == Events.impression)
    )
    assert shown.height > 0
    assert shown[C.marketing_consent].all()
    assert shown.filter(pl.col(C.risk_rating) > pl.col(C.risk_tolerance)).height == 0
    assert _offending_age(shown).height == 0


def test_every_close_follows_an_open_purchase(large_bank: BankData) -> None:
    moves = large_bank.events.filter(pl.col(C.event).is_in([Events.purchase, Events.close]))
    step = pl.when(pl.col(C.event) == Events.purchase).then(1).otherwise(-1)
    running = moves.sort(C.timestamp, maintain_order=True).select(
        step.cum_sum().over(C.customer_id, C.product_id).alias("held")
    )
    assert running["held"].min() >= 0
    assert (moves[C.event] == Events.close).sum() > 100


def test_non_repeatable_products_are_bought_at_most_once(large_bank: BankData) -> None:
    counts = purchases(large_bank).group_by(C.customer_id, C.product_id, C.repeatable).len()
    assert counts.filter(~pl.col(C.repeatable) & (pl.col("len") > 1)).height == 0
    assert counts.filter(pl.col(C.repeatable) & (pl.col("len") > 1)).height > 0


def test_events_use_only_the_products_channels(large_bank: BankData) -> None:
    events = large_bank.events.join(
        large_bank.products.select(C.product_id, C.channels), on=C.product_id
    )
    allowed = pl.col(C.channels).list.len().eq(0) | pl.col(C.channels).list.contains(
        pl.col(C.channel)
    )
    assert events[C.channel].null_count() == 0
    assert events.filter(~allowed).height == 0


def test_no_event_before_the_customer_joined(large_bank: BankData) -> None:
    events = large_bank.events.join(
        large_bank.customers.select(C.customer_id, C.joined_at), on=C.customer_id
    )
    assert events.filter(pl.col(C.timestamp).dt.date() < pl.col(C.joined_at)).height == 0


def test_about_seventy_percent_give_marketing_consent(large_bank: BankData) -> None:
    # 8,000 customers: the standard error of the share is about 0.005
    assert 0.67 < large_bank.customers[C.marketing_consent].mean() < 0.73


def test_behaviour_events_outnumber_purchases_and_clicks_precede_some(
    large_bank: BankData,
) -> None:
    counts = dict(large_bank.events.group_by(C.event).len().iter_rows())
    assert set(counts) == set(Events.all) - {Events.reject}  # no rejections are generated
    assert counts[Events.view] > counts[Events.purchase] > counts[Events.close]
    assert counts[Events.impression] > counts[Events.click]
    keys = [C.customer_id, C.product_id]
    first_buy = large_bank.events.filter(pl.col(C.event) == Events.purchase).group_by(keys).agg(
        pl.col(C.timestamp).min().alias("bought")
    )
    clicked = large_bank.events.filter(pl.col(C.event) == Events.click).join(first_buy, on=keys)
    before = clicked.filter(pl.col(C.timestamp) <= pl.col("bought")).unique(keys).height
    assert before > 0.1 * first_buy.height
