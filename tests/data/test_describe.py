"""Dataset summaries, against a hand-worked four-customer bank."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from recsys.columns import Columns as C
from recsys.data import describe as d
from recsys.data.dataset import BankData
from recsys.data.schema import UTC_DATETIME

S = d.Stats


def ts(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2024, month, day, hour, tzinfo=UTC)


def bank() -> BankData:
    customers = pl.DataFrame(
        {
            C.customer_id: ["C1", "C2", "C3", "C4"],
            C.birth_year: pl.Series([1980, 1990, 1975, 2000], dtype=pl.Int32),
            C.segment: ["mass", "mass", "affluent", "young"],
            C.risk_tolerance: pl.Series([3, 2, 4, 1], dtype=pl.Int8),
            C.marketing_consent: [True, False, True, True],
        }
    )
    products = pl.DataFrame(
        {
            C.product_id: ["TD", "CC", "CC2", "INS"],
            C.name: ["Term deposit", "Card", "Gold card", "Travel insurance"],
            C.category: ["term_deposit", "credit_card", "credit_card", "insurance"],
            C.risk_rating: pl.Series([1, 2, 2, 1], dtype=pl.Int8),
            C.repeatable: [True, False, False, False],
        }
    )
    rows = [
        ("C1", "TD", "purchase", ts(1, 5), "mobile"),
        ("C1", "TD", "purchase", ts(1, 20), "branch"),
        ("C1", "CC", "purchase", ts(3, 2), "mobile"),
        ("C2", "CC", "purchase", ts(1, 31), "web"),
        ("C2", "CC", "close", ts(3, 15), "web"),
        ("C2", "INS", "view", ts(3, 16), None),
        ("C3", "INS", "purchase", ts(3, 31, 23), "mobile"),
    ]
    cols = list(zip(*rows, strict=True))
    events = pl.DataFrame(
        {
            C.customer_id: cols[0],
            C.product_id: cols[1],
            C.event: cols[2],
            C.timestamp: pl.Series(cols[3], dtype=UTC_DATETIME),
            C.channel: pl.Series(cols[4], dtype=pl.String),
        }
    )
    return BankData(customers, products, events)


def test_counts() -> None:
    expected = pl.DataFrame(
        {
            S.metric: [
                "customers",
                "products",
                "events",
                "customers with events",
                "products with events",
            ],
            S.value: [4, 4, 7, 3, 3],
        }
    )
    assert_frame_equal(d.counts(bank()), expected)


def test_date_range() -> None:
    expected = pl.DataFrame(
        {
            S.first: pl.Series([ts(1, 5)], dtype=UTC_DATETIME),
            S.last: pl.Series([ts(3, 31, 23)], dtype=UTC_DATETIME),
            S.days: [86],  # 26 left in January + 29 (leap February) + 31, the last 23 h cut
        }
    )
    assert_frame_equal(d.date_range(bank().events), expected)


def test_products_by_category_largest_first_then_by_name() -> None:
    expected = pl.DataFrame(
        {C.category: ["credit_card", "insurance", "term_deposit"], S.products: [2, 1, 1]}
    )
    assert_frame_equal(d.products_by_category(bank().products), expected)


def test_holdings_per_customer_counts_customers_holding_nothing() -> None:
    # held products per customer: C1 {TD x2, CC} = 2, C2 0 (closed), C3 {INS} = 1, C4 0
    # sorted [0, 0, 1, 2]: median 0.5; p90 at position 2.7 -> 1 + 0.7 * (2 - 1) = 1.7
    expected = pl.DataFrame(
        {
            S.customers: [4],
            S.holders: [2],
            S.mean: [0.75],
            S.median: [0.5],
            S.p90: [1.7],
            S.max: [2],
        }
    )
    assert_frame_equal(d.holdings_per_customer(bank()), expected)


def test_holdings_per_customer_at_a_cutoff() -> None:
    # at Feb 1: C1 {TD}, C2 {CC} -> [0, 0, 1, 1]
    expected = pl.DataFrame(
        {S.customers: [4], S.holders: [2], S.mean: [0.5], S.median: [0.5], S.p90: [1.0], S.max: [1]}
    )
    assert_frame_equal(d.holdings_per_customer(bank(), ts(2, 1)), expected)


def test_purchases_per_month_keeps_empty_months() -> None:
    expected = pl.DataFrame(
        {
            S.month: [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)],
            S.purchases: [3, 0, 2],
            S.customers: [2, 0, 2],
        }
    )
    assert_frame_equal(d.purchases_per_month(bank().events), expected)


def test_events_by_type_and_channel() -> None:
    expected = pl.DataFrame(
        {
            C.event: ["close", "purchase", "purchase", "purchase", "view"],
            C.channel: ["web", "branch", "mobile", "web", None],
            S.events: [1, 1, 3, 1, 1],
        }
    )
    assert_frame_equal(d.events_by_type_and_channel(bank().events), expected)


def test_months_summary_is_one_row_over_every_month() -> None:
    expected = pl.DataFrame(
        {
            S.months: [3],
            S.first: [date(2024, 1, 1)],
            S.last: [date(2024, 3, 1)],
            S.min: [0],
            S.median: [2.0],
            S.mean: [5 / 3],
            S.max: [3],
        }
    )
    per_month = d.purchases_per_month(bank().events)
    assert_frame_equal(d.months_summary(per_month), expected)


def test_events_by_channel_has_a_column_per_channel_and_the_unrecorded_last() -> None:
    expected = pl.DataFrame(
        {
            C.event: ["close", "purchase", "view"],
            "branch": [0, 1, 0],
            "mobile": [0, 3, 0],
            "web": [1, 1, 0],
            d.NO_CHANNEL: [0, 0, 1],
            S.total: [1, 5, 1],
        }
    )
    assert_frame_equal(d.events_by_channel(bank().events), expected, check_dtypes=False)


def test_events_without_channel_column() -> None:
    events = bank().events.drop(C.channel)
    out = d.events_by_type_and_channel(events)
    assert out[C.channel].null_count() == 3
    assert out[S.events].to_list() == [1, 5, 1]


def test_empty_events() -> None:
    data = bank()
    empty = BankData(data.customers, data.products, data.events.clear())
    assert d.purchases_per_month(empty.events).is_empty()
    assert d.date_range(empty.events).row(0) == (None, None, None)
    assert d.holdings_per_customer(empty).row(0) == (4, 0, 0.0, 0.0, 0.0, 0)
    assert d.events_by_type_and_channel(empty.events).is_empty()
    assert d.events_by_channel(empty.events).is_empty()
    assert d.months_summary(d.purchases_per_month(empty.events)).row(0)[0] == 0


def test_describe_titles_every_table() -> None:
    tables = d.describe(bank())
    assert list(tables) == [
        "Counts",
        "Event date range (UTC)",
        "Products by category",
        "Products held per customer",
        "Purchases per month",
        "Events by type and channel",
    ]
    assert all(isinstance(t, pl.DataFrame) for t in tables.values())
    assert tables["Purchases per month"].height == 1
    assert d.describe(bank(), every_month=True)["Purchases per month"].height == 3


@pytest.mark.parametrize("fn", [d.purchases_per_month, d.events_by_type_and_channel])
def test_event_stats_do_not_depend_on_row_order(fn) -> None:
    events = bank().events
    assert_frame_equal(fn(events), fn(events.reverse()))
