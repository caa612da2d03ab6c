"""Sticky assignment: a customer's arm is a hash of (experiment id, customer id).

The same in every server process and after every restart, with nothing stored: blake2b of the
pair, read as a number in [0, 1), falls into one arm's slice of the cumulative shares.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

_SCALE = float(1 << 64)


def bucket(experiment_id: str, customer_id: str) -> float:
    """Where the customer falls in [0, 1) for this experiment (uniform over customers)."""
    digest = hashlib.blake2b(f"{experiment_id}\x00{customer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def cumulative(shares: Sequence[float]) -> list[float]:
    """The arms' slice ends in [0, 1], for `pick` (shares normalised to sum 1)."""
    total = float(sum(shares))
    if total <= 0 or any(s < 0 for s in shares):
        raise ValueError(f"shares must be >= 0 and sum to more than 0, got {list(shares)}")
    ends = [c / total for c in accumulate(shares)]
    ends[-1] = 1.0
    return ends


def pick(point: float, ends: Sequence[float]) -> int:
    """The arm whose slice holds `point` (ends from `cumulative`)."""
    return min(bisect_right(ends, point), len(ends) - 1)


def skewed(point: float, skew: float) -> float:
    """TEST HOOK: `point` pushed towards 0 so the first arm gets more than its share.

    With skew s a point p in the last (1 - p) becomes p - s * p, so the split no longer
    follows the configured shares; the report's SRM check must flag it. 0 leaves it alone.
    """
    return point * (1.0 - skew)


def assign(experiment_id: str, customer_id: str, ends: Sequence[float], skew: float = 0.0) -> int:
    """The arm index of `customer_id` in the experiment."""
    point = bucket(experiment_id, customer_id)
    return pick(skewed(point, skew) if skew else point, ends)
