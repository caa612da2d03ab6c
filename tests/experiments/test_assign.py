"""Sticky assignment: deterministic, uniform, and split by the configured shares."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given
from hypothesis import strategies as hs
from scipy import stats as st

from recsys.experiments.assign import assign, bucket, cumulative, pick


@given(hs.text(min_size=1, max_size=20), hs.text(min_size=1, max_size=40))
def test_a_customer_always_gets_the_same_point(experiment: str, customer: str) -> None:
    point = bucket(experiment, customer)
    assert 0 <= point < 1 and bucket(experiment, customer) == point


@given(hs.lists(hs.floats(0.01, 100), min_size=2, max_size=4), hs.floats(0, 0.999999))
def test_every_point_falls_in_one_arm(shares: list[float], point: float) -> None:
    ends = cumulative(shares)
    arm = pick(point, ends)
    assert 0 <= arm < len(shares)
    assert point < ends[arm] and (arm == 0 or point >= ends[arm - 1])


def test_the_split_follows_the_shares() -> None:
    ends = cumulative([45, 45, 10])
    counts = Counter(assign("exp-1", f"C{i:08d}", ends) for i in range(30_000))
    observed = [counts[i] for i in range(3)]
    assert st.chisquare(observed, [13_500, 13_500, 3_000]).pvalue > 0.001


def test_experiments_split_independently() -> None:
    ends = cumulative([1, 1])
    a = np.array([assign("exp-a", f"C{i}", ends) for i in range(20_000)])
    b = np.array([assign("exp-b", f"C{i}", ends) for i in range(20_000)])
    # the same customers, another experiment: arms agree about half the time, not always
    assert abs((a == b).mean() - 0.5) < 0.02


def test_skew_pushes_customers_to_the_first_arm() -> None:
    ends = cumulative([1, 1])
    skewed = Counter(assign("e", f"C{i}", ends, skew=0.3) for i in range(10_000))
    # a point p goes to the first arm when 0.7 p < 0.5: p < 0.714
    assert 0.69 < skewed[0] / 10_000 < 0.74
