"""Feedback events from channels -> StoredEvent, each field checked (`events[i].field: ...`).

Each event's fields are checked first (ids, known product, type and channel, a zoned time);
then the whole call is held to the event contract the data loader applies to files
(recsys.data.contract), so nothing stored here can make `train --events-from-store` fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import polars as pl

from recsys.columns import Columns as C
from recsys.data.contract import live_event_problems
from recsys.data.idmap import IdMap
from recsys.data.problems import Problem
from recsys.data.schema import EVENTS
from recsys.settings import Settings
from recsys.stores.base import StoredEvent
from serving.recommend import validation as v
from serving.recommend.domain import EventIn

_SOURCE = "events"


def stored_events(
    events: Sequence[EventIn],
    *,
    product_map: IdMap,
    settings: Settings,
    limits: v.RequestLimits,
    now: datetime,
    source: str = "",
) -> list[StoredEvent]:
    """Every event checked and converted, or ValidationError naming the first bad field."""
    stored = [
        _stored(e, f"events[{i}]", product_map, settings, limits, now, source)
        for i, e in enumerate(events)
    ]
    _check_unique_ids(stored)
    _check_contract(stored, settings, now)
    return stored


def _check_contract(events: Sequence[StoredEvent], settings: Settings, now: datetime) -> None:
    """The data contract's rules over the whole call: one error naming every problem."""
    frame = pl.DataFrame(
        {
            C.customer_id: [e.customer_id for e in events],
            C.product_id: [e.product_id for e in events],
            C.event: [e.event for e in events],
            C.timestamp: [e.timestamp.astimezone(UTC) for e in events],
            C.channel: [e.channel for e in events],
            C.amount: [e.amount for e in events],
        },
        schema={c.name: c.dtype for c in EVENTS.columns},
    )
    problems = live_event_problems(
        frame, _SOURCE, now=now, event_types=settings.event_types, channels=list(settings.channels)
    )
    if problems:
        first, *rest = problems
        said = [_said(p) for p in rest]
        raise v.ValidationError(_field(first), "; ".join([_said(first, named=False), *said]))


def _field(problem: Problem) -> str:
    return f"events[{problem.rows[0] - 1}].{problem.column}"


def _said(problem: Problem, *, named: bool = True) -> str:
    """`events[i].field: message [value]` (the first row of the problem, and how many more)."""
    # the value as the data loader's report shows it (text), cut like every echoed value
    value = f" [{problem.values[0][: v.SHOWN_CHARS]}]" if problem.values else ""
    more = f" (and {problem.count - 1} more)" if problem.count > 1 else ""
    text = f"{problem.message}{value}{more}"
    return f"{_field(problem)}: {text}" if named else text


def _check_unique_ids(events: Sequence[StoredEvent]) -> None:
    """No event id twice in one call: the second would silently be taken for a retry."""
    first: dict[str, int] = {}
    for i, e in enumerate(events):
        if e.event_id is None:
            continue
        seen = first.setdefault(e.event_id, i)
        if seen != i:
            raise v.ValidationError(
                f"events[{i}].event_id", f"{v.shown(e.event_id)} is events[{seen}]'s already"
            )


def _stored(
    e: EventIn,
    where: str,
    product_map: IdMap,
    settings: Settings,
    limits: v.RequestLimits,
    now: datetime,
    source: str,
) -> StoredEvent:
    customer_id = v.check_id(e.customer_id, f"{where}.customer_id", limits)
    product_id = v.check_id(e.product_id, f"{where}.product_id", limits)
    if product_id not in product_map:
        raise v.ValidationError(f"{where}.product_id", f"unknown product {product_id!r}")
    event = v.check_event_type(e.type, settings.event_types, f"{where}.type")
    channel = None
    if e.channel:  # optional: back-office events (a close, say) come from no channel
        channel = v.check_channel(e.channel, settings.channels, f"{where}.channel")
    return StoredEvent(
        customer_id=customer_id,
        product_id=product_id,
        event=event,
        timestamp=_timestamp(e.timestamp, f"{where}.timestamp", now),
        channel=channel,
        amount=v.check_amount(e.amount, f"{where}.amount"),
        request_id=v.check_optional_id(e.request_id, f"{where}.request_id", limits),
        offer_id=v.check_optional_id(e.offer_id, f"{where}.offer_id", limits),
        event_id=v.check_optional_id(e.event_id, f"{where}.event_id", limits),
        source=source,
    )


def _timestamp(value: datetime | None, field: str, now: datetime) -> datetime:
    """`now` when unset; timezone-aware (its range is the contract's: _check_contract)."""
    if value is None:
        return now
    if value.tzinfo is None:
        raise v.ValidationError(field, "must be timezone-aware (UTC)")
    return value
