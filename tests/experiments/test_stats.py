"""The report's statistics against scipy's and closed-form values, and the sequential test's
promise: under no difference, reading the report at every look rejects at most alpha."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from recsys.experiments import stats


def test_srm_is_pearsons_chi_square() -> None:
    counts, shares = [5210, 4790], [0.5, 0.5]
    expected = st.chisquare(counts, [5000, 5000])
    got = stats.srm(counts, shares)
    assert got.chi2 == pytest.approx(expected.statistic)
    assert got.p_value == pytest.approx(expected.pvalue)
    assert got.flagged  # p = 2.7e-5


def test_srm_with_three_arms_and_shares_not_summing_to_one() -> None:
    counts = [452, 447, 101]
    got = stats.srm(counts, [45, 45, 10])
    expected = st.chisquare(counts, [450, 450, 100])
    assert got.p_value == pytest.approx(expected.pvalue) and not got.flagged


def test_fixed_horizon_lift_matches_welch_and_its_interval() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.poisson(0.27, 4000).astype(float), rng.poisson(0.25, 5000).astype(float)
    got = stats.lift(stats.Sample.of(a), stats.Sample.of(b))
    welch = st.ttest_ind(a, b, equal_var=False)
    assert got.absolute == pytest.approx(a.mean() - b.mean())
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    assert got.absolute / se == pytest.approx(welch.statistic)
    # normal (z) against Student's t at ~8000 degrees of freedom
    assert got.p_value == pytest.approx(welch.pvalue, rel=5e-3)
    assert got.ci_low == pytest.approx(got.absolute - 1.959964 * se)
    assert got.ci_high == pytest.approx(got.absolute + 1.959964 * se)
    assert got.relative == pytest.approx(a.mean() / b.mean() - 1)
    assert got.relative_ci_low < got.relative < got.relative_ci_high


def test_msprt_lambda_closed_form() -> None:
    # V = 1, tau^2 = 1, delta = 2: sqrt(1/2) * exp(1 * 4 / (2 * 1 * 2)) = e / sqrt(2)
    assert stats.msprt_lambda(2.0, 1.0, 1.0) == pytest.approx(math.e / math.sqrt(2))
    assert stats.msprt_lambda(0.0, 1.0, 1.0) == pytest.approx(math.sqrt(0.5))
    assert stats.always_valid_p([0.5, 4.0, 2.0]) == pytest.approx(0.25)  # the best look's


def test_a_large_true_lift_is_significant_under_both_tests() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.poisson(0.40, 10_000).astype(float), rng.poisson(0.30, 10_000).astype(float)
    got = stats.lift(stats.Sample.of(a), stats.Sample.of(b))
    assert got.p_value < 1e-6 and got.sequential_significant and got.ci_low > 0


def test_the_sequential_test_stays_valid_when_read_at_every_look() -> None:
    # 400 A/A experiments, each read 50 times as customers arrive: the always-valid p rejects
    # at most alpha of them; the fixed-horizon p read at every look rejects far more
    rng = np.random.default_rng(0)
    runs, looks, per_look = 400, 50, 200
    sequential = peeking = 0
    for _ in range(runs):
        a = rng.poisson(0.3, looks * per_look).astype(float)
        b = rng.poisson(0.3, looks * per_look).astype(float)
        history: list[tuple[stats.Sample, stats.Sample]] = []
        fixed_rejected = False
        for k in range(1, looks + 1):
            sa, sb = stats.Sample.of(a[: k * per_look]), stats.Sample.of(b[: k * per_look])
            got = stats.lift(sa, sb, history)
            history.append((sa, sb))
            fixed_rejected |= got.p_value < 0.05
        sequential += got.sequential_significant
        peeking += fixed_rejected
    assert sequential / runs <= 0.05
    assert peeking / runs > 0.15  # why the sequential test is there


def test_wilson_interval() -> None:
    low, high = stats.proportion_interval(30, 100)
    assert (low, high) == pytest.approx((0.2189, 0.3958), abs=1e-4)
