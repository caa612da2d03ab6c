"""One-customer fast paths of item-kNN, popularity and ALS: equal to their batch paths, exactly."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.columns import Columns as C
from recsys.models.itemknn import ItemKNNRecommender

from .planted import N_PRODUCTS, planted

WEIGHTS = [0.0, -0.0, -1.0, 1e-3, 0.05, 0.5, 0.99, 1.0, 2.5]
cells = st.lists(
    st.tuples(st.integers(0, N_PRODUCTS - 1), st.sampled_from(WEIGHTS)), max_size=12
)


def one_row(given_cells: list[tuple[int, float]]) -> sp.csr_matrix:
    """A 1-row CSR with the cells as given: unsorted and repeated columns stay so."""
    cols = np.array([c for c, _ in given_cells], dtype=np.int32)
    data = np.array([w for _, w in given_cells], dtype=np.float32)
    return sp.csr_matrix((data, cols, np.array([0, len(given_cells)])), shape=(1, N_PRODUCTS))


@pytest.fixture(scope="module", params=["cosine", "bm25"])
def itemknn(request: pytest.FixtureRequest) -> ItemKNNRecommender:
    return ItemKNNRecommender(similarity=request.param).fit(planted().train)


@settings(max_examples=100, deadline=None)
@given(row=cells)
def test_itemknn_one_row_equals_the_sparse_product(
    itemknn: ItemKNNRecommender, row: list[tuple[int, float]]
) -> None:
    h = one_row(row)
    got = itemknn.score(h)
    expected = (h @ itemknn.similarity).toarray()
    np.testing.assert_array_equal(got, expected)
    assert not np.signbit(got[got == 0]).any()  # no -0.0 where the sparse product has 0


def test_itemknn_non_finite_weights_take_the_sparse_product(itemknn: ItemKNNRecommender) -> None:
    h = one_row([(0, float("inf")), (3, 1.0)])
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(itemknn.score(h), (h @ itemknn.similarity).toarray())


def test_itemknn_dense_copy_follows_a_new_similarity(itemknn: ItemKNNRecommender) -> None:
    before = itemknn.dense_similarity()
    assert before is not None and not before.flags.writeable
    old = itemknn.similarity
    try:
        itemknn.similarity = old * 2
        np.testing.assert_array_equal(itemknn.dense_similarity(), (old * 2).toarray())
    finally:
        itemknn.similarity = old


@pytest.fixture(scope="module")
def popularity():
    from recsys.models.popularity import PopularityRecommender

    return PopularityRecommender().fit(planted().train)


@settings(max_examples=60, deadline=None)
@given(
    segments=st.lists(
        st.one_of(st.none(), st.sampled_from(["young", "senior", "Young", "", "other"])),
        min_size=1,
        max_size=5,
    )
)
def test_popularity_small_batches_equal_the_polars_lookup(popularity, segments) -> None:
    from recsys.models import popularity as module

    frame = pl.DataFrame({C.segment: segments}, schema={C.segment: pl.String})
    h = sp.csr_matrix((len(segments), N_PRODUCTS), dtype=np.float32)
    got = popularity.score(h, None, frame)
    big = module.SMALL_BATCH + 1  # the same rows, padded past the dict lookup's size
    padded = pl.concat([frame, pl.DataFrame({C.segment: ["young"] * big})])
    h_big = sp.csr_matrix((padded.height, N_PRODUCTS), dtype=np.float32)
    np.testing.assert_array_equal(got, popularity.score(h_big, None, padded)[: len(segments)])
    categorical = frame.with_columns(pl.col(C.segment).cast(pl.Categorical))
    np.testing.assert_array_equal(got, popularity.score(h, None, categorical))
