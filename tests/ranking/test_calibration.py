"""Calibration: isotonic and Platt fits, the reliability table and its ECE, the npz file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from recsys.ranking.calibration import (
    fit_calibrator,
    load_calibrators,
    reliability,
    save_calibrators,
)


def test_isotonic_pools_adjacent_violators() -> None:
    # outcomes 1, 0 at scores 1, 2 violate monotonicity: pooled to 0.5 over both
    c = fit_calibrator(np.array([0.0, 1.0, 2.0, 3.0]), np.array([0, 1, 0, 1]), "isotonic")
    assert c(np.array([0.0, 1.0, 2.0, 3.0])).tolist() == [0.0, 0.5, 0.5, 1.0]


def test_platt_recovers_a_known_sigmoid() -> None:
    rng = np.random.default_rng(0)
    s = rng.normal(size=40_000)
    y = rng.random(s.size) < 1 / (1 + np.exp(-(2.0 * s - 3.0)))
    c = fit_calibrator(s, y, "platt")
    assert c.x == pytest.approx([2.0, -3.0], abs=0.1)


@pytest.mark.parametrize(
    ("method", "truth"),
    [
        ("isotonic", lambda s: 0.3 * (1 - np.exp(-s))),  # any monotone curve
        ("platt", lambda s: 1 / (1 + np.exp(-(0.8 * s - 2)))),  # a sigmoid of the score
    ],
)
def test_calibrated_scores_have_a_small_ece_and_raw_ones_do_not(method: str, truth) -> None:
    rng = np.random.default_rng(1)
    s = rng.exponential(size=50_000)  # scores on no probability scale
    y = rng.random(s.size) < truth(s)
    c = fit_calibrator(s[::2], y[::2], method)
    assert reliability(c(s[1::2]), y[1::2]).ece < 0.01
    assert reliability(np.clip(s[1::2], 0, 1), y[1::2]).ece > 0.1


def test_never_shown_scores_get_probability_zero() -> None:
    c = fit_calibrator(np.array([0.0, 1.0]), np.array([0, 1]), "platt")
    assert c(np.array([-np.inf]))[0] == 0.0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        fit_calibrator(np.zeros(3), np.zeros(2), "isotonic")
    with pytest.raises(ValueError, match="method must be one of"):
        fit_calibrator(np.zeros(3), np.zeros(3), "spline")  # type: ignore[arg-type]


@given(
    scores=arrays(np.float64, 30, elements=st.floats(-5, 5)),
    bought=arrays(bool, 30),
    method=st.sampled_from(["isotonic", "platt"]),
)
def test_calibrators_are_monotone_probabilities(
    scores: np.ndarray, bought: np.ndarray, method: str
) -> None:
    c = fit_calibrator(scores, bought, method)  # type: ignore[arg-type]
    grid = np.linspace(-6, 6, 200)
    p = c(grid)
    assert ((p >= 0) & (p <= 1)).all()
    assert (np.diff(p) >= -1e-6).all()


def test_calibrators_round_trip_through_npz(tmp_path: Path) -> None:
    s, y = np.array([0.0, 1.0, 2.0, 3.0]), np.array([0, 0, 1, 1])
    saved = {"model": fit_calibrator(s, y, "isotonic"), "fallback": fit_calibrator(s, y, "platt")}
    save_calibrators(tmp_path / "c.npz", saved)
    loaded = load_calibrators(tmp_path / "c.npz")
    assert sorted(loaded) == ["fallback", "model"]
    for name, c in saved.items():
        assert loaded[name].method == c.method
        np.testing.assert_array_equal(loaded[name](s), c(s))
