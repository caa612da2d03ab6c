"""Eligibility: the customer's age within the product's limits, the product on sale at a date.

Customers carry a birth year only, so the exact age on a date is one of two values. A hard
rule must not let an under- or over-age customer through, so the check is conservative:
the youngest possible age must reach `min_age` and the oldest possible age must not pass
`max_age`. A customer whose age is unknown is still a KYC'd bank customer, hence an adult:
only products open to every adult age are allowed (no junior or senior products).
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np

from recsys.rules.catalog import NO_MAX_AGE, Catalog
from recsys.rules.customers import CustomerBatch

ADULT_AGE = 18


def age_bounds(birth_year: np.ndarray, at: date) -> tuple[np.ndarray, np.ndarray]:
    """(youngest, oldest) possible age on `at` for each birth year."""
    oldest = at.year - np.asarray(birth_year, dtype=np.int32)
    # On 31 December everyone born in the year has had their birthday: the age is exact.
    youngest = oldest if (at.month, at.day) == (12, 31) else oldest - 1
    return youngest, oldest


def age_eligible(catalog: Catalog, customers: CustomerBatch, at: date) -> np.ndarray:
    """(b, n) bool: min_age <= youngest possible age and oldest possible age <= max_age;
    customers of unknown age get the products open to every adult."""
    youngest, oldest = age_bounds(customers.birth_year, _day(at))
    above_min = catalog.min_age.astype(np.int32)[None, :] <= youngest[:, None]
    below_max = oldest[:, None] <= catalog.max_age.astype(np.int32)[None, :]
    allowed = above_min & below_max
    unknown = ~customers.age_known
    if unknown.any():
        allowed[unknown] = (catalog.min_age <= ADULT_AGE) & (catalog.max_age == NO_MAX_AGE)
    return allowed


def active_at(catalog: Catalog, at: date) -> np.ndarray:
    """(n,) bool: active_from <= at <= active_to, a missing bound being open."""
    day = np.datetime64(_day(at), "D")
    started = np.isnat(catalog.active_from) | (catalog.active_from <= day)
    not_ended = np.isnat(catalog.active_to) | (day <= catalog.active_to)
    return started & not_ended


def _day(at: date) -> date:
    # datetime is a subclass of date; rules work on calendar days.
    return at.date() if isinstance(at, datetime) else at
