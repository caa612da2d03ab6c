"""The sequence model's machinery: contexts from histories, training examples, softmax fit.

Everything is vectorised over CSR arrays. A "context" is what one training example or one
scored customer knows: the products with a positive history weight, and which of them are
the newest (weight >= recent_ratio x the largest). History weights stand in for time: with
recency decay, of two events of one type the newer has the larger weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize


@dataclass(frozen=True)
class Contexts:
    """Flattened contexts: entry e says context row[e] holds product item[e] (last[e]: newest)."""

    n_rows: int
    row: np.ndarray  # int64
    item: np.ndarray  # int64
    last: np.ndarray  # bool


@dataclass(frozen=True)
class Examples:
    """Training examples: customer row, target product, weight, context, excluded products."""

    rows: np.ndarray  # int64 (S,) training row of each example
    targets: np.ndarray  # int64 (S,)
    weights: np.ndarray  # float64 (S,)
    contexts: Contexts
    excluded: np.ndarray  # bool (S, n): the context's products, not candidates of the softmax


def positive_cells(history: sp.csr_matrix) -> sp.csr_matrix:
    """The history with non-positive cells removed (they say nothing is held or liked)."""
    h = sp.csr_matrix(history, dtype=np.float64, copy=True)
    h.data[h.data <= 0] = 0.0
    h.eliminate_zeros()
    h.sort_indices()
    return h


def is_newest(values: np.ndarray, row_max: np.ndarray, recent_ratio: float | None) -> np.ndarray:
    """Which positive values are a context's newest: at least recent_ratio x its largest."""
    if recent_ratio is None:
        return np.zeros(len(values), dtype=bool)
    return (values > 0) & (values >= recent_ratio * row_max)


def training_examples(
    matrix: sp.csr_matrix,
    recent_ratio: float | None,
    fill_weight: float,
    next_weight: float,
    max_examples: int,
    seed: int,
) -> Examples:
    """Examples from positive cells (sampled down to max_examples), two kinds per cell t:

    fill: context = every other cell of the row (what a hide-one test asks), weight
    fill_weight; next: context = the row's cells older than t (weight below recent_ratio
    times t's), weight next_weight, only where such cells exist (what a time split asks).
    """
    h = positive_cells(matrix)
    all_rows = np.repeat(np.arange(h.shape[0]), np.diff(h.indptr))
    cells = np.arange(h.nnz)
    if h.nnz > max_examples:
        cells = np.sort(np.random.default_rng(seed).choice(h.nnz, max_examples, replace=False))
    kinds = [(cells, False, fill_weight)]
    if recent_ratio is not None:
        kinds.append((cells, True, next_weight))
    parts = [_expand(h, all_rows[c], c, is_next, w, recent_ratio) for c, is_next, w in kinds]
    parts = [p for p in parts if p is not None]
    if not parts:
        raise ValueError("no training examples: every example kind has weight 0 or no data")
    return _concat(h, parts, recent_ratio)


def _expand(
    h: sp.csr_matrix,
    rows: np.ndarray,
    cells: np.ndarray,
    is_next: bool,
    weight: float,
    recent_ratio: float | None,
) -> tuple[np.ndarray, ...] | None:
    """(rows, targets, weights, context entries' example ids, their cells) of one kind."""
    if weight <= 0 or not len(cells):
        return None
    lengths = np.diff(h.indptr)[rows]
    starts = np.repeat(h.indptr[rows] - (np.cumsum(lengths) - lengths), lengths)
    entries = starts + np.arange(lengths.sum())
    example = np.repeat(np.arange(len(rows)), lengths)
    if is_next:  # strictly older cells only; examples left without context are dropped
        keep = h.data[entries] < recent_ratio * h.data[cells][example]
    else:
        keep = entries != cells[example]
    entries, example = entries[keep], example[keep]
    if is_next:
        has = np.zeros(len(rows), dtype=bool)
        has[example] = True
        renumber = np.cumsum(has) - 1
        rows, cells, example = rows[has], cells[has], renumber[example]
        if not len(rows):
            return None
    targets = h.indices[cells].astype(np.int64)
    return rows, targets, np.full(len(rows), weight), example, entries


def _concat(
    h: sp.csr_matrix, parts: list[tuple[np.ndarray, ...]], recent_ratio: float | None
) -> Examples:
    """One Examples from several kinds: contexts' newest cells marked, contexts excluded."""
    offsets = np.cumsum([0, *(len(p[0]) for p in parts)])
    rows, targets, weights = (np.concatenate([p[i] for p in parts]) for i in range(3))
    example = np.concatenate([p[3] + o for p, o in zip(parts, offsets[:-1], strict=True)])
    entries = np.concatenate([p[4] for p in parts])
    values, items = h.data[entries], h.indices[entries].astype(np.int64)
    context_max = np.zeros(len(rows))
    np.maximum.at(context_max, example, values)
    last = is_newest(values, context_max[example], recent_ratio)
    excluded = np.zeros((len(rows), h.shape[1]), dtype=bool)
    excluded[example, items] = True
    contexts = Contexts(len(rows), example, items, last)
    return Examples(rows, targets, weights, contexts, excluded)


def design_matrix(contexts: Contexts, n: int, profiles: sp.csr_matrix) -> sp.csr_matrix:
    """[held (n) | newest (n) | profile (f)] indicator features per context, float32 CSR."""
    b = contexts.n_rows
    ones = np.ones(len(contexts.item), dtype=np.float32)
    held = sp.csr_matrix((ones, (contexts.row, contexts.item)), shape=(b, n))
    keep = contexts.last
    last = sp.csr_matrix((ones[keep], (contexts.row[keep], contexts.item[keep])), shape=(b, n))
    out = sp.hstack([held, last, sp.csr_matrix(profiles, dtype=np.float32)], format="csr")
    out.sort_indices()
    return out


def fit_softmax(
    x: sp.csr_matrix,
    targets: np.ndarray,
    excluded: np.ndarray,
    weights: np.ndarray,
    l2: float,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray, str]:
    """W (d x n) and b (n) minimising weighted softmax cross-entropy + l2/2 |W|^2 (L-BFGS)."""
    # float32 arithmetic for the products that cost the fit; L-BFGS keeps its state in float64
    x = sp.csr_matrix(x, dtype=np.float32)
    xt = x.T.tocsr()
    # Weights say how examples compare, not how much data there is: scaled to mean 1, so
    # that l2 means the same whatever the weights of the example kinds are.
    weights = weights / weights.mean()
    d, n, total = x.shape[1], excluded.shape[1], float(len(targets))
    picked = (np.arange(len(targets)), targets)
    w32 = weights.astype(np.float32)[:, None]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: d * n].reshape(d, n)
        z = x @ w.astype(np.float32) + theta[d * n :].astype(np.float32)
        z[excluded] = -np.inf
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        norm = p.sum(axis=1)
        loss = float(weights @ (np.log(norm) - z[picked]).astype(np.float64))
        p /= norm[:, None]
        p[picked] -= 1.0
        p *= w32
        grad_w = (xt @ p).astype(np.float64) + l2 * w
        value = (loss + 0.5 * l2 * float(np.vdot(w, w))) / total
        grad_b = p.sum(axis=0, dtype=np.float64)
        return value, np.concatenate([grad_w.ravel(), grad_b]) / total

    result = minimize(
        objective, np.zeros(d * n + n), jac=True, method="L-BFGS-B", options={"maxiter": max_iter}
    )
    info = f"loss {result.fun:.4f} after {result.nit} iterations ({result.message})"
    return result.x[: d * n].reshape(d, n), result.x[d * n :], info
