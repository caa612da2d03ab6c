"""What an experiment is: a name, channels, a start and an end, arms with traffic shares.

Arms: `champion` (the model at the champion alias, the baseline every lift is against),
`challenger` (an alias, or a registered version by its number) and optionally `control` (no
model: popularity or random, within the rules). Every problem of a draft is reported together.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

CHAMPION: Final = "champion"
CHALLENGER: Final = "challenger"
CONTROL: Final = "control"
ARMS: Final = (CHAMPION, CHALLENGER, CONTROL)
CONTROL_POLICIES: Final = ("popularity",)  # the fallback model: popularity within the rules
DEFAULT_DAYS: Final = 30
DEFAULT_ATTRIBUTION_DAYS: Final = 14
MAX_NAME: Final = 200
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


class Status(StrEnum):
    """Where an experiment is in its life."""

    running = "running"
    stopped = "stopped"
    concluded = "concluded"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a draft: the field and what is wrong."""

    field: str
    problem: str


class ExperimentProblem(ValueError):
    """A draft that cannot run; `each` holds every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.each = tuple(problems)
        super().__init__("; ".join(f"{p.field}: {p.problem}" for p in self.each))


@dataclass(frozen=True)
class Arm:
    """One arm and its share of the traffic (shares are normalised to sum 1)."""

    name: str
    share: float


@dataclass(frozen=True)
class Draft:
    """What a caller asks for; `check` turns it into the values an experiment keeps."""

    name: str
    arms: tuple[Arm, ...]
    channels: tuple[str, ...] = ()  # empty: every channel
    start_at: datetime | None = None  # None: now
    end_at: datetime | None = None  # None: start + DEFAULT_DAYS
    challenger: str = CHALLENGER  # an alias, or a version number
    control_policy: str = "popularity"
    attribution_days: float = DEFAULT_ATTRIBUTION_DAYS


@dataclass(frozen=True)
class Experiment:
    """A stored experiment."""

    id: str
    name: str
    arms: tuple[Arm, ...]
    channels: tuple[str, ...]
    start_at: datetime
    end_at: datetime
    challenger: str
    control_policy: str
    attribution_days: float
    status: Status
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    concluded: str = ""  # what conclude did ("promoted challenger version 7", "kept champion")
    revision: int = 1
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def shares(self) -> tuple[float, ...]:
        """The arms' shares, in arm order."""
        return tuple(a.share for a in self.arms)

    @property
    def arm_names(self) -> tuple[str, ...]:
        """The arms' names, in arm order."""
        return tuple(a.name for a in self.arms)

    def covers(self, channel: str) -> bool:
        """Whether requests of `channel` are in the experiment (any channel when none is set)."""
        return not self.channels or channel in self.channels

    def live(self, at: datetime) -> bool:
        """Whether the experiment assigns requests at `at`."""
        return self.status is Status.running and self.start_at <= at < self.end_at

    def with_status(
        self, status: Status, actor: str, at: datetime, concluded: str = ""
    ) -> Experiment:
        """This experiment moved to `status` by `actor`."""
        return replace(
            self,
            status=status,
            updated_by=actor,
            updated_at=at,
            concluded=concluded or self.concluded,
            revision=self.revision + 1,
        )


def challenger_version(ref: str) -> str | None:
    """The version number a challenger reference names, or None for an alias."""
    return ref if ref.isdigit() else None


def check(draft: Draft, channels: Sequence[str], now: datetime) -> Draft:
    """The draft with defaults filled in and shares normalised; ExperimentProblem listing
    everything wrong otherwise."""
    problems: list[Problem] = []
    name = draft.name.strip()
    if not name or len(name) > MAX_NAME:
        problems.append(Problem("name", f"must be 1 to {MAX_NAME} characters"))
    problems += _arm_problems(draft)
    for c in draft.channels:
        if c not in channels:
            problems.append(
                Problem("channels", f"unknown channel {c!r}; known: {', '.join(channels)}")
            )
    if len(set(draft.channels)) != len(draft.channels):
        problems.append(Problem("channels", "a channel is given twice"))
    start = draft.start_at or now
    end = draft.end_at or start + timedelta(days=DEFAULT_DAYS)
    for label, moment in (("start_at", draft.start_at), ("end_at", draft.end_at)):
        if moment is not None and moment.tzinfo is None:
            problems.append(Problem(label, "must carry a time zone"))
    if not problems and end <= start:
        problems.append(Problem("end_at", f"must be after start_at ({start.isoformat()})"))
    if not draft.challenger.isdigit() and not _ALIAS.match(draft.challenger):
        problems.append(
            Problem(
                "challenger",
                "must be an alias (letters, digits, - and _) "
                f"or a version number, got {draft.challenger!r}",
            )
        )
    if draft.control_policy not in CONTROL_POLICIES:
        problems.append(
            Problem(
                "control_policy",
                f"must be one of {', '.join(CONTROL_POLICIES)}, got {draft.control_policy!r}",
            )
        )
    if not (0 < draft.attribution_days <= 365):
        problems.append(Problem("attribution_days", "must be > 0 and at most 365"))
    if problems:
        raise ExperimentProblem(problems)
    total = sum(a.share for a in draft.arms)
    arms = tuple(Arm(a.name, a.share / total) for a in draft.arms)
    return replace(draft, name=name, arms=arms, start_at=start, end_at=end)


def _arm_problems(draft: Draft) -> list[Problem]:
    problems: list[Problem] = []
    names = [a.name for a in draft.arms]
    for a in draft.arms:
        if a.name not in ARMS:
            problems.append(Problem("arms", f"unknown arm {a.name!r}; arms are {', '.join(ARMS)}"))
        if not (a.share > 0 and a.share < float("inf")):
            problems.append(Problem("arms", f"arm {a.name!r}: share must be > 0, got {a.share}"))
    if len(set(names)) != len(names):
        problems.append(Problem("arms", "an arm is given twice"))
    if CHAMPION not in names:
        problems.append(Problem("arms", "needs a champion arm (the baseline of every lift)"))
    if len(names) < 2:
        problems.append(Problem("arms", "needs at least two arms"))
    return problems


def parse_arm(text: str) -> Arm:
    """`champion=0.45` (or `champion=45`) as an Arm; ValueError naming the part otherwise."""
    name, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"{text!r}: expected ARM=SHARE, e.g. champion=0.5")
    try:
        share = float(value)
    except ValueError as exc:
        raise ValueError(f"{text!r}: share {value!r} is not a number") from exc
    return Arm(name.strip(), share)
