"""Exploration's pure parts: posteriors from counts, leaving exploration, placing slots."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys.exploration.posterior import Counts, posterior, prior_means
from recsys.exploration.slots import place_explored, slots_per_row
from recsys.offers.arbitrate import NO_OFFER
from recsys.rules import PAD_ID
from recsys.settings import ExplorationConfig


def counts(impressions, purchases) -> Counts:
    imp = np.asarray(impressions, np.int64)
    return Counts(imp, np.zeros_like(imp), np.asarray(purchases, np.int64))


def test_prior_means_follow_the_cold_start_prior() -> None:
    means = prior_means(np.array([1.0, 2.0, 3.0]), base_rate=0.02)
    assert means.tolist() == pytest.approx([0.01, 0.02, 0.03])


def test_purchases_move_the_posterior_and_tight_or_shown_enough_leaves() -> None:
    means = np.full(3, 0.02)
    new = np.array([True, True, False])
    post = posterior(
        means, counts([100, 100, 0], [10, 0, 0]), new, strength=50, max_impressions=5000, tight=0.1
    )
    assert post.mean[0] > 0.02 > post.mean[1]
    assert post.exploring.tolist() == [True, True, False]  # the third is not new
    shown = posterior(
        means, counts([5000, 10, 0], [100, 0, 0]), new, strength=50, max_impressions=5000, tight=0.1
    )
    assert shown.exploring.tolist() == [False, True, False]
    tight = posterior(
        means, counts([4000, 0, 0], [800, 0, 0]), new, strength=50, max_impressions=5000, tight=0.1
    )
    assert not tight.exploring[0]  # sd well under a tenth of a 20% mean


def test_slots_per_row_average_share_times_k() -> None:
    rng = np.random.default_rng(0)
    assert slots_per_row(0.1, 5, 20_000, rng).mean() == pytest.approx(0.5, abs=0.02)
    assert slots_per_row(0.1, 10, 3, rng).tolist() == [1, 1, 1]
    assert slots_per_row(0.0, 1, 3, rng).tolist() == [0, 0, 0]


def test_atm_gets_no_exploration_and_nothing_explores_unless_enabled() -> None:
    on = ExplorationConfig(enabled=True)
    assert on.share_for("atm") == 0 and on.share_for("mobile") == 0.1
    assert ExplorationConfig().share_for("mobile") == 0


@st.composite
def answers(draw):
    b, n, k = draw(st.integers(1, 4)), draw(st.integers(2, 10)), draw(st.integers(1, 6))
    ids = np.full((b, k), PAD_ID, np.int32)
    for r in range(b):
        m = draw(st.integers(0, min(k, n)))
        ids[r, :m] = draw(st.permutations(range(n)))[:m]
    offer = np.where(
        (ids != PAD_ID)
        & np.array(draw(st.lists(st.booleans(), min_size=b * k, max_size=b * k))).reshape(b, k),
        0,
        NO_OFFER,
    ).astype(np.int32)
    cand = np.array(draw(st.lists(st.booleans(), min_size=b * n, max_size=b * n))).reshape(b, n)
    slots = np.array(draw(st.lists(st.integers(0, 3), min_size=b, max_size=b)))
    draws = np.random.default_rng(draw(st.integers(0, 9))).random((b, n))
    return ids, offer, cand, slots, draws


@given(case=answers())
def test_placed_slots_are_candidates_distinct_and_leave_offers_alone(case) -> None:
    ids, offer, cand, slots, draws = case
    scores = np.where(ids != PAD_ID, -np.arange(ids.shape[1], dtype=np.float32), -np.inf)
    out = place_explored(ids, scores.astype(np.float32), offer, cand, draws, slots)
    for r in range(len(ids)):
        placed = out.ids[r][out.explored[r]]
        assert cand[r, placed].all()
        real = out.ids[r][out.ids[r] != PAD_ID]
        assert len(set(real.tolist())) == len(real)
        assert out.explored[r].sum() <= slots[r]
        kept = offer[r] != NO_OFFER
        assert (out.ids[r][kept] == ids[r][kept]).all() and not out.explored[r][kept].any()


def test_exploration_may_be_kept_to_experiment_arms() -> None:
    every = ExplorationConfig(enabled=True)
    assert every.in_arm("") and every.in_arm("champion")
    some = ExplorationConfig(enabled=True, arms=["challenger"])
    assert some.in_arm("challenger") and not some.in_arm("champion") and not some.in_arm("")
