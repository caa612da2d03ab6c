"""The offer form: its fields <-> a recsys.v1 Offer message, and problems placed by field.

Pure functions over plain mappings and messages. Text the form cannot read (a letter in a
number) is a problem of that field; everything else is the server's to check, and its
"field: problem" lines are placed beside the form fields they name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from google.protobuf.timestamp_pb2 import Timestamp

from serving._proto.recsys.v1 import offers_pb2 as pb

LISTS: Final = ("channels", "segments", "income_bands", "regions")  # checkbox groups
TIME_FORMAT: Final = "%Y-%m-%dT%H:%M"  # <input type="datetime-local">, read as UTC
VOLUME_EVENTS: Final = {
    "impression": pb.VOLUME_EVENT_IMPRESSION,
    "purchase": pb.VOLUME_EVENT_PURCHASE,
}
TARGET_PATHS: Final = ("segments", "age_min", "age_max", "income_bands", "regions")
TARGET_PATHS_ALL: Final = (*TARGET_PATHS, "min_risk_tolerance")
OFFER_PATHS: Final = (
    "name",
    "product_id",
    "channels",
    "start_time",
    "end_time",
    "action",
    "max_share",
    "cap",
    "volume_cap",
    "volume_event",
    "priority",
)
PRESENCE: Final = frozenset({"max_share", "volume_cap", "cap", "start_time", "end_time"})
SPLIT_IDS: Final = re.compile(r"[\s,;]+")
# where a server problem is shown: its field, with these renamed
FIELD_OF: Final = {"boost": "action", "pin": "action", "has_customer_list": "customer_ids"}
OTHER: Final = "other"  # problems that name no form field


@dataclass
class OfferForm:
    """What the form holds: the text of each field and its problems (field -> messages)."""

    values: dict[str, Any]
    problems: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, problem: str) -> None:
        """One more problem of field `name`."""
        self.problems.setdefault(name, []).append(problem)

    def add_server_lines(self, lines: Sequence[str]) -> None:
        """The server's "field: problem" lines, each placed beside its form field."""
        for line in lines:
            name, sep, problem = line.partition(": ")
            where = form_field(name) if sep else OTHER
            if where in self.problems and where != OTHER:
                continue  # the form's own reading of that field says it better
            self.add(where if sep else OTHER, problem if sep else line)

    @property
    def problem_count(self) -> int:
        """How many problems in all."""
        return sum(len(v) for v in self.problems.values())


def form_field(api_field: str) -> str:
    """The form field a request field is set by (`target.age_max` -> `age_max`)."""
    name = api_field.removeprefix("target.")
    return FIELD_OF.get(name, name)


def read_form(form: Mapping[str, Any], getlist: Callable[[str], list[str]]) -> OfferForm:
    """The submitted form's values, as text (lists for the checkbox groups)."""
    names = [
        "name", "product_id", "status", "start_time", "end_time", "action", "boost", "pin",
        "max_share", "cap_impressions", "cap_days", "volume_cap", "volume_event", "priority",
        "age_min", "age_max", "min_risk_tolerance", "customer_ids", "offer_id", "revision",
    ]  # fmt: skip
    values: dict[str, Any] = {n: str(form.get(n) or "").strip() for n in names}
    values.update({n: [v.strip() for v in getlist(n) if v.strip()] for n in LISTS})
    return OfferForm(values)


def offer_message(f: OfferForm) -> pb.Offer:
    """The Offer message of the form; fields it cannot read are left unset, with a problem."""
    v = f.values
    m = pb.Offer(name=v["name"], product_id=v["product_id"], channels=v["channels"])
    m.status = pb.OFFER_STATUS_ACTIVE if v["status"] == "active" else pb.OFFER_STATUS_DRAFT
    for name in ("start_time", "end_time"):
        moment = _time(f, name)
        if moment is not None:
            getattr(m, name).CopyFrom(moment)
    if v["action"] == "boost":
        boost = _number(f, "boost", float, "action")
        if boost is not None:
            m.boost = boost
    elif v["action"] == "pin":
        pin = _number(f, "pin", int, "action")
        if pin is not None:
            m.pin = pin
    _set(m, "max_share", _number(f, "max_share", float))
    _set(m, "volume_cap", _number(f, "volume_cap", int))
    m.volume_event = VOLUME_EVENTS.get(v["volume_event"], pb.VOLUME_EVENT_IMPRESSION)
    m.priority = _number(f, "priority", int) or 0
    _cap(f, m)
    m.target.CopyFrom(_target(f))
    return m


def _target(f: OfferForm) -> pb.OfferTarget:
    v = f.values
    t = pb.OfferTarget(segments=v["segments"], income_bands=v["income_bands"], regions=v["regions"])
    for name in ("age_min", "age_max", "min_risk_tolerance"):
        _set(t, name, _number(f, name, int))
    ids = [i for i in SPLIT_IDS.split(v["customer_ids"]) if i]
    if ids:
        t.has_customer_list = True
        t.customer_ids.extend(ids)
    return t


def _cap(f: OfferForm, m: pb.Offer) -> None:
    n = _number(f, "cap_impressions", int, "cap")
    days = _number(f, "cap_days", int, "cap")
    if n is None and days is None:
        return
    if n is None or days is None:
        f.add("cap", "give both the impressions and the days (e.g. 2 per 7 days), or neither")
        return
    m.cap.CopyFrom(pb.FrequencyCap(impressions=n, days=days))


def _number(f: OfferForm, name: str, kind: type, where: str | None = None) -> Any:
    text = f.values[name]
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        f.add(where or name, f"{text!r} is not {what}")
        return None


def _time(f: OfferForm, name: str) -> Timestamp | None:
    text = f.values[name]
    if not text:
        return None
    try:
        moment = datetime.strptime(text[:16], TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        f.add(name, f"{text!r} is not a date and time (YYYY-MM-DDTHH:MM, UTC)")
        return None
    out = Timestamp()
    out.FromDatetime(moment)
    return out


def _set(message: Any, name: str, value: Any) -> None:
    if value is not None:
        setattr(message, name, value)


def form_of(offer: pb.Offer) -> OfferForm:
    """The form's values for a stored offer (to edit it)."""
    t = offer.target
    which = offer.WhichOneof("action") or "pin"
    has = offer.HasField
    values: dict[str, Any] = {
        "name": offer.name,
        "product_id": offer.product_id,
        "status": "",
        "start_time": _time_text(offer.start_time),
        "end_time": _time_text(offer.end_time),
        "action": which,
        "boost": _num_text(offer.boost) if which == "boost" else "",
        "pin": str(offer.pin) if which == "pin" else "",
        "max_share": _num_text(offer.max_share) if has("max_share") else "",
        "cap_impressions": str(offer.cap.impressions) if has("cap") else "",
        "cap_days": str(offer.cap.days) if has("cap") else "",
        "volume_cap": str(offer.volume_cap) if has("volume_cap") else "",
        "volume_event": _volume_name(offer.volume_event),
        "priority": str(offer.priority),
        "age_min": _optional_text(t, "age_min"),
        "age_max": _optional_text(t, "age_max"),
        "min_risk_tolerance": _optional_text(t, "min_risk_tolerance"),
        "customer_ids": "",
        "channels": list(offer.channels),
        "segments": list(t.segments),
        "income_bands": list(t.income_bands),
        "regions": list(t.regions),
        "offer_id": offer.id,
        "revision": str(offer.revision),
    }
    return OfferForm(values)


def changed_paths(before: pb.Offer, after: pb.Offer, *, keep_customer_list: bool) -> list[str]:
    """The update-mask paths whose values differ between two offers (the edit's changes).

    With `keep_customer_list` the target's customer list is left as it is (the server never
    sends the ids back, so an empty box on the edit form means "keep it").
    """
    out = [p for p in OFFER_PATHS if _view(before, p) != _view(after, p)]
    out += [
        f"target.{p}" for p in TARGET_PATHS_ALL if _target_view(before, p) != _target_view(after, p)
    ]
    if not keep_customer_list:
        out.append("target.customer_ids")
    return out


def _view(m: pb.Offer, path: str) -> Any:
    if path == "action":
        which = m.WhichOneof("action")
        return which, getattr(m, which) if which else None
    if path in PRESENCE:  # set or not, and the value (a message as its text)
        return m.HasField(path), str(getattr(m, path))
    value = getattr(m, path)
    if path == "volume_event":  # unspecified means impression
        return value or pb.VOLUME_EVENT_IMPRESSION
    return list(value) if path == "channels" else value


def _target_view(m: pb.Offer, path: str) -> Any:
    t = m.target
    if path in TARGET_PATHS and path not in ("age_min", "age_max"):
        return sorted(getattr(t, path))
    return getattr(t, path) if t.HasField(path) else None


def _time_text(ts: Timestamp) -> str:
    return ts.ToDatetime(tzinfo=UTC).strftime(TIME_FORMAT) if ts.seconds else ""


def _num_text(x: float) -> str:
    return f"{x:g}"


def _optional_text(message: Any, name: str) -> str:
    return str(getattr(message, name)) if message.HasField(name) else ""


def _volume_name(value: int) -> str:
    return next((name for name, v in VOLUME_EVENTS.items() if v == value), "impression")
