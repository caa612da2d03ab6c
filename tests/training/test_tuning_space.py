"""Search spaces: only real config fields, values inside the configs' bounds, conditions."""

from __future__ import annotations

import optuna
import pytest

from recsys.models.registry import model_class
from training.config import FAMILIES
from training.tuning_space import (
    SPACES,
    Choice,
    FloatRange,
    check_space,
    free_params,
    suggest_params,
)

# a blend's parts and weights are what `train --model auto` tunes; no space searches them
TUNABLE = tuple(f for f in FAMILIES if f != "blend")


def test_every_family_but_the_blend_has_a_space() -> None:
    assert set(SPACES) == set(TUNABLE)
    with pytest.raises(ValueError, match="no search space for model family 'blend'"):
        check_space("blend")


@pytest.mark.parametrize("family", TUNABLE)
def test_every_family_has_a_space_of_real_config_fields(family: str) -> None:
    fields = model_class(family).Config.model_fields
    assert {p.name for p in SPACES[family]} <= set(fields)
    check_space(family)  # the extreme values validate against the config's bounds


def test_check_space_refuses_unknown_fields_and_out_of_bounds_ranges(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(SPACES, "als", (FloatRange("learning_rate", 0.01, 0.1),))
    with pytest.raises(ValueError, match=r"unknown config fields \['learning_rate'\]"):
        check_space("als")
    # ALS regularization must be > 0; a range starting at 0 would make trials fail
    monkeypatch.setitem(SPACES, "als", (FloatRange("regularization", 0.0, 1.0),))
    with pytest.raises(ValueError, match="regularization"):
        check_space("als")
    monkeypatch.setitem(SPACES, "itemknn", (Choice("similarity", ("cosine", "jaccard")),))
    with pytest.raises(ValueError, match="similarity"):
        check_space("itemknn")


def test_bm25_knobs_are_only_sampled_for_bm25() -> None:
    cosine = suggest_params(
        optuna.trial.FixedTrial({"similarity": "cosine", "neighbours": 10}), "itemknn"
    )
    assert cosine == {"similarity": "cosine", "neighbours": 10}
    bm25 = optuna.trial.FixedTrial(
        {"similarity": "bm25", "neighbours": 7, "bm25_k1": 2.0, "bm25_b": 0.5}
    )
    assert suggest_params(bm25, "itemknn") == {
        "similarity": "bm25",
        "neighbours": 7,
        "bm25_k1": 2.0,
        "bm25_b": 0.5,
    }


@pytest.mark.parametrize("family", TUNABLE)
def test_config_defaults_lie_inside_the_space(family: str) -> None:
    fields = model_class(family).Config.model_fields
    for param in SPACES[family]:
        default = fields[param.name].default
        if default is None:  # itemknn neighbours: None = every product, not a number
            continue
        if isinstance(param, Choice):
            assert default in param.choices, (family, param.name)
        else:
            assert param.low <= default <= param.high, (family, param.name)


def test_unknown_family_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"no search space for model family 'svd'.*'als'"):
        check_space("svd")


def test_fixed_params_are_kept_and_steer_conditions() -> None:
    fixed = {"similarity": "bm25", "num_threads": 1}
    trial = optuna.trial.FixedTrial({"neighbours": 9, "bm25_k1": 1.5, "bm25_b": 0.25})
    assert suggest_params(trial, "itemknn", fixed) == {
        "similarity": "bm25",
        "num_threads": 1,
        "neighbours": 9,
        "bm25_k1": 1.5,
        "bm25_b": 0.25,
    }
    assert free_params("itemknn", fixed) == ["neighbours", "bm25_k1", "bm25_b"]
