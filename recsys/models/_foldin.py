"""Exact, batched least-squares fold-in of customer states onto fixed item factors.

For implicit-feedback ALS (Hu, Koren, Volinsky 2008) with implicit's conventions,
confidence c_ui = alpha * r_ui for observed entries and 1 otherwise, preference p_ui = 1
for positive r_ui. A customer's factor is

    x_u = (YtY + reg I + sum_i (|c_ui| - 1) y_i y_i^T)^-1  sum_{i: c_ui > 0} c_ui y_i

which is exactly what `implicit`'s `recalculate_user` solves one row at a time in Cython.
Here the per-row systems are built for the whole batch at once: the rank-one terms come
from one sparse (b x n) @ dense (n x f*f) product, and numpy solves the b small f x f
systems in one batched call. Bank catalogs have few products, so f*f*n stays small.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from recsys.models.reason import Reason, co_held_many

_CHUNK = 4096  # rows per batched solve: bounds the (chunk x f x f) float64 buffer


class LeastSquaresFoldIn:
    """Solves customer factors for any batch of histories against fixed item factors."""

    def __init__(self, item_factors: np.ndarray, regularization: float, alpha: float) -> None:
        self.y = np.asarray(item_factors, dtype=np.float64)
        n, f = self.y.shape
        self.alpha = float(alpha)
        self.base = self.y.T @ self.y + float(regularization) * np.eye(f)
        # row i = vec(y_i y_i^T): the rank-one update each observed item adds to a system
        self.outer = np.einsum("if,ig->ifg", self.y, self.y).reshape(n, f * f)

    def _systems(self, history: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """Each row's system matrix A_u (b x f x f) and right-hand side (b x f).

        Built from the history's arrays: explicit zeros are no cells, each stored cell adds
        its rank-one term and (when positive) its confidence times y_i, in stored order.
        """
        data = history.data.astype(np.float64)
        keep = data != 0
        conf = self.alpha * data[keep]
        kept_before = np.zeros(len(keep) + 1, dtype=history.indptr.dtype)
        np.cumsum(keep, out=kept_before[1:])
        cells = sp.csr_matrix(
            (np.abs(conf) - 1.0, history.indices[keep], kept_before[history.indptr]),
            shape=history.shape,
        )
        b, f = history.shape[0], self.y.shape[1]
        a = np.asarray(cells @ self.outer).reshape(b, f, f) + self.base
        cells.data = np.maximum(conf, 0.0)
        return a, np.asarray(cells @ self.y)

    def users(self, history: sp.csr_matrix) -> np.ndarray:
        """Customer factors (b x f float64), one exact solve per history row."""
        if history.shape[0] <= _CHUNK:  # no row slice to copy
            a, rhs = self._systems(history)
            return np.linalg.solve(a, rhs[..., None])[..., 0]
        out = np.empty((history.shape[0], self.y.shape[1]), dtype=np.float64)
        for start in range(0, history.shape[0], _CHUNK):
            a, rhs = self._systems(history[start : start + _CHUNK])
            out[start : start + _CHUNK] = np.linalg.solve(a, rhs[..., None])[..., 0]
        return out

    def shares(self, history_row: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """Held cells of one row, and their additive shares of every product's factor score.

        score_j = y_j . x_u = sum_i c_ui (y_i^T A_u^-1 y_j), so each held item's share is
        exact: (held cells x n_products) float64, computed for all products at once so that
        a product's shares do not depend on which others are asked.
        """
        a, _ = self._systems(history_row)
        data = history_row.data.astype(np.float64)
        keep = data != 0  # the cells _systems keeps, in their order
        items = history_row.indices[keep]
        weights = self.alpha * np.maximum(data[keep], 0.0)
        solved = np.linalg.solve(a[0], self.y[items].T)  # A_u^-1 y_i (A_u is symmetric)
        return items, weights[:, None] * (solved.T @ self.y.T)

    def reasons(
        self,
        history_row: sp.csr_matrix,
        products: Sequence[int],
        k: int,
        citable: np.ndarray | None = None,
    ) -> list[list[Reason]]:
        """co_held reasons of each product from the fold-in shares (what ALS and BPR explain)."""
        items, shares = self.shares(history_row)
        return co_held_many(items, shares[:, list(products)], products, k, citable)


class FoldInReasons:
    """Reasons of a model that folds customers in with `self._foldin` (ALS, BPR).

    Mixed in before `Recommender`: its `_explain_products` hook.
    """

    _foldin: LeastSquaresFoldIn

    def _explain_products(
        self,
        history: sp.csr_matrix,
        products: list[int],
        k: int,
        features: object,
        citable: np.ndarray,
    ) -> list[list[Reason]]:
        return self._foldin.reasons(history, products, k, citable)
