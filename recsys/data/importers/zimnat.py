"""Import the Zimnat insurance-recommendation data (see ../shared/datasets/README.md).

Source -> canonical (Train.csv, and Test.csv with include_test):

- customers: one per row. birth_year as given; segment = occupation_category_code (the
  insurer's own grouping of occupations, the closest thing to a segment it has; "unknown" if
  empty); risk_tolerance and marketing_consent are the defaults of defaults.py (every product
  is R1, so tolerance never blocks anything here); joined_at = join_date. Extra columns: sex,
  marital_status, branch_code, occupation_code, occupation_category_code as given, and
  source_split ("train"/"test": Test rows had one held product hidden by the organisers).
- products: every column after the eight profile columns is a product (21 anonymised codes).
  All are insurance policies (the competition is an insurer's), so category "insurance",
  risk_rating 1, name = code, not repeatable (a 0/1 flag).
- events: a `purchase` for every flag equal to 1, at the customer's join_date (the only date
  there is). join_date is d/m/Y; where it is missing or not a date, the earliest join_date of
  the file is used (so those holdings fall in any training period, never in a test period),
  joined_at stays null, and the count is reported. Flags other than 0/1 are counted out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import polars as pl

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.dataset import BankData
from recsys.data.importers.defaults import UNKNOWN_SEGMENT, Extra, default_profile_columns
from recsys.data.importers.report import ImportReport, ImportResult
from recsys.data.importers.source import (
    ImportSourceError,
    conform,
    read_text_table,
    require_files,
    to_utc,
)
from recsys.data.schema import CUSTOMERS, EVENTS, PRODUCTS

TRAIN_FILE: Final = "Train.csv"
TEST_FILE: Final = "Test.csv"
ID, JOIN_DATE, BIRTH_YEAR = "ID", "join_date", "birth_year"
PROFILE_COLUMNS: Final = (
    ID,
    JOIN_DATE,
    Extra.sex,
    Extra.marital_status,
    BIRTH_YEAR,
    Extra.branch_code,
    Extra.occupation_code,
    Extra.occupation_category_code,
)
EXTRA_COLUMNS: Final = (
    Extra.sex,
    Extra.marital_status,
    Extra.branch_code,
    Extra.occupation_code,
    Extra.occupation_category_code,
    Extra.source_split,
)
JOIN_DATE_FORMAT: Final = "%d/%m/%Y"
INSURANCE: Final = "insurance"


def import_zimnat(src: Path, include_test: bool = False) -> ImportResult:
    """Zimnat customers and their held policies from `src` (Train.csv, optionally Test.csv)."""
    files = (TRAIN_FILE, TEST_FILE) if include_test else (TRAIN_FILE,)
    require_files(src, files)
    report = ImportReport("zimnat")
    frames = {f: _read(src, f, report) for f in files}
    codes = _product_codes(list(frames.values()))
    rows = pl.concat(
        [
            _valid_rows(frame.select(*PROFILE_COLUMNS, *codes, Extra.source_split), f, report)
            for f, frame in frames.items()
        ]
    )
    # Test rows come after Train rows: an ID in both keeps its Train row.
    rows = report.dropper("customers", TEST_FILE)(
        rows, ~pl.col(ID).is_first_distinct(), f"ID already in {TRAIN_FILE} (Train row kept)"
    )
    rows = _with_join_timestamp(rows, report)
    customers = rows.select(
        pl.col(ID).alias(C.customer_id),
        pl.col(BIRTH_YEAR).cast(pl.Int32),
        pl.col(Extra.occupation_category_code).fill_null(UNKNOWN_SEGMENT).alias(C.segment),
        *default_profile_columns(),
        pl.col("_joined").alias(C.joined_at),
        *EXTRA_COLUMNS,
    )
    data = BankData(
        customers=conform(customers.sort(C.customer_id), CUSTOMERS, EXTRA_COLUMNS),
        products=conform(_products(codes), PRODUCTS),
        events=conform(_events(rows, codes, report), EVENTS),
    )
    return ImportResult(data, report)


def _read(src: Path, file: str, report: ImportReport) -> pl.DataFrame:
    """One source file, tagged with its split name ("train" or "test")."""
    frame = report.read(file, read_text_table(src / file, PROFILE_COLUMNS))
    split = file.removesuffix(".csv").lower()
    return frame.with_columns(pl.lit(split).alias(Extra.source_split))


def _product_codes(frames: list[pl.DataFrame]) -> list[str]:
    """Product columns: everything but the profile columns; the files must agree on them."""
    sets = [
        [c for c in f.columns if c not in (*PROFILE_COLUMNS, Extra.source_split)] for f in frames
    ]
    if any(set(s) != set(sets[0]) for s in sets):
        raise ImportSourceError(f"{TRAIN_FILE} and {TEST_FILE} have different product columns")
    if not sets[0]:
        raise ImportSourceError(f"{TRAIN_FILE}: no product columns after the profile columns")
    return sets[0]


def _valid_rows(rows: pl.DataFrame, file: str, report: ImportReport) -> pl.DataFrame:
    """Rows with an id (first of a repeated id kept) and a birth year; the rest counted out."""
    drop = report.dropper("customers", file)
    rows = drop(rows, pl.col(ID).is_null(), "empty ID")
    rows = drop(rows, ~pl.col(ID).is_first_distinct(), "ID repeated (first row kept)")
    year = pl.col(BIRTH_YEAR).cast(pl.Int32, strict=False)
    rows = drop(rows, year.is_null(), "birth_year missing or not a year")
    return rows.with_columns(pl.lit(file).alias("_file"))


def _with_join_timestamp(rows: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
    """_joined (Date or null) and _at (the purchase timestamp, fallback where null)."""
    rows = rows.with_columns(
        pl.col(JOIN_DATE).str.to_date(JOIN_DATE_FORMAT, strict=False).alias("_joined")
    )
    earliest = rows["_joined"].min()
    if earliest is None:
        raise ImportSourceError(f"{TRAIN_FILE}: no join_date is a d/m/Y date")
    note = f"held products dated at the earliest join_date ({earliest})"
    counts = rows.group_by("_file").agg(
        pl.col(JOIN_DATE).is_null().sum().alias("missing"),
        (pl.col(JOIN_DATE).is_not_null() & pl.col("_joined").is_null()).sum().alias("unread"),
    )
    for file, missing, unread in counts.sort("_file").iter_rows():
        report.adjust("customers", file, f"join_date missing: {note}", missing)
        report.adjust("customers", file, f"join_date not d/m/Y: {note}", unread)
    return rows.with_columns(to_utc(pl.col("_joined").fill_null(earliest)).alias("_at"))


def _products(codes: list[str]) -> pl.DataFrame:
    """One insurance product per code, R1."""
    return pl.DataFrame({C.product_id: sorted(codes)}).with_columns(
        pl.col(C.product_id).alias(C.name),
        pl.lit(INSURANCE).alias(C.category),
        pl.lit(1, pl.Int8).alias(C.risk_rating),
        pl.lit(False).alias(C.repeatable),
    )


def _events(rows: pl.DataFrame, codes: list[str], report: ImportReport) -> pl.DataFrame:
    """A purchase per flag equal to 1; flags other than 0 and 1 are counted out."""
    cells = rows.select(pl.col(ID).alias(C.customer_id), "_at", "_file", *codes).unpivot(
        index=[C.customer_id, "_at", "_file"], variable_name=C.product_id, value_name="_flag"
    )
    bad = ~pl.col("_flag").is_in(["0", "1"]).fill_null(False)
    for file, count in cells.group_by("_file").agg(bad.sum()).sort("_file").iter_rows():
        report.skip("events", file, "product flag neither 0 nor 1", count)
    return (
        cells.filter(pl.col("_flag") == "1")
        .select(
            C.customer_id,
            C.product_id,
            pl.lit(Events.purchase).alias(C.event),
            pl.col("_at").alias(C.timestamp),
        )
        .sort(C.timestamp, C.customer_id, C.product_id)
    )
