"""Batched fold-in: equals implicit's per-user solve, and explain shares add up to the score."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares

from recsys.models._foldin import LeastSquaresFoldIn


def _fitted(seed: int = 0) -> tuple[AlternatingLeastSquares, sp.csr_matrix]:
    rng = np.random.default_rng(seed)
    m = sp.random(60, 12, density=0.25, format="csr", random_state=rng, dtype=np.float32)
    m.data = np.round(m.data * 3 + 0.2, 1)  # weights like decayed purchases, all > 0
    als = AlternatingLeastSquares(
        factors=5, regularization=0.3, alpha=4.0, iterations=3, random_state=seed, num_threads=1
    )
    als.fit(m, show_progress=False)
    return als, m


def test_batch_solve_equals_implicit_recalculate_user() -> None:
    als, m = _fitted()
    ours = LeastSquaresFoldIn(als.item_factors, 0.3, 4.0).users(m)
    theirs = als.recalculate_user(np.arange(m.shape[0]), m)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_chunked_solve_equals_unchunked(monkeypatch) -> None:
    als, m = _fitted(1)
    fold = LeastSquaresFoldIn(als.item_factors, 0.3, 4.0)
    whole = fold.users(m)
    monkeypatch.setattr("recsys.models._foldin._CHUNK", 7)
    np.testing.assert_array_equal(fold.users(m), whole)


def test_explicit_zeros_count_as_not_held() -> None:
    als, _ = _fitted(2)
    fold = LeastSquaresFoldIn(als.item_factors, 0.3, 4.0)
    with_zero = sp.csr_matrix((np.array([1.0, 0.0]), np.array([1, 4]), np.array([0, 2])), (1, 12))
    without = sp.csr_matrix((np.array([1.0]), np.array([1]), np.array([0, 1])), (1, 12))
    np.testing.assert_array_equal(fold.users(with_zero), fold.users(without))


def test_contributions_add_up_to_the_score() -> None:
    als, m = _fitted(3)
    fold = LeastSquaresFoldIn(als.item_factors, 0.3, 4.0)
    row = m[5]
    for product in range(12):
        items, shares = fold.contributions(row, product)
        assert sorted(items.tolist()) == sorted(row.indices.tolist())
        score = fold.users(row)[0] @ fold.y[product]
        np.testing.assert_allclose(shares.sum(), score, rtol=1e-6, atol=1e-9)
