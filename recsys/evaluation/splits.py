"""Offline evaluation splits: by time, rolling by month, or hiding one held product.

Truth never includes what the model could not honestly recommend: a non-repeatable
product the customer already holds at the cutoff (the held rule would remove it anyway).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.holdings import holdings_at, repeatable_flags, require_aware

logger = logging.getLogger(__name__)

PAIR = (C.customer_id, C.product_id)


@dataclass(frozen=True)
class Split:
    """Events a model may train on, and the (customer, product) pairs it should find."""

    train: pl.DataFrame  # events (or holdings) frame, canonical columns
    test: pl.DataFrame  # customer_id, product_id: unique pairs, sorted
    cutoff: datetime | None  # start of the test period; None when not cut by time
    label: str = ""

    @property
    def test_customers(self) -> pl.Series:
        """Customers with at least one test pair, sorted."""
        return self.test[C.customer_id].unique().sort()


def time_split(
    events: pl.DataFrame,
    cutoff: datetime,
    window_days: int,
    *,
    products: pl.DataFrame,
    target_events: Sequence[str] = (Events.purchase,),
) -> Split:
    """Train: events before `cutoff`; test: target events in [cutoff, cutoff + window)."""
    require_aware(cutoff, "cutoff")
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        raise ValueError(f"window_days must be an integer >= 1, got {window_days!r}")
    end = cutoff + timedelta(days=window_days)
    return split_between(events, products, cutoff, end, target_events, label=f"{cutoff:%Y-%m-%d}")


def rolling_monthly_splits(
    events: pl.DataFrame,
    last_n_months: int = 4,
    *,
    products: pl.DataFrame,
    target_events: Sequence[str] = (Events.purchase,),
) -> list[Split]:
    """One split per month M of the last n months with target events: train before M, test M."""
    _require(events, (*PAIR, C.event, C.timestamp))
    months = (
        events.filter(pl.col(C.event).is_in(list(target_events)))
        .select(pl.col(C.timestamp).dt.truncate("1mo").unique().sort())
        .to_series()
        .to_list()
    )
    if last_n_months < 1 or len(months) <= last_n_months:
        raise ValueError(
            f"need more than last_n_months={last_n_months} months with {list(target_events)} "
            f"events (the earliest one trains only), found {len(months)}"
        )
    splits = []
    for start in months[-last_n_months:]:
        end = pl.select(pl.lit(start).dt.offset_by("1mo")).item()
        splits.append(
            split_between(events, products, start, end, target_events, label=f"{start:%Y-%m}")
        )
    return splits


def split_between(
    events: pl.DataFrame,
    products: pl.DataFrame,
    start: datetime,
    end: datetime,
    target_events: Sequence[str],
    *,
    label: str = "",
) -> Split:
    """Train: events before `start`; test: target pairs in [start, end) not already held."""
    _require(events, (*PAIR, C.event, C.timestamp))
    if isinstance(target_events, str) or not target_events:
        raise ValueError(f"target_events must be a non-empty sequence of names: {target_events!r}")
    ts = pl.col(C.timestamp)
    train = events.filter(ts < start)
    window = events.filter(
        (ts >= start) & (ts < end) & pl.col(C.event).is_in(list(target_events))
    ).select(PAIR)
    held = holdings_at(train, products, None, sort=False).select(PAIR)
    flags = repeatable_flags(products, held)
    held_once = held.join(flags.filter(~pl.col(C.repeatable)), on=C.product_id, how="semi")
    test = window.unique().join(held_once, on=PAIR, how="anti").sort(PAIR)
    if test.is_empty():
        raise ValueError(f"no {list(target_events)} events in [{start}, {end}) to test on")
    logger.info("split %s: %d train events, %d test pairs", label, train.height, test.height)
    return Split(train=train, test=test, cutoff=start, label=label)


def hide_one_split(
    holdings_or_purchases: pl.DataFrame,
    n_customers: int | None,
    *,
    min_held: int = 2,
    seed: int = 0,
    target_events: Sequence[str] = (Events.purchase,),
) -> Split:
    """Hide one random held product of n random customers holding >= min_held; train = rest.

    Every row of a hidden (customer, product) pair leaves the train frame, so no view or
    repeated purchase leaks it. With an `event` column only target events count as held.
    """
    frame = holdings_or_purchases
    _require(frame, PAIR)
    held = (
        frame.filter(pl.col(C.event).is_in(list(target_events)))
        if C.event in frame.columns
        else frame
    )
    pairs = held.select(PAIR).unique().sort(PAIR)
    counts = pairs.group_by(C.customer_id).len().filter(pl.col("len") >= min_held)
    eligible = counts[C.customer_id].sort()
    n = eligible.len() if n_customers is None else n_customers
    if min_held < 1 or not 1 <= n <= eligible.len():
        raise ValueError(
            f"cannot hide one product for {n} customers: {eligible.len()} customers hold at "
            f"least min_held={min_held} products"
        )
    rng = np.random.default_rng(seed)
    chosen = eligible.gather(np.sort(rng.choice(eligible.len(), size=n, replace=False)))
    candidates = pairs.filter(pl.col(C.customer_id).is_in(chosen.implode()))
    hidden = (
        candidates.with_columns(pl.Series("_key", rng.random(candidates.height)))
        .sort(C.customer_id, "_key")
        .unique(C.customer_id, keep="first", maintain_order=True)
        .select(PAIR)
        .sort(PAIR)
    )
    train = frame.join(hidden, on=PAIR, how="anti", maintain_order="left")
    return Split(train=train, test=hidden, cutoff=None, label=f"hide_one_seed{seed}")


def _require(frame: pl.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"events: missing column(s) {missing}")
