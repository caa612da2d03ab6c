"""Fixtures of the generator tests: small generated banks, built once per session."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.dataset import BankData
from recsys.data.generate import DEFAULT_MONTHS, DEFAULT_START, generate
from recsys.data.generate.timeline import add_months

SMALL = 2000
LARGE = 8000  # for statistical properties of the planted structure
END = datetime.combine(add_months(DEFAULT_START, DEFAULT_MONTHS), datetime.min.time(), UTC)
START = datetime.combine(DEFAULT_START, datetime.min.time(), UTC)


@pytest.fixture(scope="session")
def small_bank() -> BankData:
    """2,000 customers, seed 11."""
    return generate(SMALL, 11)


@pytest.fixture(scope="session")
def large_bank() -> BankData:
    """8,000 customers, seed 5: enough purchases for statistical assertions."""
    return generate(LARGE, 5)


def purchases(data: BankData) -> pl.DataFrame:
    """Purchases joined with their customer's profile and the product's attributes."""
    return with_profile(data, data.events.filter(pl.col(C.event) == Events.purchase))


def with_profile(data: BankData, events: pl.DataFrame) -> pl.DataFrame:
    """Events joined with customers and products (every event must find both)."""
    out = events.join(data.customers, on=C.customer_id, how="inner").join(
        data.products, on=C.product_id, how="inner"
    )
    assert out.height == events.height
    return out
