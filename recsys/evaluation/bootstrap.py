"""Paired bootstrap over customers: how sure is it that one model beats another?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESAMPLES = 1000
CONFIDENCE = 0.95
_CHUNK = 50  # resamples drawn at once: bounds the (chunk x customers) index array


@dataclass(frozen=True)
class Difference:
    """Mean of candidate - other over the same customers, with its bootstrap interval."""

    mean: float
    low: float
    high: float
    n: int

    def text(self) -> str:
        """'+0.0123 (95% interval +0.0040..+0.0205, 1,234 customers)'."""
        pct = f"{CONFIDENCE:.0%}"
        interval = f"{self.low:+.4f}..{self.high:+.4f}"
        return f"{self.mean:+.4f} ({pct} interval {interval}, {self.n:,} customers)"


def paired_difference(
    candidate: np.ndarray, other: np.ndarray, *, resamples: int = RESAMPLES, seed: int = 0
) -> Difference:
    """Bootstrap the mean per-customer difference; rows are the same customers in both.

    NaN rows (a customer with nothing to find) are left out of both, as the means do.
    """
    a, b = np.asarray(candidate, dtype=np.float64), np.asarray(other, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired values need equal 1-d shapes, got {a.shape} and {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b)
    d = a[keep] - b[keep]
    if not d.size:
        raise ValueError("no customer has a finite value in both: nothing to compare")
    rng = np.random.default_rng(seed)
    means = []
    for start in range(0, resamples, _CHUNK):
        size = min(_CHUNK, resamples - start)
        means.append(d[rng.integers(0, d.size, (size, d.size))].mean(axis=1))
    boot = np.concatenate(means)
    tail = (1.0 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(boot, [tail, 100 - tail])
    return Difference(float(d.mean()), float(low), float(high), int(d.size))
