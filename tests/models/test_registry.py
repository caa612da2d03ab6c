"""Registry: every family builds, fits and loads back by name; bad folders are clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recsys.models import FAMILIES, build_model, load_model, model_class
from recsys.models.popularity import PopularityRecommender

from .planted import planted


def test_families_are_the_eight_models() -> None:
    assert sorted(FAMILIES) == [
        "als",
        "blend",
        "bpr",
        "itemknn",
        "lightfm",
        "popularity",
        "sequence",
        "transition",
    ]
    assert all(cls.family == name for name, cls in FAMILIES.items())


def test_build_model_validates_params() -> None:
    assert build_model("als", {"factors": 3}).get_config().factors == 3
    with pytest.raises(ValueError, match="factors"):
        build_model("als", {"factors": 0})
    with pytest.raises(ValueError, match="extra|not permitted"):
        build_model("als", {"n_factors": 3})


def test_unknown_family_lists_known_ones() -> None:
    with pytest.raises(ValueError, match="known: .*'als'"):
        model_class("svd")


def test_load_checks_family_and_format(tmp_path: Path) -> None:
    PopularityRecommender().fit(planted().train).save(tmp_path / "pop")
    with pytest.raises(ValueError, match="holds a 'popularity' model"):
        model_class("als").load(tmp_path / "pop")
    doc = json.loads((tmp_path / "pop" / "model.json").read_text())
    doc["format_version"] = 99
    (tmp_path / "pop" / "model.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="version 99"):
        load_model(tmp_path / "pop")
    with pytest.raises(FileNotFoundError, match="no model file"):
        load_model(tmp_path / "nothing")


def test_save_unfitted_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        PopularityRecommender().save(tmp_path / "x")
