"""Targeting: each condition narrows the match, unknown values never match a condition."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

from recsys.offers.model import Action, Offer, Target
from recsys.offers.targeting import TargetProfile, target_match
from recsys.rules.eligibility import ADULT_AGE
from recsys.rules.eligibility import ADULT_AGE as ENGINE_ADULT_AGE

DAY = date(2026, 6, 1)


def _offer(**target) -> Offer:
    return Offer(
        name="o",
        product_id="p",
        start_at=datetime(2026, 1, 1, tzinfo=UTC),
        end_at=datetime(2027, 1, 1, tzinfo=UTC),
        action=Action.pin,
        pin=1,
        target=Target(**target),
    )


def _profile() -> TargetProfile:
    return TargetProfile(
        customer_ids=np.array(["a", "b", "c", "d"], dtype=object),
        segment=np.array(["mass", "affluent", "mass", "young"], dtype=object),
        birth_year=np.array([1980, 1960, 2000, 1970]),
        age_known=np.array([True, True, True, False]),
        risk_tolerance=np.array([3, 5, 1, 2]),
        income_band=np.array(["mid", "high", None, "low"], dtype=object),
        region=np.array(["north", "south", "north", None], dtype=object),
    )


def _match(**target) -> list[bool]:
    return target_match([_offer(**target)], _profile(), DAY)[:, 0].tolist()


def test_an_empty_target_matches_everyone() -> None:
    assert _match() == [True, True, True, True]


def test_each_condition_narrows() -> None:
    assert _match(segments=("mass",)) == [True, False, True, False]
    assert _match(income_bands=("mid", "high")) == [True, True, False, False]
    assert _match(regions=("north",)) == [True, False, True, False]
    assert _match(min_risk_tolerance=3) == [True, True, False, False]
    assert _match(customers=frozenset({"b", "d", "zz"})) == [False, True, False, True]


def test_age_range_is_conservative_and_unknown_age_never_matches() -> None:
    # born 1980: 45 or 46 on 2026-06-01; born 2000: 25 or 26; unknown: never
    assert _match(age_min=18, age_max=45) == [False, False, True, False]
    assert _match(age_min=46) == [False, True, False, False]
    assert _match(age_min=45) == [True, True, False, False]


def test_conditions_combine_with_and_and_offers_are_columns() -> None:
    offers = [_offer(segments=("mass",), regions=("north",)), _offer(min_risk_tolerance=5)]
    out = target_match(offers, _profile(), DAY)
    assert out.tolist() == [[True, False], [False, True], [True, False], [False, False]]


def test_targeting_and_engine_share_the_unknown_age_policy() -> None:
    assert ADULT_AGE == ENGINE_ADULT_AGE
