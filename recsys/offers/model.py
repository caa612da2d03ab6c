"""What an offer is: a product pushed to a target group, in some channels, for a time window.

Plain values, checked on construction: every field that cannot be accepted is reported at
once (`OfferProblem` names the field; `OfferProblems` holds several). The store keeps them,
the arbiter places them, the API and CLI edit them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

NAME_MAX: Final = 200
# C0/C1 controls (NUL included): they garble an operator's terminal and PostgreSQL text
# cannot hold NUL
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# the name reaches customers in reasons ("offer: <name>"): no channel should get markup
_MARKUP: Final = re.compile(r"[<>]")
_CAP = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*d\s*$")


class OfferProblem(ValueError):
    """An offer field that cannot be accepted; the message starts with the field name."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field = field_name
        self.problem = problem

    @property
    def each(self) -> tuple[OfferProblem, ...]:
        """The single problems this error reports: itself."""
        return (self,)


class OfferProblems(OfferProblem):
    """Several field problems of one offer, reported together (one per line)."""

    def __init__(self, problems: Iterable[OfferProblem]) -> None:
        self._each = tuple(single for p in problems for single in p.each)
        first = self._each[0]
        rest = "".join(f"\n{p}" for p in self._each[1:])
        super().__init__(first.field, first.problem + rest)

    @property
    def each(self) -> tuple[OfferProblem, ...]:
        """The single problems, in the order they were found."""
        return self._each


def raise_all(problems: Sequence[OfferProblem]) -> None:
    """Raise the problems, if any: one as itself, several as OfferProblems."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise OfferProblems(problems)


class Action(StrEnum):
    """boost raises the product's score by a factor; pin guarantees a slot position."""

    boost = "boost"
    pin = "pin"


class Status(StrEnum):
    """Only active offers are served; ended is final."""

    draft = "draft"
    active = "active"
    paused = "paused"
    ended = "ended"


class VolumeEvent(StrEnum):
    """What a volume cap counts."""

    impression = "impression"
    purchase = "purchase"


@dataclass(frozen=True)
class FrequencyCap:
    """At most `impressions` impressions per customer in any `days`-day window."""

    impressions: int
    days: int

    def __post_init__(self) -> None:
        if self.impressions < 1 or self.days < 1:
            raise OfferProblem("cap", f"needs N >= 1 and D >= 1, got {self}")

    def __str__(self) -> str:
        return f"{self.impressions}/{self.days}d"

    @classmethod
    def parse(cls, text: str) -> FrequencyCap:
        """'2/7d' -> FrequencyCap(2, 7); OfferProblem for anything else."""
        match = _CAP.match(text or "")
        if match is None:
            raise OfferProblem("cap", f"expected N/Dd (e.g. 2/7d), got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class Target:
    """Who may get the offer; empty lists and None mean "anyone" for that field."""

    segments: tuple[str, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    income_bands: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    min_risk_tolerance: int | None = None
    # explicit customer list (from a file); None = no list, the other fields decide alone.
    # Offers read for display carry an empty set for "has a list" (lists can be large).
    customers: frozenset[str] | None = None

    def __post_init__(self) -> None:
        raise_all(target_problems(self))


def target_problems(t: Target) -> list[OfferProblem]:
    """Every problem of a target's fields."""
    out = []
    for name in ("age_min", "age_max"):
        value = getattr(t, name)
        if value is not None and not 0 <= value <= 150:
            out.append(OfferProblem(name, f"must be an age between 0 and 150, got {value}"))
    if t.age_min is not None and t.age_max is not None and t.age_min > t.age_max:
        out.append(OfferProblem("age_max", f"{t.age_max} is below age_min {t.age_min}"))
    if t.min_risk_tolerance is not None and not 1 <= t.min_risk_tolerance <= 5:
        out.append(OfferProblem("min_risk_tolerance", f"must be 1-5, got {t.min_risk_tolerance}"))
    return out


@dataclass(frozen=True)
class Offer:
    """One marketing offer as stored; `id` is assigned by the store."""

    name: str
    product_id: str
    start_at: datetime
    end_at: datetime
    action: Action
    boost: float | None = None  # factor > 1 (boost)
    pin: int | None = None  # 1-based slot position (pin)
    channels: tuple[str, ...] = ()  # empty = every channel
    target: Target = field(default_factory=Target)
    max_share: float = 1.0  # share of an answer's k slots offers may fill with this one in
    cap: FrequencyCap | None = None
    volume_cap: int | None = None
    volume_event: VolumeEvent = VolumeEvent.impression
    priority: int = 0
    status: Status = Status.draft
    id: str = ""
    created_by: str = ""
    created_at: datetime | None = None
    updated_by: str = ""
    updated_at: datetime | None = None
    revision: int = 0

    def __post_init__(self) -> None:
        raise_all(offer_problems({f.name: getattr(self, f.name) for f in fields(self)}))

    def live_at(self, moment: datetime) -> bool:
        """Active and inside its time window at `moment`."""
        return self.status == Status.active and self.start_at <= moment < self.end_at

    def with_changes(self, **changes: Any) -> Offer:
        """A copy with `changes` applied and re-checked (unknown field -> OfferProblem)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise OfferProblem(unknown[0], "no such offer field")
        return replace(self, **changes)


def offer_problems(values: Mapping[str, Any]) -> list[OfferProblem]:
    """Every problem of an offer's field values, named by field.

    A field missing from `values` is not checked: it could not be read, and that problem was
    reported where it was read (see OfferDraft).
    """
    out = []
    name = values.get("name")
    if "name" in values and (not name.strip() or len(name) > NAME_MAX):
        out.append(OfferProblem("name", f"must be 1-{NAME_MAX} characters, got {name!r}"))
    elif "name" in values and _MARKUP.search(name):
        out.append(OfferProblem("name", f"must not contain < or > (shown to customers): {name!r}"))
    out += _text_problems(values)
    if "product_id" in values and not values["product_id"]:
        out.append(OfferProblem("product", "is required"))
    out += _time_problems(values)
    if "action" in values:
        out += _action_problems(values["action"], values.get("boost"), values.get("pin"))
    share = values.get("max_share", 1.0)
    if not (0 < share <= 1) or math.isnan(share):
        out.append(OfferProblem("max_share", f"must be in (0, 1], got {share}"))
    volume_cap = values.get("volume_cap")
    if volume_cap is not None and volume_cap < 1:
        out.append(OfferProblem("volume_cap", f"must be positive, got {volume_cap}"))
    channels = values.get("channels", ())
    if len(set(channels)) != len(channels):
        out.append(OfferProblem("channels", f"repeated channel in {list(channels)}"))
    return out


def _text_problems(values: Mapping[str, Any]) -> list[OfferProblem]:
    """Control characters in any text of the offer (its name, product, lists, target)."""
    texts: dict[str, list[str]] = {
        "name": [values.get("name") or ""],
        "product": [values.get("product_id") or ""],
        "channels": list(values.get("channels", ())),
    }
    target = values.get("target")
    if isinstance(target, Target):
        for name in ("segments", "income_bands", "regions"):
            texts[name] = list(getattr(target, name))
    return [
        OfferProblem(name, f"must not contain control characters, got {bad!r}")
        for name, items in texts.items()
        for bad in [next((t for t in items if isinstance(t, str) and _CONTROL.search(t)), None)]
        if bad is not None
    ]


def _time_problems(values: Mapping[str, Any]) -> list[OfferProblem]:
    out, aware = [], {}
    for name in ("start_at", "end_at"):
        if name not in values:
            continue
        moment = values[name]
        if isinstance(moment, datetime) and moment.utcoffset() is not None:
            aware[name] = moment
        else:
            out.append(OfferProblem(name, f"must be a timezone-aware time, got {moment!r}"))
    if len(aware) == 2 and aware["end_at"] <= aware["start_at"]:
        end, start = aware["end_at"].isoformat(), aware["start_at"].isoformat()
        out.append(OfferProblem("end", f"{end} is not after start {start}"))
    return out


def _action_problems(action: Action, boost: float | None, pin: int | None) -> list[OfferProblem]:
    if action == Action.boost:
        if boost is None or not math.isfinite(boost) or boost <= 1:
            return [OfferProblem("boost", f"a boost needs a factor > 1, got {boost}")]
        if pin is not None:
            return [OfferProblem("pin", "give either a boost factor or a pin position")]
    elif action == Action.pin:
        if pin is None or pin < 1:
            return [OfferProblem("pin", f"a pin needs a position >= 1, got {pin}")]
        if boost is not None:
            return [OfferProblem("boost", "give either a boost factor or a pin position")]
    else:  # pragma: no cover - Action is an enum
        return [OfferProblem("action", f"unknown action {action!r}")]
    return []


@dataclass(frozen=True)
class OfferDraft:
    """A new offer as a request gave it, before it is checked as a whole.

    `values` are the Offer fields that could be read (a part that could not is left out and
    its problem is in `problems`); `segments` are the target's, known even when the rest of
    the target is bad, so that a catalog check can name unknown ones in the same report.
    """

    values: Mapping[str, Any]
    problems: tuple[OfferProblem, ...] = ()
    segments: tuple[str, ...] = ()

    def all_problems(self) -> list[OfferProblem]:
        """What was found reading the request, then every problem of the values read."""
        return [*self.problems, *offer_problems(self.values)]

    def build(self) -> Offer:
        """The Offer; every problem of the draft together when there are any."""
        raise_all(self.all_problems())
        return Offer(**self.values)


def split_list(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """'a, b' or ['a', 'b'] -> ('a', 'b'): trimmed, empties dropped, order kept, no repeats."""
    if text is None:
        return ()
    items = text.split(",") if isinstance(text, str) else list(text)
    return tuple(dict.fromkeys(s.strip() for s in items if s and s.strip()))
