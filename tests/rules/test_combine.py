"""All rules together: hand-worked case, and properties over random catalogs and customers."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings

from recsys.columns import Columns as C
from recsys.rules import PRODUCT_RULES, RULES, combine, masked_topk, product_masks, rule_masks
from tests.rules.conftest import catalog_of, customers_of, rule_inputs

AT = date(2024, 6, 1)


def _catalog():
    return catalog_of(
        [
            {C.product_id: "A", C.risk_rating: 1},
            {C.product_id: "B", C.risk_rating: 4, C.category: "mutual_fund"},
            {C.product_id: "C", C.risk_rating: 1, C.min_age: 18, C.channels: ["branch"]},
            {C.product_id: "D", C.risk_rating: 2, C.active_to: date(2024, 5, 31)},
            {C.product_id: "E", C.risk_rating: 1, C.repeatable: True},
        ]
    )


def _customers():
    # u0: cautious adult without consent; u1: bold minor (born 2010) with consent.
    return customers_of(
        birth_year=[1970, 2010], risk_tolerance=[2, 5], marketing_consent=[False, True]
    )


def test_hand_worked_mobile_request():
    held = np.array([[1, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    masks = rule_masks(
        _catalog(), _customers(), held, at=AT, channel="mobile", excluded_categories=["mutual_fund"]
    )
    assert list(masks) == ["suitability", "age", "active", "held", "channel", "category"]
    # A held non-repeatable; B too risky for u0 and excluded category; C branch only and u1
    # under age; D ended; E repeatable so still allowed though held.
    assert combine(masks).tolist() == [
        [False, False, False, False, True],
        [True, False, False, False, True],
    ]
    removed = {name: np.flatnonzero(~mask[0]).tolist() for name, mask in masks.items()}
    assert removed == {
        "suitability": [1],
        "age": [],
        "active": [3],
        "held": [0],
        "channel": [2],
        "category": [1],
    }
    assert np.flatnonzero(~masks["age"][1]).tolist() == [2]


def test_offers_add_consent_and_exclusions_add_their_rule():
    masks = rule_masks(
        _catalog(), _customers(), None, at=AT, exclude_products=np.array([4]), for_offers=True
    )
    assert list(masks)[-2:] == ["excluded", "consent"]
    allowed = combine(masks)
    assert not allowed[0].any()  # no consent, no offers at all
    assert allowed[1].tolist() == [True, True, False, False, False]


def test_exclusion_as_bool_mask_per_customer():
    exclude = np.zeros((2, 5), dtype=bool)
    exclude[1, 0] = True
    allowed = combine(rule_masks(_catalog(), _customers(), None, at=AT, exclude_products=exclude))
    assert allowed[:, 0].tolist() == [True, False]


@pytest.mark.parametrize(
    ("exclude", "error"),
    [
        (np.array([5]), ValueError),
        (np.array([-1]), ValueError),
        (np.zeros(4, dtype=bool), ValueError),
        (np.array([0.5]), TypeError),
    ],
)
def test_bad_exclusions_are_refused(exclude, error):
    with pytest.raises(error, match="exclude_products"):
        rule_masks(_catalog(), _customers(), None, at=AT, exclude_products=exclude)


def test_combine_needs_at_least_one_mask():
    with pytest.raises(ValueError, match="no rule masks"):
        combine({})


def _run(inputs):
    kwargs = {k: v for k, v in inputs.items() if k not in ("catalog", "customers", "held")}
    if kwargs["exclude_products"] is not None:
        kwargs["exclude_products"] = np.asarray(kwargs["exclude_products"], dtype=np.int64)
    args = (inputs["catalog"], inputs["customers"], inputs["held"])
    masks = rule_masks(*args, **kwargs)
    return masks, combine(masks)


@settings(max_examples=150, deadline=None)
@given(rule_inputs())
def test_nothing_above_the_customers_risk_tolerance_is_ever_allowed(inputs):
    _, allowed = _run(inputs)
    too_risky = inputs["catalog"].risk_rating[None, :] > inputs["customers"].risk_tolerance[:, None]
    assert not (allowed & too_risky).any()
    # Nor through the top-k, whatever the model scores (even +inf on a too-risky product).
    scores = np.where(too_risky, np.inf, np.random.default_rng(0).random(allowed.shape))
    ids, _ = masked_topk(scores, allowed, allowed.shape[1] + 1)
    rows, cols = np.nonzero(ids >= 0)
    assert not too_risky[rows, ids[rows, cols]].any()


@settings(max_examples=60, deadline=None)
@given(rule_inputs())
def test_allowed_is_the_and_of_the_rule_masks(inputs):
    masks, allowed = _run(inputs)
    assert list(masks) == [r for r in RULES if r in masks]
    expected = np.ones(allowed.shape, dtype=bool)
    for mask in masks.values():
        assert mask.shape == allowed.shape and mask.dtype == np.bool_
        expected &= mask
    assert np.array_equal(allowed, expected)


@settings(max_examples=100, deadline=None)
@given(rule_inputs())
def test_no_possibly_out_of_age_or_inactive_product_is_allowed(inputs):
    _, allowed = _run(inputs)
    catalog, at = inputs["catalog"], inputs["at"]
    oldest = at.year - inputs["customers"].birth_year.astype(np.int64)
    # Born in that year, one may not have had the birthday yet, except on 31 December.
    possible_ages = (oldest,) if (at.month, at.day) == (12, 31) else (oldest - 1, oldest)
    for age in possible_ages:
        out = (age[:, None] < catalog.min_age[None, :]) | (age[:, None] > catalog.max_age[None, :])
        assert not (allowed & out).any()
    day = np.datetime64(at, "D")
    inactive = (catalog.active_from > day) | (catalog.active_to < day)  # NaT compares False
    assert not allowed[:, inactive].any()


@settings(max_examples=80, deadline=None)
@given(rule_inputs())
def test_held_channel_category_exclusion_and_consent_are_enforced(inputs):
    _, allowed = _run(inputs)
    catalog = inputs["catalog"]
    held_once = (inputs["held"] > 0) & ~catalog.repeatable[None, :]
    assert not (allowed & held_once).any()
    if inputs["channel"] is not None:
        assert not allowed[:, ~catalog.sold_in[:, catalog.channel_index(inputs["channel"])]].any()
    assert not allowed[:, np.isin(catalog.category, inputs["excluded_categories"])].any()
    if inputs["exclude_products"]:
        assert not allowed[:, inputs["exclude_products"]].any()
    if inputs["for_offers"]:
        assert not allowed[~inputs["customers"].marketing_consent].any()


@settings(max_examples=60, deadline=None)
@given(rule_inputs())
def test_offers_never_allow_more_than_organic(inputs):
    organic = _run(inputs | {"for_offers": False})[1]
    offers = _run(inputs | {"for_offers": True})[1]
    assert not (offers & ~organic).any()


@settings(max_examples=60, deadline=None)
@given(rule_inputs())
def test_kept_product_masks_give_the_same_rules_as_fresh_ones(inputs):
    fresh, allowed = _run(inputs)
    kept = product_masks(
        inputs["catalog"],
        at=inputs["at"],
        channel=inputs["channel"],
        excluded_categories=inputs["excluded_categories"],
    )
    masks, again = _run({**inputs, "products": kept})
    assert set(kept) == set(PRODUCT_RULES)
    assert np.array_equal(allowed, again)
    for rule, mask in masks.items():
        assert np.array_equal(mask, fresh[rule]), rule
        if rule in PRODUCT_RULES:
            with pytest.raises(ValueError, match="read-only"):
                mask[...] = True  # a request cannot change what every other request reads
