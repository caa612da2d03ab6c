"""An independent oracle of the hard rules, written as polars joins over (customer, product) pairs.

It does not use `recsys.rules`: results of the engine (or the pyfunc) are checked against it,
so a bug in a mask shows up as a disagreement. Customers carry a nullable risk_tolerance
(null = not profiled = R1 only) and a nullable birth_year (null = an adult of unknown age:
only products open to every adult, i.e. min_age <= ADULT_AGE and no max_age).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

import polars as pl

from recsys.columns import Columns as C
from recsys.rules.eligibility import ADULT_AGE

RANK = "rank"
SCORE = "score"
REASON = "reason"
OUTPUT_COLUMNS = [C.customer_id, RANK, C.product_id, SCORE, REASON]


def allowed_pairs(
    customers: pl.DataFrame,
    products: pl.DataFrame,
    held: pl.DataFrame,
    *,
    at: date,
    channel: str | None = None,
    excluded_categories: Collection[str] = (),
) -> pl.DataFrame:
    """(customer_id, product_id) pairs that every hard rule allows on day `at`."""
    pairs = customers.select(
        C.customer_id, pl.col(C.risk_tolerance).fill_null(1).alias("_tol"), C.birth_year
    ).join(products, how="cross")
    youngest = at.year - pl.col(C.birth_year) - (0 if (at.month, at.day) == (12, 31) else 1)
    oldest = at.year - pl.col(C.birth_year)
    any_adult = (pl.col(C.min_age).is_null() | (pl.col(C.min_age) <= ADULT_AGE)) & pl.col(
        C.max_age
    ).is_null()
    age_ok = (
        pl.when(pl.col(C.birth_year).is_null())
        .then(any_adult)
        .otherwise(
            (pl.col(C.min_age).is_null() | (youngest >= pl.col(C.min_age)))
            & (pl.col(C.max_age).is_null() | (oldest <= pl.col(C.max_age)))
        )
    )
    active = (pl.col(C.active_from).is_null() | (pl.col(C.active_from) <= at)) & (
        pl.col(C.active_to).is_null() | (pl.col(C.active_to) >= at)
    )
    sold_here = pl.lit(True)
    if channel is not None:
        sold_here = (
            pl.col(C.channels).is_null()
            | (pl.col(C.channels).list.len() == 0)
            | pl.col(C.channels).list.contains(channel)
        )
    held_once = held.select(C.customer_id, C.product_id).unique().with_columns(_held=True)
    return (
        pairs.join(held_once, on=[C.customer_id, C.product_id], how="left")
        .filter(
            (pl.col(C.risk_rating) <= pl.col("_tol"))
            & age_ok
            & active
            & sold_here
            & ~pl.col(C.category).is_in(list(excluded_categories))
            & (pl.col(C.repeatable) | pl.col("_held").is_null())
        )
        .select(C.customer_id, C.product_id)
    )


def check_suggestions(result: pl.DataFrame, allowed: pl.DataFrame, k: int) -> None:
    """Every suggestion is allowed; each customer gets min(k, #allowed) distinct, ranked rows."""
    assert result.columns == OUTPUT_COLUMNS
    bad = result.join(allowed, on=[C.customer_id, C.product_id], how="anti")
    assert bad.is_empty(), f"suggestions that break a hard rule:\n{bad}"
    assert result.select(C.customer_id, C.product_id).is_duplicated().sum() == 0
    wanted = (
        allowed.group_by(C.customer_id)
        .len("n_allowed")
        .with_columns(pl.min_horizontal(pl.col("n_allowed"), pl.lit(k)).alias("expected"))
    )
    got = result.group_by(C.customer_id).agg(
        pl.len().alias("n"), pl.col(RANK).sort().alias("ranks"), pl.col(SCORE).alias("scores")
    )
    both = wanted.join(got, on=C.customer_id, how="full", coalesce=True).fill_null(0)
    short = both.filter(pl.col("n") != pl.col("expected"))
    assert short.is_empty(), f"customers with the wrong number of suggestions:\n{short}"
    for ranks in got["ranks"].to_list():
        assert ranks == list(range(1, len(ranks) + 1))
    ordered = result.sort(C.customer_id, RANK)
    increase = ordered.filter(
        (pl.col(SCORE) > pl.col(SCORE).shift(1).over(C.customer_id)).fill_null(False)
    )
    assert increase.is_empty(), f"scores must not increase with rank:\n{increase}"
