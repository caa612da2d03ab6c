"""Item-kNN: the contract for every similarity, plus the score = history @ S identity."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.models.itemknn import ItemKNNRecommender

from .contract import RecommenderContract, first_allowed
from .planted import CC, N_PRODUCTS, A, B, D, E, F, history, planted


class TestItemKNNCosine(RecommenderContract):
    similarity = "cosine"

    def make_model(self) -> ItemKNNRecommender:
        return ItemKNNRecommender(similarity=self.similarity)

    def test_known_answer(self, model: ItemKNNRecommender) -> None:
        assert first_allowed(model, history((A, B), (D, E))).tolist() == [CC, F]

    def test_scores_are_history_times_similarity(self, model: ItemKNNRecommender) -> None:
        h = history((A, B), (D,))
        np.testing.assert_allclose(model.score(h), (h @ model.similarity).toarray(), rtol=1e-6)


class TestItemKNNBM25(TestItemKNNCosine):
    similarity = "bm25"


class TestItemKNNTFIDF(TestItemKNNCosine):
    similarity = "tfidf"


def test_neighbours_limit_keeps_k_per_product() -> None:
    model = ItemKNNRecommender(neighbours=2).fit(planted().train)
    assert (np.diff(model.similarity.indptr) <= 2).all()


def test_config_rejects_unknown_similarity() -> None:
    with pytest.raises(ValueError, match="similarity"):
        ItemKNNRecommender(similarity="jaccard")


WEIGHTS = [0.0, -0.0, -1.0, 1e-3, 0.05, 0.5, 0.99, 1.0, 2.5]
cells = st.lists(st.tuples(st.integers(0, N_PRODUCTS - 1), st.sampled_from(WEIGHTS)), max_size=12)


def one_row(given: list[tuple[int, float]]) -> sp.csr_matrix:
    """A 1-row CSR with the cells as given: unsorted and repeated columns stay so."""
    cols = np.array([c for c, _ in given], dtype=np.int32)
    data = np.array([w for _, w in given], dtype=np.float32)
    return sp.csr_matrix((data, cols, np.array([0, len(given)])), shape=(1, N_PRODUCTS))


@pytest.fixture(scope="module", params=["cosine", "bm25"])
def itemknn(request: pytest.FixtureRequest) -> ItemKNNRecommender:
    return ItemKNNRecommender(similarity=request.param).fit(planted().train)


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(cells, min_size=1, max_size=3))
def test_scores_equal_the_sparse_product_exactly(
    itemknn: ItemKNNRecommender, rows: list[list[tuple[int, float]]]
) -> None:
    h = sp.vstack([one_row(r) for r in rows], format="csr")
    got = itemknn.score(h)
    expected = (h @ itemknn.similarity).toarray()
    np.testing.assert_array_equal(got, expected)
    assert not np.signbit(got[got == 0]).any()  # no -0.0 where the sparse product has 0
    assert got.shape == (len(rows), N_PRODUCTS) and got.dtype == np.float32
    products = list(range(N_PRODUCTS))
    for r in range(h.shape[0]):
        expected_reasons = [itemknn.explain(h[r], p, 2) for p in products]
        assert itemknn.explain_products(h[r], products, 2) == expected_reasons


def test_non_finite_weights_score_as_the_sparse_product(itemknn: ItemKNNRecommender) -> None:
    h = one_row([(0, float("inf")), (3, 1.0)])
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(itemknn.score(h), (h @ itemknn.similarity).toarray())


def test_the_dense_similarity_follows_a_new_similarity(itemknn: ItemKNNRecommender) -> None:
    before = itemknn.dense_similarity()
    assert before is not None and not before.flags.writeable
    old = itemknn.similarity
    try:
        itemknn.similarity = old * 2
        np.testing.assert_array_equal(itemknn.dense_similarity(), (old * 2).toarray())
        (reason,) = itemknn.explain(history((A,)), B, 1)
        assert reason.weight == pytest.approx(2 * old[A, B])
    finally:
        itemknn.similarity = old


def test_catalogs_past_the_dense_size_explain_from_the_sparse_similarity(
    itemknn: ItemKNNRecommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = history((A, B, D))
    products = list(range(N_PRODUCTS))
    dense = itemknn.explain_products(h, products, 2)
    monkeypatch.setattr(itemknn, "dense_similarity", lambda: None)
    assert itemknn.explain_products(h, products, 2) == dense
    np.testing.assert_array_equal(itemknn.score(h), (h @ itemknn.similarity).toarray())
