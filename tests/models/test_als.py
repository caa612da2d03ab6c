"""ALS: the contract, plus fold-in behaviour and defaults."""

from __future__ import annotations

import numpy as np

from recsys.models.als import ALSRecommender

from .contract import RecommenderContract, first_allowed
from .planted import CC, A, B, D, E, F, history


class TestALS(RecommenderContract):
    def make_model(self) -> ALSRecommender:
        return ALSRecommender(factors=4, regularization=0.1, alpha=5.0, iterations=8, seed=3)

    def test_known_answer(self, model: ALSRecommender) -> None:
        assert first_allowed(model, history((A, B), (D, E))).tolist() == [CC, F]

    def test_empty_history_scores_zero(self, model: ALSRecommender) -> None:
        np.testing.assert_array_equal(model.score(history(())), 0.0)

    def test_user_factors_fold_in_current_history(self, model: ALSRecommender) -> None:
        x = model.user_factors(history((A, B), (A, B, D)))
        assert x.shape == (2, 4) and not np.allclose(x[0], x[1])
