"""What an offer is: a product pushed to a target group, in some channels, for a time window.

Plain values, checked on construction (`OfferProblem` names the field); the store keeps them,
the arbiter places them, the API and CLI edit them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

NAME_MAX: Final = 200
_CAP = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*d\s*$")


class OfferProblem(ValueError):
    """An offer field that cannot be accepted; the message starts with the field name."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field = field_name
        self.problem = problem


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
        for name in ("age_min", "age_max"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 150:
                raise OfferProblem(name, f"must be an age between 0 and 150, got {value}")
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise OfferProblem("age_max", f"{self.age_max} is below age_min {self.age_min}")
        if self.min_risk_tolerance is not None and not 1 <= self.min_risk_tolerance <= 5:
            raise OfferProblem("min_risk_tolerance", f"must be 1-5, got {self.min_risk_tolerance}")


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
        if not self.name.strip() or len(self.name) > NAME_MAX:
            raise OfferProblem("name", f"must be 1-{NAME_MAX} characters, got {self.name!r}")
        if not self.product_id:
            raise OfferProblem("product", "is required")
        for name in ("start_at", "end_at"):
            moment = getattr(self, name)
            if not isinstance(moment, datetime) or moment.utcoffset() is None:
                raise OfferProblem(name, f"must be a timezone-aware time, got {moment!r}")
        if self.end_at <= self.start_at:
            raise OfferProblem(
                "end", f"{self.end_at.isoformat()} is not after start {self.start_at.isoformat()}"
            )
        self._check_action()
        if not (0 < self.max_share <= 1) or math.isnan(self.max_share):
            raise OfferProblem("max_share", f"must be in (0, 1], got {self.max_share}")
        if self.volume_cap is not None and self.volume_cap < 1:
            raise OfferProblem("volume_cap", f"must be positive, got {self.volume_cap}")
        if len(set(self.channels)) != len(self.channels):
            raise OfferProblem("channels", f"repeated channel in {list(self.channels)}")

    def _check_action(self) -> None:
        if self.action == Action.boost:
            if self.boost is None or not math.isfinite(self.boost) or self.boost <= 1:
                raise OfferProblem("boost", f"a boost needs a factor > 1, got {self.boost}")
            if self.pin is not None:
                raise OfferProblem("pin", "give either a boost factor or a pin position")
        elif self.action == Action.pin:
            if self.pin is None or self.pin < 1:
                raise OfferProblem("pin", f"a pin needs a position >= 1, got {self.pin}")
            if self.boost is not None:
                raise OfferProblem("boost", "give either a boost factor or a pin position")
        else:  # pragma: no cover - Action is an enum
            raise OfferProblem("action", f"unknown action {self.action!r}")

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


def split_list(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """'a, b' or ['a', 'b'] -> ('a', 'b'): trimmed, empties dropped, order kept, no repeats."""
    if text is None:
        return ()
    items = text.split(",") if isinstance(text, str) else list(text)
    return tuple(dict.fromkeys(s.strip() for s in items if s and s.strip()))
