"""The contract every Recommender meets; each model's test file subclasses it with its factory.

Subclasses implement `make_model` (tiny, fast settings) and `test_known_answer`; the flags
below say which generic checks apply.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.models import Recommender, load_model
from recsys.models.reason import ReasonCode

from .planted import (
    CC,
    N_PRODUCTS,
    SENIOR,
    YOUNG,
    A,
    B,
    D,
    E,
    F,
    Planted,
    history,
    planted,
    profiles,
)


class RecommenderContract:
    """Generic checks; subclass and implement `make_model`."""

    uses_history: bool = True  # scores react to the history (fold-in)
    explains_co_held: bool = True  # explain() names held products

    def make_model(self) -> Recommender:
        raise NotImplementedError

    # --- fixtures (fit once per test class) ------------------------------------------------
    @pytest.fixture(scope="class")
    def data(self) -> Planted:
        return planted()

    @pytest.fixture(scope="class")
    def model(self, data: Planted) -> Recommender:
        return self.make_model().fit(data.train)

    @pytest.fixture(scope="class")
    def batch(self, data: Planted):
        """A mixed batch: training rows, the planted queries and an empty history."""
        m = data.train.interactions.matrix
        rows = [0, 30, 47, 50, 79]
        hist = sp.vstack([m[rows], history((A, B), (D, E), ())], format="csr")
        segs = [*data.segments[rows], YOUNG, SENIOR, SENIOR]
        return hist, np.array([*rows, -1, -1, -1]), profiles(segs)

    # --- shapes and masks ------------------------------------------------------------------
    def test_score_shape_dtype_finite(self, model: Recommender, batch) -> None:
        hist, rows, feats = batch
        scores = model.score(hist, rows, feats)
        assert scores.shape == (hist.shape[0], N_PRODUCTS)
        assert scores.dtype == np.float32
        assert np.isfinite(scores).all()

    def test_recommend_shapes_and_padding(self, model: Recommender, batch) -> None:
        hist, rows, feats = batch
        ids, scores = model.recommend(hist, N_PRODUCTS + 3, None, rows, feats)
        assert ids.shape == scores.shape == (hist.shape[0], N_PRODUCTS + 3)
        assert ids.dtype == np.int32 and scores.dtype == np.float32
        assert (np.sort(ids[:, :N_PRODUCTS], axis=1) == np.arange(N_PRODUCTS)).all()
        assert (ids[:, N_PRODUCTS:] == -1).all() and np.isneginf(scores[:, N_PRODUCTS:]).all()
        assert (np.diff(scores[:, :N_PRODUCTS], axis=1) <= 0).all()

    def test_held_products_excluded_by_allowed_mask(self, model: Recommender, batch) -> None:
        hist, rows, feats = batch
        held = hist.toarray() > 0
        ids, scores = model.recommend(hist, N_PRODUCTS, ~held, rows, feats)
        for r in range(hist.shape[0]):
            got = ids[r][ids[r] >= 0]
            assert not held[r, got].any()
            assert len(got) == N_PRODUCTS - held[r].sum()

    # --- persistence, config, determinism --------------------------------------------------
    def test_save_load_gives_identical_topk(
        self, model: Recommender, batch, tmp_path: Path
    ) -> None:
        hist, rows, feats = batch
        model.save(tmp_path / "m")
        assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["arrays.npz", "model.json"]
        loaded = load_model(tmp_path / "m")
        assert type(loaded) is type(model) and loaded.get_config() == model.get_config()
        np.testing.assert_array_equal(
            loaded.score(hist, rows, feats), model.score(hist, rows, feats)
        )
        for a, b in zip(
            loaded.recommend(hist, 5, None, rows, feats),
            model.recommend(hist, 5, None, rows, feats),
            strict=True,
        ):
            np.testing.assert_array_equal(a, b)

    def test_batch_equals_single_rows(self, model: Recommender, batch) -> None:
        # one implementation for one row and many: a row's scores are the same floats
        # alone and in a batch, so its ranking cannot change with who else is scored
        hist, rows, feats = batch
        scores = model.score(hist, rows, feats)
        ids, top = model.recommend(hist, 5, None, rows, feats)
        for r in range(hist.shape[0]):
            alone = (hist[r], rows[r : r + 1], feats[r : r + 1])
            np.testing.assert_array_equal(model.score(*alone)[0], scores[r])
            one_ids, one_top = model.recommend(alone[0], 5, None, *alone[1:])
            np.testing.assert_array_equal(one_ids[0], ids[r])
            np.testing.assert_array_equal(one_top[0], top[r])

    def test_deterministic_fit(self, model: Recommender, data: Planted, batch) -> None:
        hist, rows, feats = batch
        again = type(model).from_config(model.get_config()).fit(data.train)
        np.testing.assert_array_equal(
            again.score(hist, rows, feats), model.score(hist, rows, feats)
        )

    def test_config_round_trip_and_flat_params(self, model: Recommender) -> None:
        cfg = model.get_config()
        assert type(model).from_config(cfg).get_config() == cfg
        assert type(model).from_config(cfg.model_dump()).get_config() == cfg
        params = model.get_params()
        assert params["family"] == model.family
        assert all(v is None or isinstance(v, str | int | float | bool) for v in params.values())

    # --- known answers, fold-in, explanations ----------------------------------------------
    def test_known_answer(self, model: Recommender) -> None:
        raise NotImplementedError("each model states its planted answer")

    def test_new_purchase_changes_scores_without_refit(self, model: Recommender) -> None:
        if not self.uses_history:
            pytest.skip("this model scores by profile/popularity, not history")
        before = model.score(history((A,)), None, profiles([YOUNG]))
        after = model.score(history((A, D)), None, profiles([YOUNG]))
        assert not np.allclose(before, after)
        # the new purchase pulls its own group up: E and F gain on B and C
        assert (after[0, [E, F]] - before[0, [E, F]]).min() > (
            after[0, [B, CC]] - before[0, [B, CC]]
        ).max()

    def test_explain(self, model: Recommender) -> None:
        hist = history((A, B))
        reasons = model.explain(hist, CC, k_reasons=2, features=profiles([YOUNG]))
        assert 1 <= len(reasons) <= 2
        assert all(r.text and r.code for r in reasons)
        if self.explains_co_held:
            assert reasons[0].code == ReasonCode.co_held
            assert set(reasons[0].related_products) <= {A, B}
            assert "often add" in reasons[0].render(lambda p: f"product {p}")

    def test_explain_cites_only_citable_products_never_the_product(
        self, model: Recommender, batch
    ) -> None:
        # what the request path passes: the products the customer's facts support
        hist, _, feats = batch
        products = list(range(N_PRODUCTS))
        rng = np.random.default_rng(0)
        for r in range(hist.shape[0]):
            citable = rng.random(N_PRODUCTS) < 0.5
            found = model.explain_products(
                hist[r], products, 3, features=feats[r : r + 1], citable=citable
            )
            for p, reasons in zip(products, found, strict=True):
                cited = {q for reason in reasons for q in reason.related_products}
                assert p not in cited and all(citable[q] for q in cited), (r, p, reasons)
        with pytest.raises(ValueError, match="citable"):
            model.explain_products(hist[0], [0], features=feats[:1], citable=np.ones(2, bool))

    def test_explain_products_equals_explain(self, model: Recommender, batch) -> None:
        # what a request asks: several products of one customer at once, same reasons
        hist, _, feats = batch
        products = list(range(N_PRODUCTS))
        for r in range(hist.shape[0]):
            row, f = hist[r], feats[r : r + 1]
            for k in (1, 3):
                expected = [model.explain(row, p, k, features=f) for p in products]
                assert model.explain_products(row, products, k, features=f) == expected
        with pytest.raises(ValueError, match="product must be"):
            model.explain_products(hist[0], [0, N_PRODUCTS], features=feats[:1])
        with pytest.raises(ValueError, match="k_reasons"):
            model.explain_products(hist[0], [0], 0, features=feats[:1])

    def test_a_model_that_uses_no_features_needs_none(self, model: Recommender, batch) -> None:
        if model.uses_features:
            pytest.skip("this model reads the features frame")
        hist, rows, feats = batch
        np.testing.assert_array_equal(model.score(hist, rows, None), model.score(hist, rows, feats))
        products = list(range(N_PRODUCTS))
        assert model.explain_products(hist[0], products, 2) == model.explain_products(
            hist[0], products, 2, features=feats[:1]
        )

    def test_dense_rows_score_and_explain_as_csr(self, model: Recommender) -> None:
        hist = history((A,), (B, D), (), (A, B, E))
        feats = profiles([YOUNG, SENIOR, YOUNG, SENIOR])
        dense = hist.toarray()
        np.testing.assert_array_equal(
            model.score(dense, None, feats), model.score(hist, None, feats)
        )
        for row in range(hist.shape[0]):
            assert model.explain_products(
                dense[row : row + 1], [A, D, F], 2, features=feats[row : row + 1]
            ) == model.explain_products(hist[row], [A, D, F], 2, features=feats[row : row + 1])

    def test_feature_codes_score_and_explain_as_the_frame(self, model: Recommender) -> None:
        hist = history((A,), (B, D), (), (A, B, E))
        feats = profiles([YOUNG, SENIOR, YOUNG, SENIOR])
        codes = model.encode_features(feats)
        if codes is None:
            pytest.skip("this model reads the features frame itself")
        assert len(codes) == feats.height
        np.testing.assert_array_equal(
            model.score(hist, None, codes), model.score(hist, None, feats)
        )
        for row in range(hist.shape[0]):
            assert model.explain_products(
                hist[row], [A, D, F], 2, features=codes[row : row + 1]
            ) == model.explain_products(hist[row], [A, D, F], 2, features=feats[row : row + 1])

    # --- bad input -------------------------------------------------------------------------
    def test_unfitted_model_raises(self) -> None:
        with pytest.raises(RuntimeError, match="not fitted"):
            self.make_model().score(history((A,)))

    def test_bad_inputs_raise(self, model: Recommender) -> None:
        feats = profiles([YOUNG])
        with pytest.raises(ValueError, match="product columns"):
            model.score(sp.csr_matrix((1, N_PRODUCTS + 1), dtype=np.float32), None, feats)
        with pytest.raises(TypeError, match="CSR"):
            model.score(history((A,)).toarray().tolist(), None, feats)
        with pytest.raises(TypeError, match="2-d"):
            model.score(history((A,)).toarray()[0], None, feats)
        with pytest.raises(ValueError, match="features has 2 rows"):
            model.score(history((A,)), None, profiles([YOUNG, SENIOR]))
        with pytest.raises(ValueError, match="allowed"):
            model.recommend(history((A,)), 3, np.ones((1, 3), dtype=bool), None, feats)
        with pytest.raises(ValueError, match="product must be"):
            model.explain(history((A,)), N_PRODUCTS, features=feats)


def first_allowed(model: Recommender, hist: sp.csr_matrix, feats=None) -> np.ndarray:
    """Top-1 product per row among products not in the history."""
    ids, _ = model.recommend(hist, 1, hist.toarray() == 0, None, feats)
    return ids[:, 0]
