"""Consent: offers only to customers with marketing consent."""

from __future__ import annotations

from recsys.rules.consent import offers_allowed
from tests.rules.conftest import customers_of


def test_offers_follow_consent_and_do_not_alias_the_batch():
    customers = customers_of(
        birth_year=[1980, 1981, 1982],
        risk_tolerance=[1, 2, 3],
        marketing_consent=[True, False, True],
    )
    allowed = offers_allowed(customers)
    assert allowed.tolist() == [True, False, True]
    allowed[0] = False
    assert customers.marketing_consent[0]
