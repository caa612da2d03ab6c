"""generate(): determinism, canonical dtypes, the strict validator, the time frame."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from recsys.columns import DEFAULT_CHANNELS, Events
from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.generate import generate, total_steps
from recsys.data.schema import SPECS
from recsys.data.validate import validate_dataset
from recsys.data.write import write_dataset

from .conftest import END, START


def _frames(data: BankData) -> tuple[pl.DataFrame, ...]:
    return data.customers, data.products, data.events


def test_same_seed_gives_identical_frames() -> None:
    first, second = generate(700, 3), generate(700, 3)
    for a, b in zip(_frames(first), _frames(second), strict=True):
        assert a.equals(b)


def test_different_seeds_give_different_frames() -> None:
    first, second = generate(700, 3), generate(700, 4)
    assert not first.customers.equals(second.customers)
    assert not first.events.equals(second.events)
    assert first.products.equals(second.products)  # the catalog is fixed


def test_dtypes_match_the_schema_exactly(small_bank: BankData) -> None:
    for name, frame in zip(("customers", "products", "events"), _frames(small_bank), strict=True):
        spec = SPECS[name]
        for column in spec.columns:
            assert frame.schema[column.name] == column.dtype, (name, column.name)
            if not column.nullable:
                assert frame[column.name].null_count() == 0, (name, column.name)
    assert small_bank.customers[C.customer_id].is_unique().all()
    assert small_bank.customers.height == 2000


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_written_dataset_passes_the_strict_validator(
    small_bank: BankData, tmp_path: Path, fmt: str
) -> None:
    folder = write_dataset(small_bank, tmp_path / fmt, fmt=fmt)  # type: ignore[arg-type]
    data, problems = validate_dataset(folder, now=END, channels=DEFAULT_CHANNELS)
    assert problems == []
    assert data is not None
    assert data.events.equals(small_bank.events)
    assert data.customers.equals(small_bank.customers)


def test_history_ends_before_the_fixed_end_and_events_are_time_ordered(
    small_bank: BankData,
) -> None:
    ts = small_bank.events[C.timestamp]
    assert ts.max() < END
    assert ts.is_sorted()
    in_window = small_bank.events.filter(pl.col(C.timestamp) >= START)
    assert in_window.height > 0.7 * small_bank.events.height
    assert in_window[C.timestamp].dt.truncate("1mo").n_unique() == 24
    # before the window only the product ledger is on record (the click log starts with it)
    earlier = small_bank.events.filter(pl.col(C.timestamp) < START)
    assert set(earlier[C.event].unique()) == {Events.purchase, Events.close}


def test_custom_start_and_months_bound_the_history() -> None:
    data = generate(400, 1, start=date(2023, 1, 1), months=6)
    assert data.events[C.timestamp].max() < datetime(2023, 7, 1, tzinfo=UTC)
    assert data.customers[C.joined_at].max() < date(2023, 7, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n_customers": 0}, "n_customers"), ({"start": date(2024, 1, 2)}, "first day"),
     ({"months": 0}, "months")],
)
def test_bad_arguments_raise_clear_errors(kwargs: dict, message: str) -> None:
    args = {"n_customers": 10, "seed": 1} | kwargs
    with pytest.raises(ValueError, match=message):
        generate(**args)


def test_progress_reports_every_step_in_order() -> None:
    seen: list[tuple[str, int, int]] = []
    generate(50, 1, months=3, progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert [done for _, done, _ in seen] == list(range(1, total_steps(3) + 1))
    assert {total for _, _, total in seen} == {total_steps(3)}
    assert seen[0][0] == "customers" and seen[-1][0] == "tables"
    stages = [stage for stage, _, _ in seen]
    assert stages[1] == "journeys: earlier years"
    assert stages.count("journeys: the window, month by month") == 3
