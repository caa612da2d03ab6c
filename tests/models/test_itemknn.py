"""Item-kNN: the contract for every similarity, plus the score = history @ S identity."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.models.itemknn import ItemKNNRecommender

from .contract import RecommenderContract, first_allowed
from .planted import CC, A, B, D, E, F, history


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
    from .planted import planted

    model = ItemKNNRecommender(neighbours=2).fit(planted().train)
    assert (np.diff(model.similarity.indptr) <= 2).all()


def test_config_rejects_unknown_similarity() -> None:
    with pytest.raises(ValueError, match="similarity"):
        ItemKNNRecommender(similarity="jaccard")
