"""The gate: paired bootstrap over customers against the champion and the strongest baseline."""

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.columns import Columns as C
from recsys.evaluation.bootstrap import paired_difference
from training.promotion import Opponent, gate_verdict

M = "ndcg_at_5"


def frame(values, ids=None) -> pl.DataFrame:
    ids = ids if ids is not None else [f"c{i:05d}" for i in range(len(values))]
    return pl.DataFrame({C.customer_id: ids, M: np.asarray(values, dtype=np.float64)})


def noisy(mean: float, n: int, seed: int) -> np.ndarray:
    return np.clip(np.random.default_rng(seed).normal(mean, 0.3, n), 0, 1)


def test_first_model_is_promoted_when_there_is_no_champion():
    d = gate_verdict(frame([0.1, 0.2]), metric=M, margin=0.01)
    assert d.promote and "no current champion" in d.reason


def test_equal_model_is_refused_and_the_interval_is_in_the_reason():
    same = frame(noisy(0.3, 500, 0))
    d = gate_verdict(same, metric=M, margin=0.0, champion=Opponent("champion version 1", same))
    assert not d.promote and "does not surely beat" in d.reason
    assert "95% interval" in d.reason and "500 customers" in d.reason


def test_a_big_gain_on_many_customers_is_promoted_a_small_holdout_is_not():
    base = np.full(5000, 0.3)
    better = base + np.random.default_rng(2).normal(0.02, 0.2, 5000)
    champ = Opponent("champion version 1", frame(base))
    assert gate_verdict(frame(better), metric=M, margin=0.01, champion=champ).promote
    # the same gain on 60 customers is within the noise: the lower bound is below the margin
    small = gate_verdict(
        frame(better[:60]), metric=M, margin=0.01, champion=Opponent("c", frame(base[:60]))
    )
    assert not small.promote
    assert small.against_champion is not None and small.against_champion.low < 0.003


def test_customers_are_paired_by_id_not_by_position():
    cand = frame([1.0, 0.0, 1.0], ids=["a", "b", "c"])
    champ = frame([0.0, 1.0, 1.0], ids=["b", "a", "c"])  # the same figures, shuffled rows
    d = gate_verdict(cand, metric=M, margin=0.0, champion=Opponent("champion", champ))
    assert d.against_champion is not None and d.against_champion.mean == 0.0


def test_a_model_below_the_strongest_baseline_is_refused_even_with_no_champion():
    base = Opponent("transition_table", frame(noisy(0.4, 300, 3)))
    d = gate_verdict(frame(noisy(0.3, 300, 4)), metric=M, margin=0.01, baseline=base)
    assert not d.promote
    assert "strongest baseline transition_table" in d.reason and "interval" in d.reason
    same = gate_verdict(base.values, metric=M, margin=0.01, baseline=base)
    assert same.promote and "ranks as the strongest baseline" in same.reason


def test_candidate_without_the_metric_or_all_nan_is_refused():
    assert not gate_verdict(pl.DataFrame({C.customer_id: ["a"]}), metric=M, margin=0.0).promote
    assert not gate_verdict(frame([math.nan]), metric=M, margin=0.0).promote


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=40), st.floats(-0.5, 0.5))
def test_the_interval_holds_the_mean_and_shifts_with_it(values, shift):
    a = np.asarray(values)
    d = paired_difference(a + shift, a, resamples=200)
    assert d.low <= d.mean <= d.high
    assert d.mean == pytest.approx(shift, abs=1e-9)
