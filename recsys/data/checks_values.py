"""Rules on the values of one typed table: unique keys, ranges, known codes, no future dates."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

import polars as pl

from recsys.columns import Columns as C
from recsys.data.checks_rows import RowCheck
from recsys.data.schema import TableSpec

RATING_RANGE = (1, 5)  # risk_tolerance C1..C5, risk_rating R1..R5
AGE_RANGE = (0, 150)
FIRST_BIRTH_YEAR = 1900
# no bank's records go back further; 0001-01-01 is a default value, not a moment
FIRST_EVENT_TIME = datetime(FIRST_BIRTH_YEAR, 1, 1, tzinfo=UTC)
TERM_RANGE = (0, 600)  # months: up to a 50-year mortgage


def key_checks(spec: TableSpec) -> list[RowCheck]:
    """Every row of a duplicated key value (all copies, so the user sees where each one is)."""
    return [
        RowCheck(key, "duplicate key", pl.col(key).is_duplicated() & pl.col(key).is_not_null())
        for key in spec.key
    ]


def customer_checks(now: datetime) -> list[RowCheck]:
    """Risk tolerance 1-5, a plausible birth year, no join date after `now`."""
    return [
        _in_range(C.risk_tolerance, *RATING_RANGE),
        _in_range(C.birth_year, FIRST_BIRTH_YEAR, now.year),
        RowCheck(
            C.joined_at, f"in the future (after {now.date()})", pl.col(C.joined_at) > now.date()
        ),
    ]


def product_checks(channels: Collection[str] | None) -> list[RowCheck]:
    """Risk rating 1-5, sane age limits, ordered windows, well-formed and known channel names."""
    checks = [
        _in_range(C.risk_rating, *RATING_RANGE),
        _in_range(C.min_age, *AGE_RANGE),
        _in_range(C.max_age, *AGE_RANGE),
        RowCheck(
            C.min_age, "min_age is greater than max_age", pl.col(C.min_age) > pl.col(C.max_age)
        ),
        RowCheck(
            C.active_from,
            "active_from is after active_to",
            pl.col(C.active_from) > pl.col(C.active_to),
        ),
        _blank_channel_names(),
        RowCheck(C.value, "not a finite number", ~pl.col(C.value).is_finite()),
        RowCheck(C.value, "negative value", pl.col(C.value) < 0),
        _in_range(C.term_months, *TERM_RANGE),
    ]
    if channels is not None:
        known = sorted(channels)
        # blank names are reported by _blank_channel_names, not again as unknown
        unknown = (pl.element().str.strip_chars() != "") & ~pl.element().is_in(known)
        checks.append(
            RowCheck(
                C.channels,
                f"unknown channel (known: {', '.join(known)})",
                pl.col(C.channels).list.eval(unknown).list.any(),
                shown=pl.col(C.channels).list.eval(pl.element().filter(unknown)),
            )
        )
    return checks


def event_checks(
    now: datetime, event_types: Collection[str], channels: Collection[str] | None
) -> list[RowCheck]:
    """Known event types and channels, timestamps from FIRST_EVENT_TIME to `now`, finite
    non-negative amounts: the contract of an event, wherever it comes from (recsys.data.contract).
    """
    types = sorted(event_types)
    checks = [
        RowCheck(
            C.event,
            f"unknown event type (known: {', '.join(types)})",
            ~pl.col(C.event).is_in(types),
        ),
        RowCheck(
            C.timestamp,
            f"in the future (after {now.isoformat()})",
            pl.col(C.timestamp) > now,
        ),
        RowCheck(
            C.timestamp,
            f"before {FIRST_EVENT_TIME.date()} (not a plausible event time)",
            pl.col(C.timestamp) < FIRST_EVENT_TIME,
        ),
        RowCheck(C.amount, "not a finite number", ~pl.col(C.amount).is_finite()),
        RowCheck(C.amount, "negative amount", pl.col(C.amount) < 0),
    ]
    if channels is not None:
        known = sorted(channels)
        checks.append(
            RowCheck(
                C.channel,
                f"unknown channel (known: {', '.join(known)})",
                ~pl.col(C.channel).is_in(known),
            )
        )
    return checks


def _in_range(column: str, low: int, high: int) -> RowCheck:
    value = pl.col(column)
    return RowCheck(column, f"outside {low}-{high}", (value < low) | (value > high))


def _blank_channel_names() -> RowCheck:
    blank = pl.element().is_null() | (pl.element().str.strip_chars() == "")
    return RowCheck(
        C.channels, "empty channel name in the list", pl.col(C.channels).list.eval(blank).list.any()
    )
