"""Popularity: the contract, with global and per-segment known answers."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.models import TrainData
from recsys.models.popularity import PopularityRecommender
from recsys.models.reason import ReasonCode

from .contract import RecommenderContract, first_allowed
from .planted import CC, SENIOR, YOUNG, F, history, planted, profiles


class TestPopularity(RecommenderContract):
    uses_history = False
    explains_co_held = False

    def make_model(self) -> PopularityRecommender:
        return PopularityRecommender(shrinkage=5.0)

    def test_known_answer(self, model: PopularityRecommender) -> None:
        empty = history((), (), ())
        # C is held by the most customers overall, F by every senior customer
        segments = profiles([YOUNG, SENIOR, "unknown"])
        assert first_allowed(model, empty, segments).tolist() == [CC, F, CC]
        assert first_allowed(model, history(()), None).tolist() == [CC]

    def test_segment_rates_shrink_towards_global(self, model: PopularityRecommender) -> None:
        seniors = model.score(history(()), None, profiles([SENIOR]))[0]
        assert model.global_rate[F] < seniors[F] < 1.0

    def test_explain_names_the_segment(self, model: PopularityRecommender) -> None:
        (reason,) = model.explain(history(()), F, features=profiles([SENIOR]))
        assert reason.code == ReasonCode.popular_segment and SENIOR in reason.text
        (reason,) = model.explain(history(()), F)
        assert reason.code == ReasonCode.popular


def test_global_only_ignores_segments() -> None:
    model = PopularityRecommender(by_segment=False).fit(planted().train)
    scores = model.score(history((), ()), None, profiles([YOUNG, SENIOR]))
    np.testing.assert_array_equal(scores[0], scores[1])


def test_by_segment_without_profiles_is_a_clear_error() -> None:
    data = planted().train
    with pytest.raises(ValueError, match="segment"):
        PopularityRecommender().fit(TrainData(data.interactions))
