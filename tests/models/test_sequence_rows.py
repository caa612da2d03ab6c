"""The sequence model's one-row path: the same scores (bit for bit) and reasons as the matrices."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.models.sequence import SequenceRecommender

from .planted import N_PRODUCTS, SENIOR, YOUNG, planted, profiles

VARIANTS = {
    "default": {},
    "no order, no profile": {"recent_ratio": None, "profile_columns": []},
    "no interest": {"interest_weight": 0.0, "recent_ratio": 0.5},
}
WEIGHTS = [0.0, -1.0, 1e-3, 0.05, 0.5, 0.99, 1.0, 2.0]


@pytest.fixture(scope="module", params=list(VARIANTS))
def model(request: pytest.FixtureRequest) -> SequenceRecommender:
    return SequenceRecommender(max_iter=30, **VARIANTS[request.param]).fit(planted().train)


def matrix_scores(model: SequenceRecommender, h: sp.csr_matrix, f: pl.DataFrame) -> np.ndarray:
    """Row 0 of a two-row batch: the sparse design-matrix path."""
    m = h.nnz
    both = sp.csr_matrix(  # the row twice, its cells exactly as given
        (np.tile(h.data, 2), np.tile(h.indices, 2), np.array([0, m, 2 * m])), shape=(2, h.shape[1])
    )
    return model.score(both, None, pl.concat([f, f]))[:1]


def one_row(cells: list[tuple[int, float]]) -> sp.csr_matrix:
    """A 1-row CSR with the cells as given: unsorted columns stay so."""
    cols = np.array([c for c, _ in cells], dtype=np.int32)
    data = np.array([w for _, w in cells], dtype=np.float32)
    return sp.csr_matrix((data, cols, np.array([0, len(cells)])), shape=(1, N_PRODUCTS))


# distinct columns: a row with a column twice breaks the matrix path itself (Contexts.of_rows),
# and engine histories never have one
histories = st.lists(
    st.tuples(st.integers(0, N_PRODUCTS - 1), st.sampled_from(WEIGHTS)),
    max_size=N_PRODUCTS,
    unique_by=lambda cell: cell[0],
)
segments = st.sampled_from([YOUNG, SENIOR, "a segment nobody is in"])


@settings(max_examples=80, deadline=None)
@given(cells=histories, segment=segments, sort=st.booleans())
def test_one_row_equals_the_matrix_path(
    model: SequenceRecommender, cells: list[tuple[int, float]], segment: str, sort: bool
) -> None:
    if sort:  # canonical rows (what the engine hands over) take the one-row path
        cells = sorted(cells)
    h, f = one_row(cells), profiles([segment])
    got = model.score(h, None, f)
    np.testing.assert_array_equal(got, matrix_scores(model, h, f))
    assert got.dtype == np.float32 and got.shape == (1, N_PRODUCTS)
    products = list(range(N_PRODUCTS))
    expected = [model.explain(h, p, 2, features=f) for p in products]
    assert model.explain_products(h, products, 2, features=f) == expected


def test_the_one_row_path_is_taken(model: SequenceRecommender, monkeypatch) -> None:
    h, f = one_row([(0, 0.5), (2, 1.0)]), profiles([YOUNG])
    monkeypatch.setattr(model, "_design", lambda *a: pytest.fail("matrix path taken"))
    model.score(h, None, f)
    model.explain_products(h, [1, 3], 3, features=f)


def test_explain_products_checks_like_explain(model: SequenceRecommender) -> None:
    h, f = one_row([(0, 1.0)]), profiles([YOUNG])
    with pytest.raises(ValueError, match="product"):
        model.explain_products(h, [N_PRODUCTS], 2, features=f)
    with pytest.raises(ValueError, match="k_reasons"):
        model.explain_products(h, [1], 0, features=f)
    if model.encoder.size:
        with pytest.raises(ValueError, match="features"):
            model.score(h)
