"""Shared fixtures: a tiny, hand-made, VALID canonical dataset (5 customers, 6 products, 15 events).

Use the fixtures `tiny_bank_data` (typed frames), `tiny_dataset_dir` (a Parquet folder) or
`write_tiny_dataset(tmp_path, fmt)` (a folder in either format). Tests on the real public data
sets ask for `real_dataset(name)`: see tests/real_data.py. Every frame is in canonical
dtypes, so `load_dataset(write_tiny_dataset(...))` returns frames equal to `tiny_bank_data()`.

What is in it, so tests can reason about it:
- customers c1..c5; c5 has no events; column `occupation` is an extra customer column.
- products p1..p6: p3 (credit card) is sold in every channel (empty list), p4 (savings) is
  repeatable, p6 (mortgage) has age limits 21-65 and an active window.
- events 2024-01..2024-06: c1 buys p1 and p4 twice and closes one p4; c2 buys p2 and closes
  it; c3 buys p3; c4 only views/clicks/impressions; the last event is 2024-06-30 12:00 UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.schema import CUSTOMERS, EVENTS, PRODUCTS, TableSpec
from recsys.data.write import write_dataset
from tests.real_data import (  # noqa: F401 - the real-data fixture and its hooks, for every test
    pytest_collection_modifyitems,
    pytest_runtest_logreport,
    pytest_sessionfinish,
    pytest_terminal_summary,
    real_dataset,
)

OCCUPATION = "occupation"  # an extra customer column: kept as-is by the loader
TINY_LAST_EVENT = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)


def _frame(
    spec: TableSpec, data: dict[str, list], extra: dict[str, pl.DataType] | None = None
) -> pl.DataFrame:
    schema = {c.name: c.dtype for c in spec.columns} | (extra or {})
    rows = len(next(iter(data.values())))
    # optional columns a test leaves out are null, as the loader makes them
    absent = {
        c.name: [[] if isinstance(c.dtype, pl.List) else None] * rows
        for c in spec.columns
        if not c.required and c.name not in data
    }
    return pl.DataFrame(data | absent, schema=schema)


def tiny_bank_data() -> BankData:
    """A small valid dataset in canonical dtypes (built fresh on each call)."""
    customers = _frame(
        CUSTOMERS,
        {
            C.customer_id: ["c1", "c2", "c3", "c4", "c5"],
            C.birth_year: [1980, 1992, 1965, 2001, 1975],
            C.segment: ["mass", "affluent", "mass", "young", "private"],
            C.risk_tolerance: [3, 4, 2, 1, 5],
            C.marketing_consent: [True, False, True, True, False],
            C.income_band: ["mid", "high", None, "low", "high"],
            C.region: ["north", "south", "north", None, "east"],
            C.joined_at: [
                date(2015, 3, 1),
                date(2019, 7, 15),
                None,
                date(2022, 1, 5),
                date(2010, 11, 30),
            ],
            OCCUPATION: ["engineer", "doctor", None, "student", "lawyer"],
        },
        {OCCUPATION: pl.String},
    )
    products = _frame(
        PRODUCTS,
        {
            C.product_id: ["p1", "p2", "p3", "p4", "p5", "p6"],
            C.name: [
                "Everyday account",
                "Global fund",
                "Gold card",
                "Easy saver",
                "Travel cover",
                "Home loan",
            ],
            C.category: [
                "current_account",
                "mutual_fund",
                "credit_card",
                "savings_account",
                "insurance",
                "mortgage",
            ],
            C.risk_rating: [1, 4, 2, 1, 2, 3],
            C.min_age: [None, 18, 18, None, None, 21],
            C.max_age: [None, None, None, None, None, 65],
            C.channels: [
                ["mobile", "web", "branch"],
                ["web", "branch"],
                [],
                ["mobile", "atm"],
                ["mobile"],
                ["branch"],
            ],
            C.repeatable: [False, False, False, True, False, False],
            C.active_from: [None, date(2020, 1, 1), None, None, None, date(2021, 1, 1)],
            C.active_to: [None, None, None, None, None, date(2030, 12, 31)],
        },
    )
    events = _frame(EVENTS, _tiny_events())
    return BankData(customers=customers, products=products, events=events)


def _tiny_events() -> dict[str, list]:
    rows = [
        ("c1", "p1", "purchase", datetime(2024, 1, 3, 9, 30), "branch", 100.0),
        ("c1", "p4", "purchase", datetime(2024, 1, 10, 10, 0), "mobile", 500.0),
        ("c1", "p4", "purchase", datetime(2024, 2, 1, 8, 15), "mobile", 250.5),
        ("c1", "p4", "close", datetime(2024, 4, 2, 16, 45), "branch", None),
        ("c2", "p2", "view", datetime(2024, 2, 5, 12, 0), "web", None),
        ("c2", "p2", "apply", datetime(2024, 2, 6, 12, 0), "web", None),
        ("c2", "p2", "purchase", datetime(2024, 2, 7, 12, 0), "web", 1000.0),
        ("c2", "p2", "close", datetime(2024, 5, 20, 7, 0), None, None),
        ("c3", "p3", "impression", datetime(2024, 3, 1, 11, 0), "mobile", None),
        ("c3", "p3", "click", datetime(2024, 3, 1, 11, 1), "mobile", None),
        ("c3", "p3", "purchase", datetime(2024, 3, 2, 14, 0), "call_center", 0.0),
        ("c4", "p5", "impression", datetime(2024, 4, 1, 18, 0), "atm", None),
        ("c4", "p5", "view", datetime(2024, 4, 2, 18, 0), "mobile", None),
        ("c4", "p6", "click", datetime(2024, 6, 1, 20, 0, 0, 123456), "web", None),
        ("c4", "p2", "impression", TINY_LAST_EVENT.replace(tzinfo=None), None, None),
    ]
    names = (C.customer_id, C.product_id, C.event, C.timestamp, C.channel, C.amount)
    data = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    data[C.timestamp] = [t.replace(tzinfo=UTC) for t in data[C.timestamp]]
    return data


def write_tiny_dataset(folder: Path, fmt: Literal["parquet", "csv"] = "parquet") -> Path:
    """Write the tiny valid dataset into `folder` in `fmt`; returns the folder."""
    return write_dataset(tiny_bank_data(), folder, fmt=fmt)


@pytest.fixture(name="tiny_bank_data")
def tiny_bank_data_fixture() -> BankData:
    """The tiny valid dataset as typed frames."""
    return tiny_bank_data()


@pytest.fixture(name="write_tiny_dataset")
def write_tiny_dataset_fixture() -> Callable[..., Path]:
    """The writer `write_tiny_dataset(folder, fmt="parquet")`, for tests that need a folder."""
    return write_tiny_dataset


@pytest.fixture
def tiny_dataset_dir(tmp_path: Path) -> Path:
    """A folder holding the tiny valid dataset as Parquet."""
    return write_tiny_dataset(tmp_path / "tiny", "parquet")
