"""Eligibility: conservative age limits from a birth year, product active window at a date."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from recsys.columns import Columns as C
from recsys.rules.eligibility import active_at, age_bounds, age_eligible
from tests.rules.conftest import catalog_of, customers_of


def test_age_bounds_span_one_year_except_on_new_years_eve():
    youngest, oldest = age_bounds(np.array([2000, 1990]), date(2018, 6, 1))
    assert youngest.tolist() == [17, 27] and oldest.tolist() == [18, 28]
    youngest, oldest = age_bounds(np.array([2000]), date(2018, 12, 31))
    assert youngest.tolist() == oldest.tolist() == [18]


@pytest.mark.parametrize(
    ("birth_year", "at", "expected"),
    [
        # min_age 18: born 2000 may still be 17 during 2018, surely 18 in 2019.
        (2000, date(2018, 6, 1), [True, False, True]),
        (2000, date(2019, 1, 1), [True, True, True]),
        # max_age 65: born 1953 is 64 or 65 during 2018 (ok), 65 or 66 during 2019 (not ok).
        (1953, date(2018, 6, 1), [True, True, True]),
        (1953, date(2019, 6, 1), [True, True, False]),
    ],
)
def test_age_limits(birth_year, at, expected):
    catalog = catalog_of(
        [
            {C.product_id: "A"},  # no limits
            {C.product_id: "B", C.min_age: 18},
            {C.product_id: "C", C.max_age: 65},
        ]
    )
    customers = customers_of(birth_year=[birth_year], risk_tolerance=[5])
    assert age_eligible(catalog, customers, at).tolist() == [expected]


def test_datetime_reference_uses_its_calendar_day():
    catalog = catalog_of([{C.product_id: "B", C.min_age: 18}])
    customers = customers_of(birth_year=[2000], risk_tolerance=[5])
    at = datetime(2018, 12, 31, 23, 0, tzinfo=UTC)
    assert age_eligible(catalog, customers, at).tolist() == [[True]]


def test_active_window_is_inclusive_and_open_where_missing():
    catalog = catalog_of(
        [
            {C.product_id: "A"},
            {C.product_id: "B", C.active_from: date(2024, 3, 1)},
            {C.product_id: "C", C.active_to: date(2024, 3, 31)},
            {C.product_id: "D", C.active_from: date(2024, 3, 1), C.active_to: date(2024, 3, 31)},
        ]
    )
    assert active_at(catalog, date(2024, 2, 29)).tolist() == [True, False, True, False]
    assert active_at(catalog, date(2024, 3, 1)).tolist() == [True, True, True, True]
    assert active_at(catalog, date(2024, 3, 31)).tolist() == [True, True, True, True]
    assert active_at(catalog, date(2024, 4, 1)).tolist() == [True, True, False, False]
