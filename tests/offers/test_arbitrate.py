"""Offer arbitration: hard rules never bypassed, shares kept, pins placed, boosts raise."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.offers.arbitrate import NO_OFFER, OfferArrays, arbitrate, boosted, offer_slots
from recsys.rules.topk import PAD_ID, masked_topk


def _offers(product, pin, boost, priority, share) -> OfferArrays:
    return OfferArrays(
        product=np.asarray(product, np.int64),
        pin=np.asarray(pin, np.int32),
        boost=np.asarray(boost, np.float32),
        priority=np.asarray(priority, np.int64),
        max_share=np.asarray(share, np.float64),
    )


@st.composite
def cases(draw):
    b = draw(st.integers(1, 6))
    n = draw(st.integers(1, 12))
    m = draw(st.integers(0, 5))
    k = draw(st.integers(1, 8))
    floats = st.floats(-5, 5, allow_nan=False, width=32)
    scores = np.array(draw(st.lists(floats, min_size=b * n, max_size=b * n)), np.float32)
    allowed = np.array(draw(st.lists(st.booleans(), min_size=b * n, max_size=b * n)))
    eligible = np.array(draw(st.lists(st.booleans(), min_size=b * m, max_size=b * m)), bool)
    product = draw(st.lists(st.integers(-1, n - 1), min_size=m, max_size=m))
    is_pin = draw(st.lists(st.booleans(), min_size=m, max_size=m))
    pin = [draw(st.integers(1, 9)) if p else 0 for p in is_pin]
    boost = [1.0 if p else draw(st.floats(1.01, 10)) for p in is_pin]
    priority = draw(st.lists(st.integers(-3, 3), min_size=m, max_size=m))
    share = draw(st.lists(st.sampled_from([0.1, 0.2, 0.5, 1.0]), min_size=m, max_size=m))
    offers = _offers(product, pin, boost, priority, share)
    return scores.reshape(b, n), allowed.reshape(b, n), eligible.reshape(b, m), offers, k


@settings(max_examples=300, deadline=None)
@given(cases())
def test_no_offer_ever_places_a_product_the_hard_rules_forbid(case) -> None:
    scores, allowed, eligible, offers, k = case
    ids, _, slots = arbitrate(scores, allowed, eligible, offers, k)
    for r in range(ids.shape[0]):
        shown = ids[r][ids[r] != PAD_ID]
        assert allowed[r, shown].all()
        assert len(set(shown.tolist())) == len(shown)  # no product twice
        placed = slots[r][slots[r] != NO_OFFER]
        assert eligible[r, placed].all()  # only offers eligible for this customer
        assert (offers.product[placed] == ids[r][slots[r] != NO_OFFER]).all()
        for j in placed.tolist():  # every placed offer's share holds
            assert len(placed) <= offer_slots(float(offers.max_share[j]), k)
        # pads only at the end
        pads = ids[r] == PAD_ID
        assert not (pads[:-1] & ~pads[1:]).any()


@settings(max_examples=200, deadline=None)
@given(cases())
def test_without_eligible_offers_the_answer_is_the_plain_top_k(case) -> None:
    scores, allowed, eligible, offers, k = case
    ids, top, slots = arbitrate(scores, allowed, np.zeros_like(eligible), offers, k)
    plain_ids, plain_top = masked_topk(scores, allowed, k)
    np.testing.assert_array_equal(ids, plain_ids)
    np.testing.assert_array_equal(top, plain_top)
    assert (slots == NO_OFFER).all()


def test_a_pin_takes_its_position_and_pushes_the_rest_down() -> None:
    scores = np.array([[5, 4, 3, 2, 1]], np.float32)
    allowed = np.ones((1, 5), bool)
    offers = _offers([4], [2], [1.0], [0], [1.0])
    ids, top, slots = arbitrate(scores, allowed, np.ones((1, 1), bool), offers, 3)
    assert ids.tolist() == [[0, 4, 1]]
    assert slots.tolist() == [[-1, 0, -1]]
    assert top[0, 1] == 1.0  # the model's own score, not a made-up one


def test_a_pin_on_a_forbidden_product_is_dropped() -> None:
    scores = np.array([[5, 4, 3, 2, 1]], np.float32)
    allowed = np.array([[True, True, True, True, False]])
    offers = _offers([4], [1], [1.0], [0], [1.0])
    ids, _, slots = arbitrate(scores, allowed, np.ones((1, 1), bool), offers, 3)
    assert ids.tolist() == [[0, 1, 2]]
    assert (slots == NO_OFFER).all()


def test_a_boost_raises_a_product_into_the_top_k_and_marks_it() -> None:
    scores = np.array([[5, 4, 3, 2, 1]], np.float32)
    offers = _offers([4], [0], [10.0], [0], [1.0])
    ids, top, slots = arbitrate(scores, np.ones((1, 5), bool), np.ones((1, 1), bool), offers, 2)
    assert ids.tolist() == [[4, 0]]
    assert slots.tolist() == [[0, -1]]
    assert top[0, 0] == boosted(np.float32(1), 10.0)


def test_higher_priority_wins_the_position_and_shares_bound_the_offer_items() -> None:
    scores = np.array([[5, 4, 3, 2, 1, 0]], np.float32)
    allowed = np.ones((1, 6), bool)
    # three pins for position 1; priorities 1, 9, 5; share 0.4 of k=5 -> 2 offer items
    offers = _offers([3, 4, 5], [1, 1, 1], [1, 1, 1], [1, 9, 5], [0.4, 0.4, 0.4])
    ids, _, slots = arbitrate(scores, allowed, np.ones((1, 3), bool), offers, 5)
    assert ids[0, :2].tolist() == [4, 5]
    assert slots[0].tolist() == [1, 2, -1, -1, -1]


def test_an_atm_slot_is_not_taken_by_an_offer_limited_to_half_the_slots() -> None:
    scores = np.array([[5, 4]], np.float32)
    offers = _offers([1], [1], [1.0], [0], [0.5])
    ids, _, slots = arbitrate(scores, np.ones((1, 2), bool), np.ones((1, 1), bool), offers, 1)
    assert ids.tolist() == [[0]] and slots.tolist() == [[-1]]


def test_boost_raises_negative_and_zero_scores_too() -> None:
    s = np.array([-2.0, 0.0, 3.0], np.float32)
    assert (boosted(s, 2.0) > s).all()
