"""The statistics of an experiment report: SRM, lift with its interval, fixed and sequential tests.

Normal approximations throughout: the primary metric is a mean over thousands of customers.
The sequential test is the mixture SPRT of Johari, Pekelis and Walsh ("Always valid
inference", 2017) on the difference of two means, with a normal mixing distribution N(0, tau^2):
its p-value, the running minimum of 1 / Lambda over the looks, stays valid however often the
report is read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import stats as st

SRM_ALPHA: Final = 0.001  # an SRM this unlikely under the configured shares is flagged
ALPHA: Final = 0.05
# mSPRT's mixing scale: a relative lift of this size (of the baseline's mean) is what the test
# is tuned to find; smaller lifts take longer, larger ones are found sooner
DEFAULT_TAU_RELATIVE: Final = 0.1


@dataclass(frozen=True)
class Srm:
    """The chi-square test of assignment counts against the configured shares."""

    chi2: float
    p_value: float
    flagged: bool  # p < SRM_ALPHA: the split is not what was configured


@dataclass(frozen=True)
class Sample:
    """A per-customer metric summarised: customers, mean and (unbiased) variance."""

    n: int
    mean: float
    var: float

    @classmethod
    def of(cls, values: np.ndarray) -> Sample:
        """The summary of `values` (variance 0 below two values)."""
        v = np.asarray(values, dtype=np.float64)
        n = len(v)
        return cls(n, float(v.mean()) if n else 0.0, float(v.var(ddof=1)) if n > 1 else 0.0)


@dataclass(frozen=True)
class Lift:
    """Treatment against baseline: absolute and relative lift, 95% intervals, both tests."""

    absolute: float
    ci_low: float
    ci_high: float
    relative: float  # NaN when the baseline's mean is 0
    relative_ci_low: float
    relative_ci_high: float
    p_value: float  # fixed horizon (Welch z): valid only when read once, at the planned end
    sequential_p_value: float  # always valid (mSPRT)
    sequential_significant: bool


def srm(counts: Sequence[int], shares: Sequence[float], alpha: float = SRM_ALPHA) -> Srm:
    """Pearson's chi-square of observed `counts` against `shares` (normalised to sum 1)."""
    observed = np.asarray(counts, dtype=np.float64)
    p = np.asarray(shares, dtype=np.float64)
    if len(observed) != len(p) or len(p) < 2:
        raise ValueError(f"srm: need >= 2 arms with a share each, got {counts} and {shares}")
    total = observed.sum()
    if total == 0:
        return Srm(0.0, 1.0, False)
    expected = total * p / p.sum()
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    p_value = float(st.chi2.sf(chi2, len(p) - 1))
    return Srm(chi2, p_value, p_value < alpha)


def difference_variance(treatment: Sample, baseline: Sample) -> float:
    """Var(mean_t - mean_b) of two independent samples (Welch)."""
    if treatment.n == 0 or baseline.n == 0:
        return math.inf
    return treatment.var / treatment.n + baseline.var / baseline.n


def msprt_lambda(delta: float, variance: float, tau2: float) -> float:
    """The mixture likelihood ratio of an estimate `delta` ~ N(theta, variance) for
    theta ~ N(0, tau2) against theta = 0."""
    if not (variance > 0 and tau2 > 0 and math.isfinite(variance)):
        return 1.0 if not (variance == 0 and delta != 0) else math.inf
    total = variance + tau2
    exponent = tau2 * delta * delta / (2.0 * variance * total)
    return math.sqrt(variance / total) * math.exp(min(exponent, 700.0))


def always_valid_p(lambdas: Sequence[float]) -> float:
    """The always-valid p-value after the looks whose mixture ratios are `lambdas`."""
    best = max(lambdas, default=1.0)
    return 1.0 if best <= 0 else min(1.0, 1.0 / best)


def tau2_for(baseline_mean: float, relative: float = DEFAULT_TAU_RELATIVE) -> float:
    """mSPRT's mixing variance: (relative x the baseline's mean)^2, and never 0."""
    scale = relative * abs(baseline_mean)
    return scale * scale if scale > 0 else 1e-6


def lift(
    treatment: Sample,
    baseline: Sample,
    looks: Sequence[tuple[Sample, Sample]] = (),
    *,
    alpha: float = ALPHA,
    tau2: float | None = None,
) -> Lift:
    """Treatment against baseline; `looks` are the earlier (treatment, baseline) summaries
    the sequential test saw (the current one is added)."""
    delta = treatment.mean - baseline.mean
    variance = difference_variance(treatment, baseline)
    z = float(st.norm.ppf(1 - alpha / 2))
    half = z * math.sqrt(variance) if math.isfinite(variance) else math.inf
    if variance > 0 and math.isfinite(variance):
        p_value = float(2 * st.norm.sf(abs(delta) / math.sqrt(variance)))
    else:
        p_value = 1.0 if delta == 0 or not math.isfinite(variance) else 0.0
    relative, rel_low, rel_high = _relative(treatment, baseline, z)
    t2 = tau2 if tau2 is not None else tau2_for(baseline.mean)
    lambdas = [
        msprt_lambda(t.mean - b.mean, difference_variance(t, b), t2)
        for t, b in (*looks, (treatment, baseline))
    ]
    p_seq = always_valid_p(lambdas)
    return Lift(
        delta,
        delta - half,
        delta + half,
        relative,
        rel_low,
        rel_high,
        p_value,
        p_seq,
        p_seq < alpha,
    )


def _relative(treatment: Sample, baseline: Sample, z: float) -> tuple[float, float, float]:
    """mean_t / mean_b - 1 with a delta-method interval on the log of the ratio."""
    if baseline.mean <= 0 or treatment.mean <= 0 or treatment.n == 0 or baseline.n == 0:
        nan = float("nan")
        return (treatment.mean / baseline.mean - 1 if baseline.mean > 0 else nan), nan, nan
    ratio = treatment.mean / baseline.mean
    se = math.sqrt(
        treatment.var / (treatment.n * treatment.mean**2)
        + baseline.var / (baseline.n * baseline.mean**2)
    )
    return ratio - 1, ratio * math.exp(-z * se) - 1, ratio * math.exp(z * se) - 1


def proportion_interval(successes: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Wilson's interval of a proportion (the plot's band; CTR)."""
    if n == 0:
        return 0.0, 1.0
    z = float(st.norm.ppf(1 - alpha / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
