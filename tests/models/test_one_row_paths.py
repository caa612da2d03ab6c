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
cells = st.lists(st.tuples(st.integers(0, N_PRODUCTS - 1), st.sampled_from(WEIGHTS)), max_size=12)


def one_row(given_cells: list[tuple[int, float]]) -> sp.csr_matrix:
    """A 1-row CSR with the cells as given: unsorted and repeated columns stay so."""
    cols = np.array([c for c, _ in given_cells], dtype=np.int32)
    data = np.array([w for _, w in given_cells], dtype=np.float32)
    return sp.csr_matrix((data, cols, np.array([0, len(given_cells)])), shape=(1, N_PRODUCTS))


@pytest.fixture(scope="module", params=["cosine", "bm25"])
def itemknn(request: pytest.FixtureRequest) -> ItemKNNRecommender:
    return ItemKNNRecommender(similarity=request.param).fit(planted().train)


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(cells, min_size=1, max_size=3))
def test_itemknn_dense_product_equals_the_sparse_product(
    itemknn: ItemKNNRecommender, rows: list[list[tuple[int, float]]]
) -> None:
    h = sp.vstack([one_row(r) for r in rows], format="csr")
    got = itemknn.score(h)
    expected = (h @ itemknn.similarity).toarray()
    np.testing.assert_array_equal(got, expected)
    assert not np.signbit(got[got == 0]).any()  # no -0.0 where the sparse product has 0
    assert got.shape == (len(rows), N_PRODUCTS) and got.dtype == np.float32


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


@pytest.fixture(scope="module", params=["als", "bpr"])
def fold_in_model(request: pytest.FixtureRequest):
    from recsys.models.registry import build_model

    params = {"factors": 4, "iterations": 3}
    return build_model(request.param, params).fit(planted().train)


@settings(max_examples=100, deadline=None)
@given(row=cells, other=cells)
def test_fold_in_one_row_equals_the_batch_system(fold_in_model, row, other) -> None:
    # a request's row with sorted distinct columns takes _row_system; as row 0 of a batch
    # it takes the general sparse path
    h = one_row(sorted(dict(row).items()))
    batch = sp.vstack([h, one_row(other)], format="csr")
    np.testing.assert_array_equal(fold_in_model.score(h), fold_in_model.score(batch)[:1])
    fold = fold_in_model._foldin
    (a1, rhs1), (a2, rhs2) = fold._systems(h.astype(np.float32)), fold._systems(batch)
    np.testing.assert_array_equal(a1[0], a2[0])
    np.testing.assert_array_equal(rhs1[0], rhs2[0])
    products = list(range(N_PRODUCTS))
    expected = [fold_in_model.explain(batch[[0]], p, 2) for p in products]
    assert fold_in_model.explain_products(h, products, 2) == expected
    assert fold_in_model.explain_products(one_row(row), products, 2) == [
        fold_in_model.explain(one_row(row), p, 2) for p in products
    ]
