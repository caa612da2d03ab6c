"""Suitability: risk_rating <= risk_tolerance, by hand and as a property."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings

from recsys.columns import Columns as C
from recsys.rules.suitability import suitable
from tests.rules.conftest import catalog_of, customers_of, rule_inputs


def test_hand_worked_grid():
    catalog = catalog_of([{C.product_id: f"P{r}", C.risk_rating: r} for r in (1, 3, 5)])
    customers = customers_of(birth_year=[1980, 1980, 1980], risk_tolerance=[1, 3, 5])
    assert suitable(catalog, customers).tolist() == [
        [True, False, False],
        [True, True, False],
        [True, True, True],
    ]


@settings(max_examples=60, deadline=None)
@given(rule_inputs())
def test_mask_is_exactly_the_rating_comparison(inputs):
    catalog, customers = inputs["catalog"], inputs["customers"]
    mask = suitable(catalog, customers)
    for i, tolerance in enumerate(customers.risk_tolerance.tolist()):
        expected = [rating <= tolerance for rating in catalog.risk_rating.tolist()]
        assert mask[i].tolist() == expected
    assert mask.dtype == np.bool_
