"""Summary statistics of a dataset, each as a small polars frame (pure; the CLI prints them)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import polars as pl

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.dataset import BankData
from recsys.data.holdings import holdings_at


class Stats:
    """Column names of the describe frames (their row labels are data, not columns)."""

    metric: Final = "metric"
    value: Final = "value"
    count: Final = "count"
    products: Final = "products"
    events: Final = "events"
    customers: Final = "customers"
    holders: Final = "holders"
    first: Final = "first"
    last: Final = "last"
    days: Final = "days"
    month: Final = "month"
    purchases: Final = "purchases"
    mean: Final = "mean"
    median: Final = "median"
    p90: Final = "p90"
    max: Final = "max"
    min: Final = "min"
    months: Final = "months"
    total: Final = "total"


NO_CHANNEL: Final = "(none)"  # the column of events recorded without a channel


S = Stats
_HELD = "_held"


def counts(data: BankData) -> pl.DataFrame:
    """Rows per table and how many customers/products appear in events (metric, value)."""
    ev = data.events
    labels = ["customers", "products", "events", "customers with events", "products with events"]
    values = [
        data.customers.height,
        data.products.height,
        ev.height,
        ev[C.customer_id].n_unique(),
        ev[C.product_id].n_unique(),
    ]
    return pl.DataFrame(
        {S.metric: labels, S.value: values}, schema={S.metric: pl.String, S.value: pl.Int64}
    )


def date_range(events: pl.DataFrame) -> pl.DataFrame:
    """First and last event timestamp and the whole days between them (one row; nulls if empty)."""
    ts = pl.col(C.timestamp)
    return events.select(
        ts.min().alias(S.first),
        ts.max().alias(S.last),
        (ts.max() - ts.min()).dt.total_days().cast(pl.Int64).alias(S.days),
    )


def products_by_category(products: pl.DataFrame) -> pl.DataFrame:
    """Number of products per category, largest first (category, products)."""
    return (
        products.group_by(C.category)
        .agg(pl.len().cast(pl.Int64).alias(S.products))
        .sort([S.products, C.category], descending=[True, False])
    )


def holdings_per_customer(data: BankData, cutoff: datetime | None = None) -> pl.DataFrame:
    """Distinct products held per customer over ALL customers (zeros count): one row of stats.

    Quantiles interpolate linearly (numpy's default), so p90 of [0, 1, 2] is 1.8.
    """
    held = holdings_at(data.events, data.products, cutoff).group_by(C.customer_id).len(_HELD)
    per_customer = (
        data.customers.select(C.customer_id)
        .join(held, on=C.customer_id, how="left")
        .select(pl.col(_HELD).fill_null(0).cast(pl.Float64))
    )
    n = pl.col(_HELD)
    return per_customer.select(
        pl.len().cast(pl.Int64).alias(S.customers),
        (n > 0).sum().cast(pl.Int64).alias(S.holders),
        n.mean().alias(S.mean),
        n.quantile(0.5, "linear").alias(S.median),
        n.quantile(0.9, "linear").alias(S.p90),
        n.max().cast(pl.Int64).alias(S.max),
    )


def purchases_per_month(events: pl.DataFrame) -> pl.DataFrame:
    """Purchases and purchasing customers per calendar month (UTC), months without any kept as 0."""
    bought = events.filter(pl.col(C.event) == Events.purchase).with_columns(
        pl.col(C.timestamp).dt.date().dt.truncate("1mo").alias(S.month)
    )
    schema = {S.month: pl.Date, S.purchases: pl.Int64, S.customers: pl.Int64}
    if bought.is_empty():
        return pl.DataFrame(schema=schema)
    per_month = bought.group_by(S.month).agg(
        pl.len().cast(pl.Int64).alias(S.purchases),
        pl.col(C.customer_id).n_unique().cast(pl.Int64).alias(S.customers),
    )
    first, last = per_month[S.month].min(), per_month[S.month].max()
    months = pl.date_range(first, last, "1mo", eager=True).alias(S.month).to_frame()
    return (
        months.join(per_month, on=S.month, how="left")
        .with_columns(pl.col(S.purchases, S.customers).fill_null(0))
        .select(schema.keys())
    )


def events_by_type_and_channel(events: pl.DataFrame) -> pl.DataFrame:
    """Event counts per (event, channel); channel is null where not recorded."""
    channel = pl.col(C.channel) if C.channel in events.columns else pl.lit(None, pl.String)
    return (
        events.group_by(pl.col(C.event), channel.alias(C.channel))
        .agg(pl.len().cast(pl.Int64).alias(S.events))
        .sort([C.event, C.channel], nulls_last=True)
    )


def months_summary(per_month: pl.DataFrame) -> pl.DataFrame:
    """`purchases_per_month` in one row: how many months, the first and last, purchases a month."""
    bought = pl.col(S.purchases)
    return per_month.select(
        pl.len().cast(pl.Int64).alias(S.months),
        pl.col(S.month).min().alias(S.first),
        pl.col(S.month).max().alias(S.last),
        bought.min().alias(S.min),
        bought.median().alias(S.median),
        bought.mean().alias(S.mean),
        bought.max().alias(S.max),
    )


def events_by_channel(events: pl.DataFrame) -> pl.DataFrame:
    """Event counts, a row per event type and a column per channel, then their total."""
    long = events_by_type_and_channel(events).with_columns(pl.col(C.channel).fill_null(NO_CHANNEL))
    if long.is_empty():
        return pl.DataFrame(schema={C.event: pl.String, S.total: pl.Int64})
    named = sorted(c for c in long[C.channel].unique().to_list() if c != NO_CHANNEL)
    channels = named + ([NO_CHANNEL] if NO_CHANNEL in long[C.channel] else [])
    wide = long.pivot(on=C.channel, index=C.event, values=S.events).fill_null(0)
    return wide.select(C.event, *channels, pl.sum_horizontal(channels).alias(S.total)).sort(C.event)


def describe(
    data: BankData, cutoff: datetime | None = None, *, every_month: bool = False
) -> dict[str, pl.DataFrame]:
    """Every summary above, titled, in the order a reader wants them.

    Purchases per month come as one summary row, or with `every_month` a row per month.
    """
    per_month = purchases_per_month(data.events)
    return {
        "Counts": counts(data),
        "Event date range (UTC)": date_range(data.events),
        "Products by category": products_by_category(data.products),
        "Products held per customer": holdings_per_customer(data, cutoff),
        "Purchases per month": per_month if every_month else months_summary(per_month),
        "Events by type and channel": events_by_channel(data.events),
    }
