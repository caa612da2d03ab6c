"""Customer profiles: ages, segments, income, correlated risk tolerance, joining dates."""

from __future__ import annotations

import polars as pl

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.generate.customers import DIGITAL_ACTIVE, SEGMENTS

from .conftest import END, START

_AGE = (2026 - pl.col(C.birth_year)).alias("age")


def test_ages_are_mostly_adult_with_some_juniors(large_bank: BankData) -> None:
    ages = large_bank.customers.select(_AGE)["age"]
    juniors = (ages < 18).mean()
    assert 0.02 < juniors < 0.07
    assert ages.min() >= 12
    assert ((ages >= 18) & (ages <= 85)).mean() > 0.9


def test_segments_follow_age(large_bank: BankData) -> None:
    customers = large_bank.customers.with_columns(_AGE)
    assert set(customers[C.segment]) == set(SEGMENTS)
    juniors = customers.filter(pl.col(C.segment) == "junior")
    assert juniors["age"].max() < 18
    assert juniors[C.income_band].null_count() == juniors.height
    assert (juniors[C.risk_tolerance] == 1).all()
    assert customers.filter(pl.col(C.segment) == "senior")["age"].min() >= 65


def test_risk_tolerance_rises_with_income_and_falls_with_old_age(large_bank: BankData) -> None:
    customers = large_bank.customers.with_columns(_AGE)
    by_income = dict(
        customers.group_by(C.income_band).agg(pl.col(C.risk_tolerance).mean()).iter_rows()
    )
    assert by_income["high"] > by_income["middle"] + 0.4 > by_income["low"] + 0.8
    assert set(customers[C.risk_tolerance]) == {1, 2, 3, 4, 5}
    old = customers.filter(pl.col("age") >= 70)[C.risk_tolerance].mean()
    mid = customers.filter(pl.col("age").is_between(30, 45))[C.risk_tolerance].mean()
    assert mid > old + 0.5


def test_joining_dates_and_the_extra_feature(large_bank: BankData) -> None:
    customers = large_bank.customers
    assert customers[C.joined_at].max() < END.date()
    joined_year = customers[C.joined_at].dt.year()
    assert (joined_year >= 2012).all()
    assert 0.05 < (customers[C.joined_at] >= START.date()).mean() < 0.4
    assert customers[DIGITAL_ACTIVE].dtype == pl.Boolean
    young = customers.filter(pl.col(C.birth_year) >= 1996)[DIGITAL_ACTIVE].mean()
    old = customers.filter(pl.col(C.birth_year) <= 1956)[DIGITAL_ACTIVE].mean()
    assert young > old + 0.3
