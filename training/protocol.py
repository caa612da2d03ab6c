"""The evaluation protocol `recsys train --model auto` picks from the shape of the data.

- snapshot data (a customer's purchases all share one date, as Zimnat's join dates): hide
  one held product of up to HIDE_CUSTOMERS customers; the order carries nothing to test;
- monthly snapshots (every event on a few dates a month, as Santander's): the adoptions of
  the last MONTHS months, one split per month, pooled;
- timestamped events: the purchases of the next period, the window widened from 30 days
  until it holds MIN_CUSTOMERS customers (a small holdout lets a lucky model through);
  hide-one when no window does.

The validation splits, which choose the model, are cut from the holdout's training part
only (the same protocol one period earlier, or another hide-one), so choosing never reads
the holdout's labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.dataset import BankData
from recsys.evaluation.splits import Split, hide_one_split, rolling_monthly_splits, time_split

MIN_CUSTOMERS = 2000
HIDE_CUSTOMERS = 5000
# hide-one validation hides for more customers: scoring is cheap, and on 5,000 two sequence
# configs 0.001 MRR apart swapped places between validation and holdout (Zimnat)
VALIDATION_HIDE = 10_000
MONTHS = 4  # adoption months pooled in the holdout
VALIDATION_MONTHS = 4  # as many as the holdout: fewer months make a noisy choice
MIN_ADOPTERS = 1000  # pooled holdout adopters below which more months are added
WINDOWS = (30, 60, 90, 120, 180, 270, 365)
ORDERED_SHARE = 0.05  # customers with purchases on 2+ dates below which there is no order


@dataclass(frozen=True)
class Protocol:
    """The holdout splits, the validation splits cut before them, and a sentence saying so."""

    kind: str  # "hide_one" | "adoptions" | "next_period"
    holdout: list[Split]
    validation: list[Split]
    choosing: BankData  # what choosing may read: the holdout's training part
    statement: str

    @property
    def holdout_customers(self) -> int:
        """Customer-splits in the holdout (a customer counts once per month)."""
        return sum(s.test_customers.len() for s in self.holdout)


def data_shape(events: pl.DataFrame) -> str:
    """'snapshot', 'monthly' or 'timestamped', from the purchases' dates."""
    purchases = events.filter(pl.col(C.event) == Events.purchase)
    per_customer = purchases.group_by(C.customer_id).agg(
        pl.col(C.product_id).n_unique().alias("products"),
        pl.col(C.timestamp).n_unique().alias("dates"),
    )
    several = per_customer.filter(pl.col("products") >= 2)
    ordered = several.filter(pl.col("dates") >= 2).height / max(several.height, 1)
    if ordered < ORDERED_SHARE:
        return "snapshot"
    days = events[C.timestamp].dt.date().n_unique()
    months = events[C.timestamp].dt.truncate("1mo").n_unique()
    return (
        "monthly"
        if months >= MONTHS + VALIDATION_MONTHS + 1 and days <= 2 * months
        else "timestamped"
    )


def choose_protocol(data: BankData, seed: int = 0, min_customers: int = MIN_CUSTOMERS) -> Protocol:
    """The protocol for this data's shape (see the module docstring)."""
    shape = data_shape(data.events)
    if shape == "monthly":
        return _adoptions(data)
    if shape == "timestamped":
        found = _next_period(data, min_customers)
        if found is not None:
            return found
    return _hide_one(data, seed, shape)


def _hide_one(data: BankData, seed: int, shape: str) -> Protocol:
    holdout = _hide(data.events, seed, HIDE_CUSTOMERS)
    validation = _hide(holdout.train, seed + 1, VALIDATION_HIDE)
    why = (
        "purchases carry no order"
        if shape == "snapshot"
        else f"no window holds {MIN_CUSTOMERS:,} customers"
    )
    statement = (
        f"hide-one-held ({why}): one held product hidden for {holdout.test.height:,} customers "
        f"(seed {seed}); validation: another hide-one on the rest"
    )
    choosing = BankData(data.customers, data.products, holdout.train)
    return Protocol("hide_one", [holdout], [validation], choosing, statement)


def _hide(frame: pl.DataFrame, seed: int, customers: int) -> Split:
    purchases = frame.filter(pl.col(C.event) == Events.purchase)
    counts = purchases.select(C.customer_id, C.product_id).unique().group_by(C.customer_id).len()
    eligible = counts.filter(pl.col("len") >= 2).height
    return hide_one_split(frame, min(customers, eligible) or None, min_held=2, seed=seed)


def _adoptions(data: BankData) -> Protocol:
    months = MONTHS
    holdout = rolling_monthly_splits(data.events, months, products=data.products)
    total = sum(s.test_customers.len() for s in holdout)
    n_months = data.events[C.timestamp].dt.truncate("1mo").n_unique()
    while total < MIN_ADOPTERS and months + 1 < n_months // 3:
        months += 1
        holdout = rolling_monthly_splits(data.events, months, products=data.products)
        total = sum(s.test_customers.len() for s in holdout)
    before = data.events.filter(pl.col(C.timestamp) < holdout[0].cutoff)
    validation = rolling_monthly_splits(before, VALIDATION_MONTHS, products=data.products)
    statement = (
        f"adoptions of monthly snapshots: the last {months} months pooled "
        f"({', '.join(f'{s.label}: {s.test_customers.len()}' for s in holdout)} adopters); "
        f"validation: the {VALIDATION_MONTHS} months before"
    )
    choosing = BankData(data.customers, data.products, before)
    return Protocol("adoptions", holdout, validation, choosing, statement)


def _next_period(data: BankData, min_customers: int) -> Protocol | None:
    events = data.events
    last = events[C.timestamp].max() + timedelta(microseconds=1)
    span = (last - events[C.timestamp].min()).days
    for days in WINDOWS:
        if 3 * days > span:  # validation and training need the rest
            break
        cutoff = last - timedelta(days=days)
        holdout = time_split(events, cutoff, days, products=data.products)
        if holdout.test_customers.len() < min_customers:
            continue
        before = events.filter(pl.col(C.timestamp) < cutoff)
        validation = time_split(before, cutoff - timedelta(days=days), days, products=data.products)
        statement = (
            f"next-period purchases: the last {days} days ({holdout.test_customers.len():,} "
            f"customers; {min_customers:,} needed); validation: the {days} days before"
        )
        choosing = BankData(data.customers, data.products, before)
        return Protocol("next_period", [holdout], [validation], choosing, statement)
    return None


def median_gap_days(events: pl.DataFrame) -> float | None:
    """The median gap in days between a customer's consecutive event dates; None if none."""
    days = (
        events.select(C.customer_id, pl.col(C.timestamp).dt.date().alias("_d"))
        .unique()
        .sort(C.customer_id, "_d")
        .with_columns(pl.col("_d").diff().over(C.customer_id).dt.total_days().alias("_gap"))
    )
    gaps = days["_gap"].drop_nulls()
    gaps = gaps.filter(gaps > 0)
    return float(gaps.median()) if gaps.len() else None
