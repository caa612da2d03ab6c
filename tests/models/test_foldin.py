"""Batched fold-in: equals implicit's per-user solve, one row as in a batch, shares add up."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from implicit.cpu.als import AlternatingLeastSquares

from recsys.models._foldin import LeastSquaresFoldIn
from recsys.models.registry import build_model

from .planted import N_PRODUCTS, planted


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


def test_shares_add_up_to_the_score() -> None:
    als, m = _fitted(3)
    fold = LeastSquaresFoldIn(als.item_factors, 0.3, 4.0)
    row = m[5]
    items, shares = fold.shares(row)
    assert sorted(items.tolist()) == sorted(row.indices.tolist())
    assert shares.shape == (len(items), 12)
    scores = fold.users(row)[0] @ fold.y.T
    np.testing.assert_allclose(shares.sum(axis=0), scores, rtol=1e-6, atol=1e-9)


def test_an_empty_history_has_no_shares_and_no_reasons() -> None:
    als, _ = _fitted(4)
    fold = LeastSquaresFoldIn(als.item_factors, 0.3, 4.0)
    empty = sp.csr_matrix((1, 12), dtype=np.float32)
    items, shares = fold.shares(empty)
    assert items.size == 0 and shares.shape == (0, 12)
    assert fold.reasons(empty, [0, 3], 2) == [[], []]


WEIGHTS = [0.0, -0.0, -1.0, 1e-3, 0.05, 0.5, 0.99, 1.0, 2.5]
cells = st.lists(st.tuples(st.integers(0, N_PRODUCTS - 1), st.sampled_from(WEIGHTS)), max_size=12)


def one_row(given: list[tuple[int, float]]) -> sp.csr_matrix:
    """A 1-row CSR with the cells as given: unsorted and repeated columns stay so."""
    cols = np.array([c for c, _ in given], dtype=np.int32)
    data = np.array([w for _, w in given], dtype=np.float32)
    return sp.csr_matrix((data, cols, np.array([0, len(given)])), shape=(1, N_PRODUCTS))


@pytest.fixture(scope="module", params=["als", "bpr"])
def fold_in_model(request: pytest.FixtureRequest):
    return build_model(request.param, {"factors": 4, "iterations": 3}).fit(planted().train)


@settings(max_examples=60, deadline=None)
@given(row=cells, others=st.lists(cells, min_size=1, max_size=3))
def test_a_row_scores_alike_alone_and_in_a_batch(fold_in_model, row, others) -> None:
    # any cells: unsorted, repeated, explicit zeros and negative weights
    h = one_row(row)
    batch = sp.vstack([one_row(o) for o in others] + [h], format="csr")
    np.testing.assert_array_equal(fold_in_model.score(h), fold_in_model.score(batch)[-1:])
    products = list(range(N_PRODUCTS))
    expected = [fold_in_model.explain(h, p, 2) for p in products]
    assert fold_in_model.explain_products(h, products, 2) == expected
