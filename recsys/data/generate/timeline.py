"""Time for the simulation: microseconds since the epoch (UTC), month steps, calendar years."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

import numpy as np

DAY_US: Final = 86_400 * 1_000_000
# A fixed anchor, never the clock: the same seed gives the same data on any day, and the
# default history (2024-11-01 .. 2026-10-31) lies in the past.
DEFAULT_START: Final = date(2024, 11, 1)
DEFAULT_MONTHS: Final = 24
# Before the window, customers live through coarse steps so that long-standing customers
# enter it holding products bought in a realistic order (only those purchases are recorded).
PRE_WINDOW_YEARS: Final = 12
PRE_WINDOW_STEP_MONTHS: Final = 6
PRE_WINDOW_STEPS: Final = PRE_WINDOW_YEARS * 12 // PRE_WINDOW_STEP_MONTHS


def date_to_us(day: date) -> int:
    """Microseconds since the epoch at 00:00 UTC of `day`."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s month (day is a month start)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def years_of(ts_us: np.ndarray) -> np.ndarray:
    """Calendar year (int32) of each timestamp in microseconds since the epoch."""
    return (ts_us.astype("datetime64[us]").astype("datetime64[Y]").astype(np.int64) + 1970).astype(
        np.int32
    )


@dataclass(frozen=True)
class Timeline:
    """The simulated period: month steps from `start` (inclusive) to `end` (exclusive)."""

    start: date
    months: int

    def __post_init__(self) -> None:
        if self.start.day != 1:
            raise ValueError(f"start must be the first day of a month, got {self.start}")
        if self.months < 1:
            raise ValueError(f"months must be >= 1, got {self.months}")

    @property
    def end(self) -> date:
        """First day after the history (exclusive)."""
        return add_months(self.start, self.months)

    @property
    def start_us(self) -> int:
        """Start of the history in microseconds."""
        return date_to_us(self.start)

    @property
    def end_us(self) -> int:
        """End of the history (exclusive) in microseconds."""
        return date_to_us(self.end)

    @property
    def earliest(self) -> date:
        """First day of the pre-window period (nobody joined before it)."""
        return add_months(self.start, -PRE_WINDOW_YEARS * 12)

    def step_bounds_us(self) -> np.ndarray:
        """Step boundaries in microseconds: 6-month steps before the window, then months."""
        before = range(-PRE_WINDOW_YEARS * 12, 0, PRE_WINDOW_STEP_MONTHS)
        offsets = [*before, *range(self.months + 1)]
        return np.array([date_to_us(add_months(self.start, m)) for m in offsets], dtype=np.int64)
