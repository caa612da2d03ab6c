"""BPR: the contract (fold-in by least-squares projection)."""

from __future__ import annotations

from recsys.models.bpr import BPRRecommender

from .contract import RecommenderContract, first_allowed
from .planted import CC, A, B, D, E, F, history


class TestBPR(RecommenderContract):
    def make_model(self) -> BPRRecommender:
        return BPRRecommender(factors=4, iterations=60, learning_rate=0.05, seed=3)

    def test_known_answer(self, model: BPRRecommender) -> None:
        assert first_allowed(model, history((A, B), (D, E))).tolist() == [CC, F]
