"""What a reason may say about a customer: facts derived from the state at request time.

A reason shown to a customer or an agent is a statement of fact. The state (the snapshot's
rows plus the events recorded since, holdings replayed by the one replay in
recsys.data.holdings) says, per product:

- held: held now (quantity >= 1);
- recent: bought within `recent_days` before the request;
- looked: viewed or clicked at some time.

Models may cite a product only where one of these holds (`citable`); recsys.engine.claims
turns the cited product into the claim the fact supports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np

from recsys.data.holdings import require_aware
from recsys.engine.state import BatchState

DEFAULT_RECENT_DAYS: Final = 90  # Settings.reason_recent_days' default
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_MICROS_PER_DAY: Final = 86_400 * 1_000_000


@dataclass(frozen=True, eq=False)
class Facts:
    """(b, n) bool facts per customer row and product."""

    held: np.ndarray
    recent: np.ndarray
    looked: np.ndarray

    @property
    def citable(self) -> np.ndarray:
        """(b, n) bool: products a reason may name (some fact supports them)."""
        return self.held | self.recent | self.looked


def facts_of(state: BatchState, at: datetime, recent_days: float) -> Facts:
    """The facts of every row of `state` at request time `at`."""
    if not recent_days > 0:
        raise ValueError(f"recent_days must be > 0, got {recent_days}")
    now = (require_aware(at, "at") - _EPOCH) // _MICROSECOND
    shape = state.held.shape
    bought = state.bought_at if state.bought_at is not None else np.zeros(shape, np.int64)
    looked = state.looked_at if state.looked_at is not None else np.zeros(shape, np.int64)
    since = now - int(recent_days * _MICROS_PER_DAY)
    return Facts(
        held=state.held > 0,
        # an event stamped after `at` (a channel clock running ahead) is recent too
        recent=(bought > 0) & (bought >= since),
        looked=looked > 0,
    )
