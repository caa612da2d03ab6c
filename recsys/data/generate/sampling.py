"""Vectorised categorical sampling (inverse CDF) shared by the generator's stages."""

from __future__ import annotations

import numpy as np


def sample_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One column index per row, with probability proportional to the row's weights.

    Rows whose weights sum to zero get -1. A zero-weight column is never chosen: u lies in
    (0, total], and the chosen column is the first whose running sum reaches u, so its own
    weight moved the running sum past the previous one.
    """
    cum = np.cumsum(weights, axis=1)
    total = cum[:, -1].astype(np.float64)
    u = (1.0 - rng.random(len(weights))) * total
    index = (cum < u[:, None]).sum(axis=1)
    return np.where(total > 0, np.minimum(index, weights.shape[1] - 1), -1)


def table_cdf(table: np.ndarray) -> np.ndarray:
    """Per-row CDF thresholds of a (groups, k) weight table, for `sample_table`.

    Columns after a row's last non-zero weight get +inf so that rounding in the running sum
    can never select a zero-weight trailing column.
    """
    weights = np.asarray(table, dtype=np.float64)
    total = weights.sum(axis=1, keepdims=True)
    if (total <= 0).any():
        raise ValueError("every row of a sampling table needs a positive weight")
    cdf = np.cumsum(weights, axis=1) / total
    remaining = total - np.cumsum(weights, axis=1)
    cdf[remaining <= 0] = np.inf
    return cdf


def sample_table(rng: np.random.Generator, cdf: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Column index per element, drawn from the CDF row `groups[i]` of `table_cdf` output."""
    u = rng.random(len(groups))
    out = np.zeros(len(groups), dtype=np.int16)
    # one pass per column (k is small) keeps memory at O(n), not O(n * k)
    for j in range(cdf.shape[1] - 1):
        out += u >= cdf[groups, j]
    return out
