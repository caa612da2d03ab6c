"""Vectorised inverse-CDF sampling: zero weights never chosen, frequencies follow weights."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.data.generate.sampling import sample_rows, sample_table, table_cdf


def test_sample_rows_follows_weights_and_skips_zeros() -> None:
    rng = np.random.default_rng(0)
    weights = np.tile(np.array([0.0, 1.0, 0.0, 3.0, 0.0], np.float32), (40_000, 1))
    chosen = sample_rows(rng, weights)
    assert set(np.unique(chosen)) == {1, 3}
    assert abs((chosen == 3).mean() - 0.75) < 0.01


def test_sample_rows_returns_minus_one_for_empty_rows() -> None:
    weights = np.array([[0.0, 0.0], [0.0, 2.0]], np.float32)
    assert sample_rows(np.random.default_rng(1), weights).tolist() == [-1, 1]


def test_sample_table_uses_each_elements_row_and_never_a_trailing_zero() -> None:
    cdf = table_cdf(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]))
    groups = np.repeat(np.array([0, 1]), 20_000)
    drawn = sample_table(np.random.default_rng(2), cdf, groups)
    assert set(drawn[:20_000]) == {0}
    assert set(drawn[20_000:]) == {1, 2}
    assert abs((drawn[20_000:] == 2).mean() - 0.5) < 0.02


def test_table_cdf_rejects_a_row_without_weight() -> None:
    with pytest.raises(ValueError, match="positive weight"):
        table_cdf(np.array([[1.0, 0.0], [0.0, 0.0]]))
