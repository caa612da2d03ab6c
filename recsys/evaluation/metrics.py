"""Top-k ranking metrics over batches: recommended ids (b x k, -1 padded) against truth.

Per-row functions take the hit matrix and the number of relevant items per row, and return
float64 (b,) arrays with NaN where a row has no relevant item (undefined, not zero), so
that means and segment breakdowns count only customers who had something to find.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Sequence
from typing import Final

import numpy as np
import scipy.sparse as sp

Truth = sp.sparray | sp.spmatrix | Sequence[Collection[int]]


def truth_matrix(truth: Truth, n_items: int | None = None) -> sp.csr_array:
    """Binary CSR (b x n_items, sorted indices) from a sparse matrix or a list of id sets."""
    if sp.issparse(truth):
        csr = sp.csr_array(truth, copy=True)
        csr.sum_duplicates()
        csr.eliminate_zeros()
        csr.data = np.ones_like(csr.data, dtype=np.int8)
        return csr
    lengths = np.fromiter((len(s) for s in truth), dtype=np.int64, count=len(truth))
    cols = np.fromiter(itertools.chain.from_iterable(truth), dtype=np.int64, count=lengths.sum())
    if (cols < 0).any():
        raise ValueError(f"truth holds negative item ids: {np.unique(cols[cols < 0])[:5].tolist()}")
    width = int(cols.max(initial=-1)) + 1 if n_items is None else n_items
    if cols.size and cols.max() >= width:
        raise ValueError(f"truth holds item ids >= n_items={width}: {cols[cols >= width][:5]}")
    rows = np.repeat(np.arange(len(lengths)), lengths)
    data = np.ones(cols.size, dtype=np.int8)
    csr = sp.csr_array((data, (rows, cols)), shape=(len(lengths), width))
    csr.sum_duplicates()
    csr.data[:] = 1
    return csr


def hit_matrix(rec_ids: np.ndarray, truth: Truth, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(hits (b, k) bool, n_relevant (b,) int64) for the first k recommendations of each row."""
    rec = _checked_recs(rec_ids, k)
    csr = truth_matrix(truth)
    b, n = csr.shape
    if b != rec.shape[0]:
        raise ValueError(f"rec_ids has {rec.shape[0]} rows but truth has {b}")
    if sp.issparse(truth) and rec.size and rec.max() >= n:
        raise ValueError(f"rec_ids hold item ids >= n_items={n}: {rec[rec >= n][:5].tolist()}")
    n_relevant = np.diff(csr.indptr).astype(np.int64)
    if csr.nnz == 0:
        return np.zeros(rec.shape, dtype=bool), n_relevant
    # (row, item) pairs as one sorted int64 key each: a hit is a key found in the truth keys.
    stride = max(n, int(rec.max(initial=-1)) + 1)
    truth_keys = np.repeat(np.arange(b, dtype=np.int64), n_relevant) * stride + csr.indices
    rec_keys = np.arange(b, dtype=np.int64)[:, None] * stride + rec
    pos = np.minimum(np.searchsorted(truth_keys, rec_keys), truth_keys.size - 1)
    return (rec >= 0) & (truth_keys[pos] == rec_keys), n_relevant


def precision(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """Hits in the top k divided by k (padding counts as a miss)."""
    return _defined(hits.sum(axis=1) / hits.shape[1], n_relevant)


def recall(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """Hits in the top k divided by the number of relevant items."""
    return _defined(hits.sum(axis=1) / np.maximum(n_relevant, 1), n_relevant)


def average_precision(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """Kaggle AP@k: sum of precision@i at each hit i, divided by min(n_relevant, k)."""
    k = hits.shape[1]
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    total = (precision_at * hits).sum(axis=1)
    return _defined(total / np.maximum(np.minimum(n_relevant, k), 1), n_relevant)


def ndcg(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """NDCG@k with binary relevance: DCG over the ideal DCG of min(n_relevant, k) hits."""
    k = hits.shape[1]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discounts)[np.clip(np.minimum(n_relevant, k) - 1, 0, None)]
    return _defined(hits @ discounts / ideal, n_relevant)


def hit_rate(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """1 if any of the top k is relevant, else 0."""
    return _defined(hits.any(axis=1).astype(np.float64), n_relevant)


def reciprocal_rank(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """1 / rank of the first hit within k, 0 without one (k = n_items gives full-rank MRR)."""
    first = np.argmax(hits, axis=1) + 1.0
    return _defined(np.where(hits.any(axis=1), 1.0 / first, 0.0), n_relevant)


def coverage(rec_ids: np.ndarray, n_items: int, k: int | None = None) -> float:
    """Catalog coverage: distinct items recommended (first k per row) divided by n_items."""
    rec = np.asarray(rec_ids)
    rec = rec if k is None else rec[:, :k]
    return float(np.unique(rec[rec >= 0]).size / n_items)


PerRow = Callable[[np.ndarray, np.ndarray], np.ndarray]
METRICS: Final[dict[str, PerRow]] = {
    "precision": precision,
    "recall": recall,
    "map": average_precision,
    "ndcg": ndcg,
    "hit_rate": hit_rate,
    "mrr": reciprocal_rank,
}


def _defined(values: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    return np.where(n_relevant > 0, values, np.nan)


def _checked_recs(rec_ids: np.ndarray, k: int) -> np.ndarray:
    rec = np.asarray(rec_ids)
    if rec.ndim != 2 or not np.issubdtype(rec.dtype, np.integer):
        raise ValueError(f"rec_ids must be a 2-D integer array, got {rec.dtype} {rec.shape}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= rec.shape[1]:
        raise ValueError(f"k must be an integer in 1..{rec.shape[1]} (rec_ids width), got {k!r}")
    rec = rec[:, :k].astype(np.int64)
    if (rec < -1).any():
        raise ValueError(f"rec_ids hold negative ids other than -1 padding: {rec[rec < -1][:5]}")
    ordered = np.sort(rec, axis=1)
    dup_rows = np.flatnonzero(((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)).any(1))
    if dup_rows.size:
        raise ValueError(f"rec_ids repeat an item within rows {dup_rows[:5].tolist()}")
    return rec
