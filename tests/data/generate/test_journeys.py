"""The planted structure is there and learnable: sequences, recency, profile propensities.

All on 8,000 customers (seed 5); every margin below is several standard errors wide.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from recsys.columns import Columns as C
from recsys.data.dataset import BankData

from .conftest import START, purchases

CUTOFF = datetime(2026, 5, 1, tzinfo=UTC)  # last six months of the history are the test period
PREV, GAP, TARGET, SCORE = "prev", "gap_days", "target", "score"


def _pairs(data: BankData) -> pl.DataFrame:
    """Each purchase with the customer's previous purchase and the days since it."""
    return (
        purchases(data)
        .sort(C.customer_id, C.timestamp)
        .with_columns(
            pl.col(C.product_id).shift(1).over(C.customer_id).alias(PREV),
            (pl.col(C.timestamp) - pl.col(C.timestamp).shift(1).over(C.customer_id))
            .dt.total_days()
            .alias(GAP),
        )
        .filter(pl.col(PREV).is_not_null())
    )


def _share(frame: pl.DataFrame, condition: pl.Expr) -> float:
    assert frame.height > 100, "too few rows for a stable share"
    return frame.select(condition.mean()).item()


def test_a_salary_account_leads_to_a_credit_card(large_bank: BankData) -> None:
    pairs = _pairs(large_bank)
    is_card = pl.col(C.category) == "credit_card"
    after_salary = _share(pairs.filter(pl.col(PREV) == "CA_SALARY"), is_card)
    assert after_salary > 2 * _share(pairs, is_card)
    bought = purchases(large_bank)
    salaried = bought.filter(pl.col(C.product_id) == "CA_SALARY").select(C.customer_id)
    classic = bought.filter(pl.col(C.product_id) == "CC_CLASSIC").select(C.customer_id)
    adults = large_bank.customers.filter(pl.col(C.segment) != "junior").select(C.customer_id)
    p_salaried = salaried.join(classic, on=C.customer_id).height / salaried.height
    p_adults = adults.join(classic, on=C.customer_id).height / adults.height
    assert p_salaried > 1.4 * p_adults


def test_life_cycle_chains_mortgage_to_home_insurance_and_card_to_travel(
    large_bank: BankData,
) -> None:
    pairs = _pairs(large_bank)
    home = pl.col(C.product_id) == "INS_HOME"
    assert _share(pairs.filter(pl.col(PREV).str.starts_with("MG_")), home) > 4 * _share(pairs, home)
    travel = pl.col(C.product_id) == "INS_TRAVEL"
    after_card = pairs.filter(pl.col(PREV).str.starts_with("CC_"))
    assert _share(after_card, travel) > 2 * _share(pairs, travel)


def test_recent_purchases_pull_harder_than_old_ones(large_bank: BankData) -> None:
    after_card = _pairs(large_bank).filter(pl.col(PREV).str.starts_with("CC_"))
    travel = pl.col(C.product_id) == "INS_TRAVEL"
    soon = _share(after_card.filter(pl.col(GAP) < 90), travel)
    late = _share(after_card.filter(pl.col(GAP) > 365), travel)
    assert soon > 1.5 * late


def test_investors_climb_the_risk_ladder_in_order(large_bank: BankData) -> None:
    pairs = _pairs(large_bank)
    up_one = _share(pairs.filter(pl.col(PREV) == "MF_BOND"), pl.col(C.product_id) == "MF_BALANCED")
    able = pairs.filter(pl.col(C.risk_tolerance) >= 3)
    assert up_one > 4 * _share(able, pl.col(C.product_id) == "MF_BALANCED")


def test_profile_drives_propensities(large_bank: BankData) -> None:
    bought = purchases(large_bank).filter(pl.col(C.timestamp) >= START)
    per_customer = bought.group_by(C.customer_id, C.segment, C.income_band).agg(
        (pl.col(C.product_id) == "INS_HEALTH").any().alias("health"),
        (pl.col(C.product_id) == "CC_PLATINUM").any().alias("platinum"),
    )
    by_segment = dict(per_customer.group_by(C.segment).agg(pl.col("health").mean()).iter_rows())
    assert by_segment["senior"] > 3 * by_segment["student"]
    rich = per_customer.filter(pl.col(C.income_band) == "high")["platinum"].mean()
    poor = per_customer.filter(pl.col(C.income_band).is_in(["low", "lower_middle"]))
    assert rich > 5 * poor["platinum"].mean()


def test_last_purchase_beats_popularity_at_predicting_the_next_one(large_bank: BankData) -> None:
    bought = purchases(large_bank)
    train, later = bought.filter(pl.col(C.timestamp) < CUTOFF), bought.filter(
        pl.col(C.timestamp) >= CUTOFF
    )
    target = later.sort(C.timestamp).group_by(C.customer_id).first()
    last = train.sort(C.timestamp).group_by(C.customer_id).last()
    cases = target.select(C.customer_id, pl.col(C.product_id).alias(TARGET)).join(
        last.select(C.customer_id, pl.col(C.product_id).alias(PREV)), on=C.customer_id
    )
    held = train.filter(~pl.col(C.repeatable)).select(C.customer_id, C.product_id).unique()
    pop = train.filter(pl.col(C.timestamp) >= START).group_by(C.product_id).len("pop")
    successors = _pairs(large_bank).filter(
        (pl.col(C.timestamp) >= START) & (pl.col(C.timestamp) < CUTOFF)
    ).group_by(PREV, C.product_id).len("follows")
    candidates = (
        cases.join(large_bank.products.select(C.product_id), how="cross")
        .join(held, on=[C.customer_id, C.product_id], how="anti")
        .join(pop, on=C.product_id, how="left")
        .join(successors, on=[PREV, C.product_id], how="left")
        .fill_null(0)
    )
    popularity = _hit_rate_at_5(candidates, pl.col("pop"))
    sequence = _hit_rate_at_5(candidates, pl.col("follows") * 1_000_000 + pl.col("pop"))
    assert cases.height > 1000
    assert sequence > popularity + 0.1


def _hit_rate_at_5(candidates: pl.DataFrame, score: pl.Expr) -> float:
    ranked = candidates.with_columns(
        score.rank("ordinal", descending=True).over(C.customer_id).alias(SCORE)
    ).filter(pl.col(SCORE) <= 5)
    hits = ranked.group_by(C.customer_id).agg((pl.col(C.product_id) == pl.col(TARGET)).any())
    return hits[C.product_id].mean()
