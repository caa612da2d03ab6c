"""recsys.v1 offer messages <-> recsys.offers values (both ways), and the API's field names.

Values are checked where they are built (recsys.offers.model); problems carry the model's
field names, which `api_field` turns into the request's (`end` -> `end_time`). Requests
are read into offers and changes in serving/offers/requests.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from google.protobuf.timestamp_pb2 import Timestamp

from recsys.offers.model import (
    Action,
    FrequencyCap,
    Offer,
    OfferProblem,
    Status,
    Target,
    VolumeEvent,
)
from recsys.offers.stats import CapUse, ChannelStats, DayStats, OfferStats
from recsys.stores.sql_offers import AuditEntry
from serving._proto.recsys.v1 import offers_pb2 as pb

if TYPE_CHECKING:
    from serving.offers.manage import OfferPreview

TARGET_FIELDS: Final = {  # proto OfferTarget field -> Target field
    "segments": "segments",
    "age_min": "age_min",
    "age_max": "age_max",
    "income_bands": "income_bands",
    "regions": "regions",
    "min_risk_tolerance": "min_risk_tolerance",
    "customer_ids": "customers",
    "has_customer_list": "customers",
}
_TARGET_API: Final = {v: f"target.{k}" for k, v in reversed(TARGET_FIELDS.items())}
_API: Final = {
    "product": "product_id",
    "start_at": "start_time",
    "end_at": "end_time",
    "end": "end_time",
    "actor": "x-actor (metadata)",
    **_TARGET_API,
}
STATUS_TO_PB: Final = {
    Status.draft: pb.OFFER_STATUS_DRAFT,
    Status.active: pb.OFFER_STATUS_ACTIVE,
    Status.paused: pb.OFFER_STATUS_PAUSED,
    Status.ended: pb.OFFER_STATUS_ENDED,
}
STATUS_FROM_PB: Final = {v: k for k, v in STATUS_TO_PB.items()}
VOLUME_TO_PB: Final = {
    VolumeEvent.impression: pb.VOLUME_EVENT_IMPRESSION,
    VolumeEvent.purchase: pb.VOLUME_EVENT_PURCHASE,
}
VOLUME_FROM_PB: Final = {pb.VOLUME_EVENT_UNSPECIFIED: VolumeEvent.impression} | {
    v: k for k, v in VOLUME_TO_PB.items()
}
STORE_STAMPS: Final = ("updated_at", "updated_by", "revision")  # left out of audit diffs


def api_field(name: str) -> str:
    """The request field an offer field is set by (`end_at` -> `end_time`)."""
    return _API.get(name, name)


def api_message(text: str) -> str:
    """`text` ("field: problem") with its field named as in the request."""
    field, sep, rest = text.partition(": ")
    return f"{api_field(field)}: {rest}" if sep and " " not in field else text


def status_from_pb(value: int, field: str = "status") -> Status:
    """The Status of an OfferStatus value; OfferProblem for UNSPECIFIED or unknown values."""
    try:
        return STATUS_FROM_PB[value]
    except KeyError:
        raise OfferProblem(field, f"unknown or unspecified status {value}") from None


def action_from_pb(m: pb.Offer) -> dict[str, Any]:
    """The action (boost factor or pin position) from the `action` oneof."""
    which = m.WhichOneof("action")
    if which == "boost":
        return {"action": Action.boost, "boost": m.boost, "pin": None}
    if which == "pin":
        return {"action": Action.pin, "boost": None, "pin": m.pin}
    raise OfferProblem("action", "set either boost (a factor > 1) or pin (a slot position)")


def target_from_pb(t: pb.OfferTarget) -> Target:
    """A Target; an explicit customer list only when has_customer_list is set."""
    return Target(**target_values_from_pb(t))


def target_values_from_pb(t: pb.OfferTarget) -> dict[str, Any]:
    """The Target fields of a message, unchecked (an update checks them with the rest)."""
    return {
        "segments": tuple(t.segments),
        "age_min": t.age_min if t.HasField("age_min") else None,
        "age_max": t.age_max if t.HasField("age_max") else None,
        "income_bands": tuple(t.income_bands),
        "regions": tuple(t.regions),
        "min_risk_tolerance": t.min_risk_tolerance if t.HasField("min_risk_tolerance") else None,
        "customers": frozenset(t.customer_ids) if t.has_customer_list else None,
    }


def cap_from_pb(m: pb.Offer) -> FrequencyCap | None:
    """The frequency cap, None when unset."""
    return FrequencyCap(m.cap.impressions, m.cap.days) if m.HasField("cap") else None


def time_from_pb(m: pb.Offer, field: str) -> datetime:
    """A required timestamp field of `m` as an aware UTC datetime."""
    name = {"start_time": "start_at", "end_time": "end_at"}[field]
    if not m.HasField(field):
        raise OfferProblem(name, "is required")
    try:
        return getattr(m, field).ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise OfferProblem(name, f"out of range: {exc}") from exc


def volume_from_pb(value: int) -> VolumeEvent:
    """The VolumeEvent of a request value (UNSPECIFIED = impression)."""
    try:
        return VOLUME_FROM_PB[value]
    except KeyError:
        raise OfferProblem("volume_event", f"unknown volume event {value}") from None


SETTERS: Final = {  # update-mask path -> the Offer changes it makes
    "name": lambda m: {"name": m.name},
    "product_id": lambda m: {"product_id": m.product_id},
    "channels": lambda m: {"channels": tuple(m.channels)},
    "start_time": lambda m: {"start_at": time_from_pb(m, "start_time")},
    "end_time": lambda m: {"end_at": time_from_pb(m, "end_time")},
    "action": action_from_pb,
    "boost": action_from_pb,
    "pin": action_from_pb,
    "max_share": lambda m: {"max_share": m.max_share if m.HasField("max_share") else 1.0},
    "cap": lambda m: {"cap": cap_from_pb(m)},
    "volume_cap": lambda m: {"volume_cap": m.volume_cap if m.HasField("volume_cap") else None},
    "volume_event": lambda m: {"volume_event": volume_from_pb(m.volume_event)},
    "priority": lambda m: {"priority": m.priority},
    "status": lambda m: {"status": status_from_pb(m.status)},
    "target": lambda m: {"target": target_from_pb(m.target)},
}


def offer_to_pb(o: Offer) -> pb.Offer:
    """An Offer as its message (the customer list as a flag and, when loaded, a count)."""
    t = o.target
    target = pb.OfferTarget(
        segments=t.segments,
        age_min=t.age_min,
        age_max=t.age_max,
        income_bands=t.income_bands,
        regions=t.regions,
        min_risk_tolerance=t.min_risk_tolerance,
        has_customer_list=t.customers is not None,
        customer_count=len(t.customers) if t.customers else None,
    )
    out = pb.Offer(
        id=o.id,
        name=o.name,
        product_id=o.product_id,
        target=target,
        channels=o.channels,
        start_time=timestamp(o.start_at),
        end_time=timestamp(o.end_at),
        max_share=o.max_share,
        volume_cap=o.volume_cap,
        volume_event=VOLUME_TO_PB[o.volume_event],
        priority=o.priority,
        status=STATUS_TO_PB[o.status],
        created_by=o.created_by,
        updated_by=o.updated_by,
        revision=o.revision,
    )
    if o.action == Action.boost:
        out.boost = o.boost or 0.0
    else:
        out.pin = o.pin or 0
    if o.cap is not None:
        out.cap.CopyFrom(pb.FrequencyCap(impressions=o.cap.impressions, days=o.cap.days))
    for field, moment in (("create_time", o.created_at), ("update_time", o.updated_at)):
        if moment is not None:
            getattr(out, field).CopyFrom(timestamp(moment))
    return out


def audit_to_pb(entry: AuditEntry) -> pb.OfferAuditEntry:
    """An audit entry with the fields it changed (JSON values; all of them for a create)."""
    before, after = entry.before or {}, entry.after or {}
    changes = [
        pb.OfferFieldChange(
            field=api_field(key),
            before=json.dumps(before[key]) if key in before else "",
            after=json.dumps(after[key]) if key in after else "",
        )
        for key in sorted(set(before) | set(after), key=_field_order(after or before))
        if key not in STORE_STAMPS and before.get(key) != after.get(key)
    ]
    return pb.OfferAuditEntry(
        action=entry.action, actor=entry.actor, time=timestamp(entry.at), changes=changes
    )


def _field_order(row: dict[str, Any]) -> Any:
    order = {key: i for i, key in enumerate(row)}
    return lambda key: order.get(key, len(order))


def stats_to_pb(
    offer: Offer,
    stats: OfferStats,
    days: Sequence[DayStats] = (),
    caps: CapUse | None = None,
) -> pb.OfferStats:
    """An offer's stats message (per day and cap use only when given)."""
    out = pb.OfferStats(
        offer_id=offer.id,
        name=offer.name,
        channels=[channel_stats_to_pb(c) for c in stats.channels],
        total=channel_stats_to_pb(stats.total),
        days=[
            pb.OfferDayStats(
                day=d.day.isoformat(),
                served=d.counts.served,
                impressions=d.counts.impressions,
                clicks=d.counts.clicks,
                purchases=d.counts.purchases,
            )
            for d in days
        ],
    )
    if caps is not None:
        out.caps.CopyFrom(
            pb.OfferCapUse(
                volume_cap=caps.volume_cap,
                volume_used=caps.volume_used,
                customers_in_window=caps.customers_in_window,
                customers_at_cap=caps.customers_at_cap,
            )
        )
    return out


def preview_to_pb(found: OfferPreview) -> pb.OfferPreview:
    """A preview's reach and warnings (warnings name fields as the request does)."""
    reach = pb.OfferReach(
        customers=found.customers,
        targeted=found.reach.targeted,
        receivable=found.reach.receivable,
        blocked=found.reach.blocked,
    )
    return pb.OfferPreview(reach=reach, warnings=[api_message(w) for w in found.warnings])


def channel_stats_to_pb(c: ChannelStats) -> pb.OfferChannelStats:
    """One channel's counts; a rate without impressions is left unset."""
    return pb.OfferChannelStats(
        channel=c.channel,
        served=c.served,
        impressions=c.impressions,
        clicks=c.clicks,
        purchases=c.purchases,
        click_through_rate=c.click_through_rate,
        conversion_rate=c.conversion_rate,
    )


def timestamp(moment: datetime) -> Timestamp:
    """An aware datetime as a Timestamp."""
    ts = Timestamp()
    ts.FromDatetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return ts
