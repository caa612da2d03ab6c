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

from recsys.models.reason import Reason, co_held_reasons

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
        if history.shape[0] == 1 and _sorted_distinct(history.indices):
            return self._row_system(history)
        conf = history.astype(np.float64)
        conf.eliminate_zeros()
        conf.data *= self.alpha
        extra = conf.copy()
        extra.data = np.abs(extra.data) - 1.0
        b, f = history.shape[0], self.y.shape[1]
        a = np.asarray(extra @ self.outer).reshape(b, f, f) + self.base
        rhs = np.asarray(conf.maximum(0) @ self.y)
        return a, rhs

    def _row_system(self, history: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """_systems of one row with sorted distinct columns (a request's), from its arrays.

        The same numbers through the same csr @ dense products, with less sparse
        bookkeeping: maximum(0) would drop the cells <= 0 that stay here at 0, and a product
        adds an exact 0 for them.
        """
        data = history.data.astype(np.float64)
        keep = data != 0  # eliminate_zeros
        conf = data[keep]
        conf *= self.alpha
        cells = sp.csr_matrix(
            (np.abs(conf) - 1.0, history.indices[keep], np.array([0, len(conf)])),
            shape=history.shape,
        )
        f = self.y.shape[1]
        a = np.asarray(cells @ self.outer).reshape(1, f, f) + self.base
        cells.data = np.maximum(conf, 0)
        return a, np.asarray(cells @ self.y)

    def users(self, history: sp.csr_matrix) -> np.ndarray:
        """Customer factors (b x f float64), one exact solve per history row."""
        if history.shape[0] <= _CHUNK:  # no row slice to copy (a request is one row)
            a, rhs = self._systems(history)
            return np.linalg.solve(a, rhs[..., None])[..., 0]
        out = np.empty((history.shape[0], self.y.shape[1]), dtype=np.float64)
        for start in range(0, history.shape[0], _CHUNK):
            a, rhs = self._systems(history[start : start + _CHUNK])
            out[start : start + _CHUNK] = np.linalg.solve(a, rhs[..., None])[..., 0]
        return out

    def contributions(
        self, history_row: sp.csr_matrix, product: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Held items of one row and their additive shares of the factor score of `product`.

        score_j = y_j . x_u = sum_i c_ui (y_j^T A_u^-1 y_i), so each held item's share is exact.
        """
        items, [shares] = self.contributions_many(history_row, [product])
        return items, shares

    def contributions_many(
        self, history_row: sp.csr_matrix, products: Sequence[int]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """`contributions` of several products: the row's system is built once for all."""
        a, _ = self._systems(history_row)
        data = history_row.data.astype(np.float64)
        keep = data != 0  # the cells eliminate_zeros keeps, in their order
        items = history_row.indices[keep]
        weights = self.alpha * np.maximum(data[keep], 0.0)
        held = self.y[items]
        # A_u^-1 y_j (A_u is symmetric), one solve per product as for one product
        return items, [weights * (held @ np.linalg.solve(a[0], self.y[p])) for p in products]

    def reasons(
        self, history_row: sp.csr_matrix, products: Sequence[int], k: int
    ) -> list[list[Reason]]:
        """co_held_reasons of each product (what the fold-in models explain), at once."""
        ids = [int(p) for p in products]
        items, shares = self.contributions_many(history_row, ids)
        return [co_held_reasons(items, s, p, k) for p, s in zip(ids, shares, strict=True)]


def _sorted_distinct(indices: np.ndarray) -> bool:
    return len(indices) < 2 or bool((indices[1:] > indices[:-1]).all())


class FoldInReasons:
    """Reasons of a model that folds customers in with `self._foldin` (ALS, BPR).

    Mixed in before `Recommender`: its `_explain` / `_explain_products` hooks.
    """

    _foldin: LeastSquaresFoldIn

    def _explain(
        self, history: sp.csr_matrix, product: int, k: int, features: object
    ) -> list[Reason]:
        items, shares = self._foldin.contributions(history, product)
        return co_held_reasons(items, shares, product, k)

    def _explain_products(
        self, history: sp.csr_matrix, products: list[int], k: int, features: object
    ) -> list[list[Reason]]:
        # the row's fold-in system is built once for all products
        return self._foldin.reasons(history, products, k)
