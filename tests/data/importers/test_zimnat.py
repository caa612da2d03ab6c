"""Zimnat importer on the real Train/Test files, and on small hand-made sources."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.importers import ImportResult, ImportSourceError, import_zimnat
from recsys.data.importers.defaults import DEFAULT_RISK_TOLERANCE, Extra
from recsys.data.importers.zimnat import PROFILE_COLUMNS, TEST_FILE, TRAIN_FILE

HEADER = ",".join([*PROFILE_COLUMNS, "P5DA", "RIBP", "8NN1"])


@pytest.fixture(scope="module")
def source(real_dataset: Callable[[str], Path]) -> Path:
    return real_dataset("zimnat")


@pytest.fixture(scope="module")
def imported(source: Path) -> ImportResult:
    return import_zimnat(source)


@pytest.fixture(scope="module")
def train(source: Path) -> pl.DataFrame:
    return pl.read_csv(source / TRAIN_FILE, infer_schema=False)


def _ones(frame: pl.DataFrame) -> int:
    """Number of 1s in the product columns, counted independently of the importer."""
    codes = [c for c in frame.columns if c not in PROFILE_COLUMNS]
    return int(frame.select(pl.sum_horizontal(pl.col(codes) == "1")).to_series().sum())


def test_one_customer_per_row_and_an_event_per_held_product(
    imported: ImportResult, train: pl.DataFrame
) -> None:
    data = imported.data
    assert data.customers.height == train.height == 29_132
    assert set(data.customers[C.customer_id]) == set(train["ID"])
    assert data.products.height == len(train.columns) - len(PROFILE_COLUMNS) == 21
    assert data.events.height == _ones(train) == 66_353
    assert (data.events[C.event] == Events.purchase).all()
    assert imported.report.skipped == []


def test_hand_checked_customer(imported: ImportResult) -> None:
    # Train.csv row 1: 4WKQSBB,1/2/2019,F,M,1987,1X1H,2A7I,T4MS with RVSZ and K6QO held
    customer = imported.data.customers.filter(pl.col(C.customer_id) == "4WKQSBB").row(0, named=True)
    assert customer[C.birth_year] == 1987 and customer[Extra.sex] == "F"
    assert customer[C.segment] == "T4MS" == customer[Extra.occupation_category_code]
    assert customer[C.joined_at] == date(2019, 2, 1)  # d/m/Y, not m/d/Y
    assert (
        customer[C.risk_tolerance] == DEFAULT_RISK_TOLERANCE
        and customer[Extra.source_split] == "train"
    )
    events = imported.data.events.filter(pl.col(C.customer_id) == "4WKQSBB").sort(C.product_id)
    assert events[C.product_id].to_list() == ["K6QO", "RVSZ"]
    assert (events[C.timestamp] == datetime(2019, 2, 1, tzinfo=UTC)).all()


def test_missing_join_date_falls_back_to_the_earliest(
    imported: ImportResult, train: pl.DataFrame
) -> None:
    earliest = train["join_date"].str.to_date("%d/%m/%Y").min()
    assert earliest == date(2010, 5, 1)
    missing = train.filter(pl.col("join_date").is_null())["ID"].to_list()
    assert sorted(missing) == ["HJJGYKK", "QZFEQGO"]
    customers = imported.data.customers.filter(pl.col(C.customer_id).is_in(missing))
    assert customers[C.joined_at].is_null().all()
    events = imported.data.events.filter(pl.col(C.customer_id).is_in(missing))
    assert events.height == _ones(train.filter(pl.col("ID").is_in(missing)))
    assert (events[C.timestamp] == datetime(2010, 5, 1, tzinfo=UTC)).all()
    assert [a.count for a in imported.report.adjusted if "join_date missing" in a.note] == [2]


def test_include_test_adds_test_customers(source: Path) -> None:
    result = import_zimnat(source, include_test=True)
    test = pl.read_csv(source / TEST_FILE, infer_schema=False)
    splits = dict(result.data.customers.group_by(Extra.source_split).len().iter_rows())
    assert splits == {"train": 29_132, "test": test.height}
    test_events = result.data.events.join(
        result.data.customers.filter(pl.col(Extra.source_split) == "test"), on=C.customer_id
    )
    assert test_events.height == _ones(test)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_output_passes_the_strict_validator(
    imported: ImportResult, tmp_path: Path, assert_validates: Callable[..., None], fmt: str
) -> None:
    assert_validates(imported, tmp_path / "out", fmt)


def test_quirks_are_counted(tmp_path: Path, write_lines: Callable[..., Path]) -> None:
    write_lines(
        tmp_path / TRAIN_FILE,
        [
            HEADER,
            "A1,1/5/2018,M,M,1980,B1,O1,CAT1,1,0,1",
            "A1,1/6/2018,M,M,1981,B1,O1,CAT1,0,1,0",  # repeated ID
            "A2,31/2/2019,F,S,1990,B1,O1,,0,2,1",  # no such date; flag 2; no category
            "A3,,F,S,19x0,B1,O1,CAT2,1,0,0",  # birth year junk
        ],
    )
    write_lines(
        tmp_path / TEST_FILE,
        [HEADER, "A1,1/7/2018,M,M,1980,B1,O1,CAT1,0,0,1", "B1,1/1/2011,F,M,1970,B2,O2,CAT2,0,0,1"],
    )
    result = import_zimnat(tmp_path, include_test=True)
    skipped = {(s.file, s.reason): s.count for s in result.report.skipped}
    assert skipped == {
        (TRAIN_FILE, "ID repeated (first row kept)"): 1,
        (TRAIN_FILE, "birth_year missing or not a year"): 1,
        (TEST_FILE, f"ID already in {TRAIN_FILE} (Train row kept)"): 1,
        ("Train.csv", "product flag neither 0 nor 1"): 1,
    }
    data = result.data
    assert data.customers[C.customer_id].to_list() == ["A1", "A2", "B1"]
    a2 = data.customers.filter(pl.col(C.customer_id) == "A2").row(0, named=True)
    assert a2[C.segment] == "unknown" and a2[C.joined_at] is None
    a2_events = data.events.filter(pl.col(C.customer_id) == "A2")
    assert a2_events.rows() == [("A2", "8NN1", Events.purchase, datetime(2011, 1, 1, tzinfo=UTC))]
    assert [a.count for a in result.report.adjusted if "not d/m/Y" in a.note] == [1]


def test_missing_train_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ImportSourceError, match=f"missing {TRAIN_FILE}"):
        import_zimnat(tmp_path)
