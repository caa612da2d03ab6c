"""LightFM hybrid: the contract, cold start by profile, numpy scoring equals lightfm's."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.models.lightfm_model import LightFMRecommender, fit_lightfm
from recsys.models.reason import ReasonCode

from .contract import RecommenderContract, first_allowed
from .planted import CC, GROUP1, GROUP2, N_PRODUCTS, SENIOR, YOUNG, A, B, history, planted, profiles


class TestLightFM(RecommenderContract):
    explains_co_held = False  # the profile may outweigh the holdings; checked below

    def make_model(self) -> LightFMRecommender:
        return LightFMRecommender(no_components=4, epochs=15, seed=3)

    def test_known_answer(self, model: LightFMRecommender) -> None:
        # cold start: no history, only a profile; the planted data depends on the profile
        top = first_allowed(model, history((), ()), profiles([YOUNG, SENIOR]))
        assert top[0] in GROUP1 and top[1] in GROUP2

    def test_explain_names_profile_and_holdings(self, model: LightFMRecommender) -> None:
        reasons = model.explain(history((A, B)), CC, k_reasons=5, features=profiles([YOUNG]))
        codes = {r.code for r in reasons}
        assert codes == {ReasonCode.similar_profile, ReasonCode.co_held}
        assert any("segment young" in r.text for r in reasons)
        assert {p for r in reasons for p in r.related_products} <= {A, B}
        weights = [r.weight for r in reasons]
        assert weights == sorted(weights, reverse=True)

    def test_score_needs_profiles(self, model: LightFMRecommender) -> None:
        with pytest.raises(ValueError, match="features"):
            model.score(history(()))


def test_without_history_features_history_is_ignored() -> None:
    model = LightFMRecommender(no_components=4, epochs=3, history_features=False)
    model.fit(planted().train)
    scores = model.score(history((A,), (A, B, CC)), None, profiles([YOUNG, YOUNG]))
    np.testing.assert_array_equal(scores[0], scores[1])


def test_numpy_scores_equal_lightfm_predict() -> None:
    """Scoring from the kept arrays reproduces lightfm's own predict (same seed, same fit)."""
    data = planted()
    model = LightFMRecommender(no_components=4, epochs=3, seed=1, user_identity=True)
    model.fit(data.train)
    matrix, n = data.train.interactions.matrix, data.holds.shape[0]
    users = model.user_features(data.train.customer_features, matrix, np.arange(n))
    oracle = fit_lightfm(model.config, matrix, users, model._item_matrix(data.train))
    rows = np.arange(5)
    expected = oracle.predict(
        np.repeat(rows, N_PRODUCTS),
        np.tile(np.arange(N_PRODUCTS), 5),
        user_features=users,
        item_features=model._item_matrix(data.train),
    ).reshape(5, N_PRODUCTS)
    ours = model.score(matrix[rows], rows, data.train.customer_features[:5])
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5)


def test_unknown_customer_row_with_identity_is_rejected() -> None:
    data = planted()
    model = LightFMRecommender(no_components=2, epochs=1, user_identity=True).fit(data.train)
    with pytest.raises(ValueError, match="beyond"):
        model.score(history(()), np.array([10_000]), profiles([YOUNG]))
