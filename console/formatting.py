"""How the pages write numbers, rates and times (Jinja filters; pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from google.protobuf.timestamp_pb2 import Timestamp

from serving._proto.recsys.v1 import offers_pb2 as pb

STATUS_NAMES: Final = {
    pb.OFFER_STATUS_DRAFT: "draft",
    pb.OFFER_STATUS_ACTIVE: "active",
    pb.OFFER_STATUS_PAUSED: "paused",
    pb.OFFER_STATUS_ENDED: "ended",
}
STATUS_VALUES: Final = {name: value for value, name in STATUS_NAMES.items()}


def count(n: int | float | None) -> str:
    """12,345 ('-' for None)."""
    return "-" if n is None else f"{int(n):,}"


def percent(x: float | None, digits: int = 1) -> str:
    """0.1234 -> '12.3%' ('-' for None: no denominator)."""
    return "-" if x is None else f"{100 * x:.{digits}f}%"


def when(ts: Timestamp | datetime | None) -> str:
    """A moment in UTC as '2026-05-01 09:30 UTC' ('-' for unset)."""
    if ts is None:
        return "-"
    moment = ts if isinstance(ts, datetime) else ts.ToDatetime(tzinfo=UTC)
    if moment == datetime(1970, 1, 1, tzinfo=UTC):
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso_when(text: str) -> str:
    """An ISO 8601 moment (the experiment report's) as when() writes it ('-' for '')."""
    return when(datetime.fromisoformat(text)) if text else "-"


def day(ts: Timestamp) -> str:
    """The UTC day of a moment, '2026-05-01'."""
    return ts.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d")


def status_name(value: int) -> str:
    """An OfferStatus value's name (draft, active, paused, ended)."""
    return STATUS_NAMES.get(value, "unknown")


def optional(message: Any, name: str) -> Any:
    """A proto3 optional field's value, or None when unset."""
    return getattr(message, name) if message.HasField(name) else None


def reach_text(reach: pb.OfferReach) -> str:
    """'9,456 targeted; 4,066 cannot receive it: consent 2,865, held 1,731; 5,390 can'.

    A customer several rules block is counted under each, so the rules' counts may add up
    to more than the customers who cannot receive it.
    """
    blocked = reach.targeted - reach.receivable
    head = f"{reach.targeted:,} targeted"
    if reach.targeted == 0:
        return f"{head}: the target matches none of the {reach.customers:,} customers"
    if blocked == 0:
        return f"{head}; all {reach.receivable:,} can receive it"
    rules = sorted(reach.blocked.items(), key=lambda kv: (-kv[1], kv[0]))
    why = ", ".join(f"{rule} {n:,}" for rule, n in rules)
    return f"{head}; {blocked:,} cannot receive it: {why}; {reach.receivable:,} can"


FILTERS: Final = {
    "count": count,
    "percent": percent,
    "when": when,
    "iso_when": iso_when,
    "day": day,
    "status_name": status_name,
    "reach_text": reach_text,
}
