"""Item-item similarity per loaded model: the model's own when it has one, else co-occurrence."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.engine.engine import Engine


def item_similarity(engine: Engine) -> np.ndarray:
    """(n, n) float32 similarity with a zero diagonal (a product is not similar to itself)."""
    n = len(engine.catalog)
    own = getattr(engine.model, "similarity", None)
    if sp.issparse(own) and own.shape == (n, n):
        dense = np.asarray(own.toarray(), dtype=np.float32)
    else:
        dense = cooccurrence_cosine(engine.snapshot.history)
    np.fill_diagonal(dense, 0.0)
    return dense


def cooccurrence_cosine(history: sp.csr_matrix) -> np.ndarray:
    """Cosine of the product columns of a customers x products matrix (0 for unused products)."""
    x = sp.csr_matrix(history, dtype=np.float64)
    gram = (x.T @ x).toarray()
    norms = np.sqrt(np.clip(np.diag(gram), 0.0, None))
    denom = np.outer(norms, norms)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = np.where(denom > 0, gram / denom, 0.0)
    return cos.astype(np.float32)


def top_similar(row: np.ndarray, allowed: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Ids and scores of the k highest positive, allowed entries of `row`, best first."""
    scores = np.where(allowed & (row > 0), row, -np.inf)
    k = min(k, int(np.isfinite(scores).sum()))
    if k == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    top = np.argpartition(-scores, k - 1)[:k]
    order = top[np.lexsort((top, -scores[top]))]  # ties broken by product id: deterministic
    return order, scores[order]
