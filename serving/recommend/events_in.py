"""Feedback events from channels -> StoredEvent, each field checked (`events[i].field: ...`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from recsys.data.idmap import IdMap
from recsys.settings import Settings
from recsys.stores.base import StoredEvent
from serving.recommend import validation as v
from serving.recommend.domain import EventIn

# Channel devices' clocks drift; a little skew is normal, an event hours ahead is a bug.
MAX_CLOCK_SKEW = timedelta(minutes=5)


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
    return stored


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
    """`now` when unset; timezone-aware and not in the future (beyond clock skew)."""
    if value is None:
        return now
    if value.tzinfo is None:
        raise v.ValidationError(field, "must be timezone-aware (UTC)")
    if value > now + MAX_CLOCK_SKEW:
        raise v.ValidationError(
            field, f"{value.isoformat()} is in the future (now {now.isoformat()})"
        )
    return value
