"""load_dataset: CSV and Parquet read to the same canonical frames; nothing coerced or guessed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.load import load_dataset
from recsys.data.problems import DataValidationError, Problem
from recsys.data.schema import SPECS
from recsys.data.validate import validate_dataset

NOW = datetime(2024, 12, 31, tzinfo=UTC)
Writer = Callable[..., Path]


def edit_csv(folder: Path, table: str, column: str, cells: dict[int, str | None]) -> None:
    """Replace 1-based data rows of one CSV column with raw text (None writes an empty cell)."""
    path = folder / f"{table}.csv"
    frame = pl.read_csv(path, infer_schema=False)
    values = frame[column].to_list()
    for row, text in cells.items():
        values[row - 1] = text
    frame.with_columns(pl.Series(column, values, dtype=pl.String)).write_csv(path)


def edit_parquet(folder: Path, table: str, *columns: pl.Expr) -> None:
    """Rewrite one Parquet table with some columns replaced (any dtype)."""
    path = folder / f"{table}.parquet"
    pl.read_parquet(path).with_columns(*columns).write_parquet(path)


def problems(folder: Path) -> list[Problem]:
    with pytest.raises(DataValidationError) as caught:
        load_dataset(folder, now=NOW)
    return caught.value.problems


def where(found: list[Problem]) -> set[tuple[str, str | None, tuple[int, ...]]]:
    return {(p.file, p.column, p.rows) for p in found}


def assert_same_data(left: BankData, right: BankData) -> None:
    for table in SPECS:
        assert_frame_equal(getattr(left, table), getattr(right, table))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_both_formats_load_the_canonical_frames(
    tmp_path: Path, write_tiny_dataset: Writer, tiny_bank_data: BankData, fmt: str
) -> None:
    loaded = load_dataset(write_tiny_dataset(tmp_path, fmt), now=NOW)
    assert_same_data(loaded, tiny_bank_data)
    for table, spec in SPECS.items():
        schema = getattr(loaded, table).schema
        assert all(schema[c.name] == c.dtype for c in spec.columns)


def test_csv_booleans_accept_true_false_and_1_0_only(
    tmp_path: Path, write_tiny_dataset: Writer
) -> None:
    folder = write_tiny_dataset(tmp_path, "csv")
    edit_csv(
        folder,
        "customers",
        C.marketing_consent,
        {1: "TRUE", 2: "False", 3: "1", 4: "0", 5: "false"},
    )
    consent = load_dataset(folder, now=NOW).customers[C.marketing_consent].to_list()
    assert consent == [True, False, True, False, False]
    edit_csv(folder, "customers", C.marketing_consent, {2: "yes", 4: "t"})
    edit_csv(folder, "products", C.repeatable, {3: "2"})
    assert where(problems(folder)) == {
        ("customers.csv", C.marketing_consent, (2, 4)),
        ("products.csv", C.repeatable, (3,)),
    }


def test_csv_integers_must_be_whole_and_in_range(
    tmp_path: Path, write_tiny_dataset: Writer
) -> None:
    folder = write_tiny_dataset(tmp_path, "csv")
    edit_csv(
        folder, "customers", C.risk_tolerance, {1: "3.5", 2: " 3", 3: "300", 4: "3.0", 5: "+2"}
    )
    found = problems(folder)
    assert where(found) == {("customers.csv", C.risk_tolerance, (1, 2, 3, 4))}
    assert found[0].values == ("3.5", " 3", "300", "3.0")
    assert "Int8" in found[0].message


def test_csv_dates_must_be_iso(tmp_path: Path, write_tiny_dataset: Writer) -> None:
    folder = write_tiny_dataset(tmp_path, "csv")
    edit_csv(folder, "customers", C.joined_at, {1: "2015-3-1", 2: "2019-02-30", 4: "05/01/2022"})
    edit_csv(folder, "products", C.active_to, {6: "2030-12-31T00:00:00"})
    assert where(problems(folder)) == {
        ("customers.csv", C.joined_at, (1, 2, 4)),
        ("products.csv", C.active_to, (6,)),
    }


def test_csv_timestamps_are_iso_8601_and_become_utc(
    tmp_path: Path, write_tiny_dataset: Writer
) -> None:
    folder = write_tiny_dataset(tmp_path, "csv")
    accepted = {
        1: "2024-01-03T09:30:00",  # naive = UTC
        2: "2024-01-10T10:00:00Z",
        3: "2024-02-01T10:15:00+02:00",
        4: "2024-04-02 16:45:00.000000",
        5: "2024-02-05T13:30:00.25+0130",
    }
    edit_csv(folder, "events", C.timestamp, accepted)
    stamps = load_dataset(folder, now=NOW).events[C.timestamp].head(5).to_list()
    assert stamps == [
        datetime(2024, 1, 3, 9, 30, tzinfo=UTC),
        datetime(2024, 1, 10, 10, 0, tzinfo=UTC),
        datetime(2024, 2, 1, 8, 15, tzinfo=UTC),
        datetime(2024, 4, 2, 16, 45, tzinfo=UTC),
        datetime(2024, 2, 5, 12, 0, 0, 250000, tzinfo=UTC),
    ]
    rejected = {
        2: "2024-01-10",
        3: "2024-1-10T10:00:00",
        6: "2024-02-06T12:00",
        7: "1707307200",
        9: "2024-03-01T11:00:00.1234567Z",
        10: "2024-03-01T11:01:00 UTC",
    }
    edit_csv(folder, "events", C.timestamp, rejected)
    found = problems(folder)
    assert where(found) == {("events.csv", C.timestamp, (2, 3, 6, 7, 9))}
    assert found[0].count == 6 and "ISO-8601" in found[0].message


def test_csv_channel_lists(tmp_path: Path, write_tiny_dataset: Writer) -> None:
    folder = write_tiny_dataset(tmp_path, "csv")
    edit_csv(folder, "products", C.channels, {1: None, 2: "web"})
    channels = load_dataset(folder, now=NOW).products[C.channels].to_list()
    assert channels[:3] == [[], ["web"], []]
    edit_csv(folder, "products", C.channels, {4: "mobile||atm", 5: "mobile|"})
    assert where(problems(folder)) == {("products.csv", C.channels, (4, 5))}


def test_parquet_compatible_dtypes_are_cast(
    tmp_path: Path, write_tiny_dataset: Writer, tiny_bank_data: BankData
) -> None:
    folder = write_tiny_dataset(tmp_path, "parquet")
    edit_parquet(
        folder,
        "customers",
        pl.col(C.risk_tolerance).cast(pl.Int64),
        pl.col(C.birth_year).cast(pl.UInt16),
        pl.col(C.customer_id).cast(pl.Categorical),
    )
    edit_parquet(folder, "products", pl.col(C.channels).list.join("|"))
    # naive = UTC; whole microseconds in nanoseconds are exact
    edit_parquet(
        folder,
        "events",
        pl.col(C.timestamp).dt.replace_time_zone(None).cast(pl.Datetime("ns")),
        pl.col(C.amount).cast(pl.Float32),
    )
    assert_same_data(load_dataset(folder, now=NOW), tiny_bank_data)
    # another zone is converted to the same instants in UTC
    edit_parquet(
        folder,
        "events",
        pl.col(C.timestamp).dt.replace_time_zone("UTC").dt.convert_time_zone("Europe/Berlin"),
    )
    assert_frame_equal(load_dataset(folder, now=NOW).events, tiny_bank_data.events)


def test_parquet_all_null_and_decimal_columns(
    tmp_path: Path, write_tiny_dataset: Writer, tiny_bank_data: BankData
) -> None:
    folder = write_tiny_dataset(tmp_path, "parquet")
    edit_parquet(folder, "customers", pl.lit(None).alias(C.joined_at))
    edit_parquet(folder, "products", pl.lit(None).alias(C.channels))
    edit_parquet(folder, "events", pl.col(C.amount).cast(pl.Decimal(12, 2)))
    loaded = load_dataset(folder, now=NOW)
    assert loaded.customers.schema[C.joined_at] == pl.Date
    assert loaded.customers[C.joined_at].null_count() == 5
    assert loaded.products[C.channels].to_list() == [[]] * 6
    assert_frame_equal(loaded.events, tiny_bank_data.events)
    edit_parquet(folder, "customers", pl.lit(None).alias(C.segment))
    assert where(problems(folder)) == {("customers.parquet", C.segment, (1, 2, 3, 4, 5))}


def test_parquet_incompatible_dtypes_are_errors(tmp_path: Path, write_tiny_dataset: Writer) -> None:
    folder = write_tiny_dataset(tmp_path, "parquet")
    edit_parquet(
        folder,
        "customers",
        pl.col(C.customer_id).str.slice(1).cast(pl.Int64),  # numeric ids: "1" vs "01" is lost
        pl.when(pl.int_range(pl.len()) == 2)
        .then(300)
        .otherwise(pl.col(C.risk_tolerance))
        .cast(pl.Int64)
        .alias(C.risk_tolerance),
        pl.col(C.birth_year).cast(pl.Float64),
        pl.col(C.marketing_consent).cast(pl.String),
    )
    edit_parquet(
        folder,
        "events",
        pl.col(C.timestamp).cast(pl.Datetime("ns", "UTC"))
        + pl.duration(nanoseconds=pl.int_range(pl.len()) % 2),
    )
    found = problems(folder)
    assert where(found) >= {
        ("customers.parquet", C.customer_id, ()),
        ("customers.parquet", C.risk_tolerance, (3,)),
        ("customers.parquet", C.birth_year, ()),
        ("customers.parquet", C.marketing_consent, ()),
        ("events.parquet", C.timestamp, (2, 4, 6, 8, 10)),
    }
    messages = {p.column: p.message for p in found if p.file == "customers.parquet"}
    assert messages[C.customer_id] == "stored as Int64, expected text"
    assert messages[C.birth_year] == "stored as Float64, expected integers"


def test_absent_optional_columns_get_their_defaults(
    tmp_path: Path, write_tiny_dataset: Writer, tiny_bank_data: BankData
) -> None:
    folder = write_tiny_dataset(tmp_path, "csv")
    optional = {t: [c.name for c in s.columns if not c.required] for t, s in SPECS.items()}
    for table, columns in optional.items():
        path = folder / f"{table}.csv"
        pl.read_csv(path, infer_schema=False).drop(columns).write_csv(path)
    loaded = load_dataset(folder, now=NOW)
    assert loaded.products[C.repeatable].to_list() == [False] * 6
    assert loaded.products[C.channels].to_list() == [[]] * 6
    assert loaded.events[C.amount].null_count() == loaded.events.height
    assert loaded.customers.columns == tiny_bank_data.customers.columns  # extra column still last


def test_extra_customer_columns_are_kept_as_stored(
    tmp_path: Path, write_tiny_dataset: Writer
) -> None:
    folder = write_tiny_dataset(tmp_path, "parquet")
    edit_parquet(folder, "customers", pl.int_range(pl.len(), dtype=pl.Int16).alias("children"))
    customers = load_dataset(folder, now=NOW).customers
    assert customers.schema["children"] == pl.Int16 and customers["children"].to_list() == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert customers["occupation"][0] == "engineer"


def test_csv_with_byte_order_mark(
    tmp_path: Path, write_tiny_dataset: Writer, tiny_bank_data: BankData
) -> None:
    folder = write_tiny_dataset(tmp_path, "csv")
    path = folder / "customers.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert_frame_equal(load_dataset(folder, now=NOW).customers, tiny_bank_data.customers)


def test_load_raises_with_every_problem(tmp_path: Path, write_tiny_dataset: Writer) -> None:
    folder = write_tiny_dataset(tmp_path, "csv")
    edit_csv(folder, "customers", C.birth_year, {2: "nineteen"})
    edit_csv(folder, "events", C.product_id, {3: "p404"})
    with pytest.raises(DataValidationError) as caught:
        load_dataset(folder, now=NOW)
    text = str(caught.value)
    assert text.startswith("2 data problem(s):")
    assert "customers.csv, column birth_year, row 2: cannot read value" in text
    assert "events.csv, column product_id, row 3: unknown product ['p404']" in text
    assert validate_dataset(folder, now=NOW)[0] is None


def test_load_accepts_str_paths(tmp_path: Path, write_tiny_dataset: Writer) -> None:
    data = load_dataset(str(write_tiny_dataset(tmp_path, "parquet")), now=NOW)
    assert data.summary() == {"customers": 5, "products": 6, "events": 15}
