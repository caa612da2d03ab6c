"""The blend: a weighted sum of standardised part scores, saved and loaded as one model."""

from pathlib import Path

import numpy as np
import pytest

from recsys.models import load_model
from recsys.models.blend import BlendRecommender, standardised
from recsys.models.registry import build_model

from .planted import planted, profiles

PARTS = [{"family": "popularity", "params": {}}, {"family": "itemknn", "params": {}}]


def test_a_blend_is_its_parts_standardised_and_weighted(tmp_path: Path) -> None:
    data = planted()
    blend = build_model("blend", {"parts": PARTS, "weights": [0.3, 0.7]}).fit(data.train)
    m = data.train.interactions.matrix[:6]
    feats = profiles(list(data.segments[:6]))
    pop, knn = blend.parts
    expected = 0.3 * standardised(pop.score(m, None, feats)) + 0.7 * standardised(knn.score(m))
    assert np.allclose(blend.score(m, None, feats), expected, atol=1e-5)
    assert not blend.needs_history  # popularity scores customers with no history
    blend.save(tmp_path / "blend")
    again = load_model(tmp_path / "blend")
    assert isinstance(again, BlendRecommender)
    assert np.array_equal(again.score(m, None, feats), blend.score(m, None, feats))
    # the heavier part explains
    assert again.explain(m[:1], 3, features=feats.head(1)) == knn.explain(m[:1], 3)


def test_bad_blends_are_refused() -> None:
    with pytest.raises(ValueError, match="2 parts but 1 weights"):
        build_model("blend", {"parts": PARTS, "weights": [1.0]})
    with pytest.raises(ValueError, match="not all 0"):
        build_model("blend", {"parts": PARTS, "weights": [0.0, 0.0]})
    with pytest.raises(ValueError, match="cannot hold a blend"):
        build_model("blend", {"parts": [{"family": "blend"}], "weights": [1.0]})


def test_standardised_rows_have_zero_mean_and_unit_spread() -> None:
    s = standardised(np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]))
    assert np.allclose(s.mean(axis=1), 0) and np.isclose(s[0].std(), 1) and (s[1] == 0).all()
