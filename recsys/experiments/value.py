"""Value per 1,000 answers of an experiment's arm: the margin of its attributed purchases.

The products' values are those the answers logged (each item's `value` in the decision log,
recsys.ranking); a product never logged with one counts 0. The interval is the delta
method's for a ratio of per-customer sums (value over answers), customers being the unit
the experiment randomises.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

Z95 = 1.959963984540054


@dataclass(frozen=True)
class ValueRate:
    """An arm's margin: in all, and per 1,000 answers with its 95% interval."""

    value: float
    per_1000: float
    low: float
    high: float


_ITEM_VALUE = pl.List(pl.Struct({"product_id": pl.String, "value": pl.Float64}))


def values_of(items_json: Iterable[str | None]) -> dict[str, float]:
    """Product id -> value, from decision rows' items JSON (the last one logged wins)."""
    # decoded in bulk: a report reads every answer of the experiment (tens of thousands)
    items = pl.Series(list(items_json), dtype=pl.String).fill_null("[]")
    if items.is_empty():
        return {}
    flat = items.str.json_decode(_ITEM_VALUE).explode().drop_nulls().struct.unnest()
    last = flat.drop_nulls("value").group_by("product_id", maintain_order=True).last()
    return dict(zip(last["product_id"].to_list(), last["value"].to_list(), strict=True))


def arm_value(
    decisions: pl.DataFrame, bought: pl.DataFrame, values: Mapping[str, float], arm: str
) -> ValueRate:
    """The arm's value per 1,000 answers: `bought` has customer_id, arm and product_id."""
    mine = decisions.filter(pl.col("arm") == arm).group_by("customer_id").len("answers")
    worth = (
        bought.filter(pl.col("arm") == arm)
        .with_columns(pl.col("product_id").replace_strict(values, default=0.0).alias("v"))
        .group_by("customer_id")
        .agg(pl.col("v").sum())
    )
    per = mine.join(worth, on="customer_id", how="left").fill_null(0.0)
    n = per["answers"].to_numpy().astype(np.float64)
    v = per["v"].to_numpy().astype(np.float64)
    if n.sum() == 0:
        return ValueRate(0.0, 0.0, 0.0, 0.0)
    ratio = v.sum() / n.sum()
    k = len(n)
    spread = float(np.var(v - ratio * n, ddof=1)) if k > 1 else 0.0
    half = Z95 * math.sqrt(spread / k) / n.mean() if k > 1 else 0.0
    return ValueRate(float(v.sum()), 1000 * ratio, 1000 * (ratio - half), 1000 * (ratio + half))
