"""Import the Santander product-recommendation sample (see ../shared/datasets/README.md).

Source -> canonical:

- products: the codes of products.csv that santander_catalog maps (category, R1..R5, ages).
- events: one `purchase` per adoption_events.csv row, at its TIMESTAMP (Unix seconds, the
  month's snapshot date). The first snapshot (2015-01-28) lists what customers ALREADY held
  when the extract starts, not what they bought that day: those rows also become purchases at
  that date (a holding has to start with a purchase), counted as an adjustment. Closures are
  not in the source, so there are no `close` events.
- customers: every USER_ID of adoption_events.csv, with its profile from
  train_ver2_head_2015-01.csv where it appears there (the README says it never does, so the
  documented defaults of santander_profiles apply; the join still runs and is counted).
- risk_tolerance: C3 (defaults.py), raised to the highest risk rating the customer already
  held at the first snapshot: the bank sold them that product, so it had judged them suitable.
  Later purchases do NOT raise it: a static profile built from future purchases would leak
  them into any time-split evaluation (only future securities buyers could be shown
  securities). Later purchases above the tolerance are kept and counted.
- train_ver2_random50k_products.csv is not read: it holds other customers' flags only, with
  no profile and (being a random sample of rows) no reliable first-held month.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import polars as pl

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.dataset import BankData
from recsys.data.importers.defaults import DEFAULT_RISK_TOLERANCE
from recsys.data.importers.report import ImportReport, ImportResult
from recsys.data.importers.santander_catalog import catalogue_frame, name_overrides
from recsys.data.importers.santander_profiles import PROFILES_FILE, customer_profiles
from recsys.data.importers.source import conform, read_text_table, require_files, to_utc
from recsys.data.schema import CUSTOMERS, EVENTS, PRODUCTS

EVENTS_FILE: Final = "adoption_events.csv"
PRODUCTS_FILE: Final = "products.csv"
FILES: Final = (EVENTS_FILE, PRODUCTS_FILE, PROFILES_FILE)

USER_ID, ITEM_ID, TIMESTAMP = "USER_ID", "ITEM_ID", "TIMESTAMP"
ITEM_CODE, ITEM_NAME = "item_id", "item_name"


def import_santander(src: Path) -> ImportResult:
    """Santander adoption events, products and profiles from `src` as a canonical dataset."""
    require_files(src, FILES)
    report = ImportReport("santander")
    products = _products(src, report)
    rows = _adoption_rows(src, report)
    events = _events(rows, products, report)
    first = events[C.timestamp].min()
    customers = customer_profiles(src, rows.select(C.customer_id).unique(), report)
    customers = _with_risk_tolerance(customers, events, products, first, report)
    _count_above_tolerance(events, products, customers, first, report)
    data = BankData(
        customers=conform(customers.sort(C.customer_id), CUSTOMERS, _extra(customers)),
        products=conform(products, PRODUCTS),
        events=conform(events.sort(C.timestamp, C.customer_id, C.product_id), EVENTS),
    )
    return ImportResult(data, report)


def _extra(customers: pl.DataFrame) -> list[str]:
    return [c for c in customers.columns if c not in CUSTOMERS.names]


def _products(src: Path, report: ImportReport) -> pl.DataFrame:
    """products.csv joined to the catalogue; unmapped or repeated codes are counted out."""
    raw = report.read(PRODUCTS_FILE, read_text_table(src / PRODUCTS_FILE, (ITEM_CODE, ITEM_NAME)))
    drop = report.dropper("products", PRODUCTS_FILE)
    raw = drop(raw, pl.col(ITEM_CODE).is_null(), "empty item_id")
    raw = drop(raw, ~pl.col(ITEM_CODE).is_first_distinct(), "item_id repeated (first kept)")
    catalogue = catalogue_frame()
    raw = drop(
        raw,
        ~pl.col(ITEM_CODE).is_in(catalogue[C.product_id].implode()),
        "code has no category/risk mapping",
    )
    return (
        raw.rename({ITEM_CODE: C.product_id})
        .join(catalogue, on=C.product_id, how="left")
        .join(name_overrides(), on=C.product_id, how="left")
        .with_columns(
            pl.coalesce("_name_override", ITEM_NAME, C.product_id).alias(C.name),
            pl.lit(False).alias(C.repeatable),  # a flag says held or not: never twice
        )
        .sort(C.product_id)
    )


def _adoption_rows(src: Path, report: ImportReport) -> pl.DataFrame:
    """adoption_events.csv parsed: rows without a customer id are counted out."""
    raw = read_text_table(src / EVENTS_FILE, (USER_ID, ITEM_ID, TIMESTAMP))
    raw = report.read(EVENTS_FILE, raw).rename({USER_ID: C.customer_id, ITEM_ID: C.product_id})
    drop = report.dropper("events", EVENTS_FILE)
    return drop(raw, pl.col(C.customer_id).is_null(), "empty USER_ID")


def _events(rows: pl.DataFrame, products: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
    """Purchases from adoption rows; bad timestamps, unknown products, repeats counted out."""
    rows = rows.with_columns(pl.col(TIMESTAMP).cast(pl.Int64, strict=False).alias("_epoch"))
    drop = report.dropper("events", EVENTS_FILE)
    rows = drop(rows, pl.col("_epoch").is_null(), "TIMESTAMP is not whole Unix seconds")
    rows = drop(
        rows,
        ~pl.col(C.product_id).is_in(products[C.product_id].implode()),
        "ITEM_ID not among the imported products",
    )
    rows = rows.sort("_epoch")
    pair = pl.struct(C.customer_id, C.product_id)
    # The source has one row per (customer, product): the FIRST month held. Keep the earliest.
    rows = drop(rows, ~pair.is_first_distinct(), "repeated (USER_ID, ITEM_ID) row (earliest kept)")
    events = rows.select(
        C.customer_id,
        C.product_id,
        pl.lit(Events.purchase).alias(C.event),
        to_utc(pl.from_epoch("_epoch", time_unit="s")).alias(C.timestamp),
    )
    at_start = events.filter(pl.col(C.timestamp) == pl.col(C.timestamp).min()).height
    report.adjust(
        "events",
        EVENTS_FILE,
        "held at the first snapshot: recorded as a purchase on that date",
        at_start,
    )
    return events


def _with_risk_tolerance(
    customers: pl.DataFrame,
    events: pl.DataFrame,
    products: pl.DataFrame,
    first: object,
    report: ImportReport,
) -> pl.DataFrame:
    """risk_tolerance = max(C3, highest risk rating held at the first snapshot)."""
    held_max = (
        events.filter(pl.col(C.timestamp) == first)
        .join(products.select(C.product_id, C.risk_rating), on=C.product_id)
        .group_by(C.customer_id)
        .agg(pl.col(C.risk_rating).max().alias("_held_max"))
    )
    out = customers.join(held_max, on=C.customer_id, how="left").with_columns(
        pl.max_horizontal(pl.col("_held_max"), pl.lit(DEFAULT_RISK_TOLERANCE))
        .cast(pl.Int8)
        .alias(C.risk_tolerance)
    )
    raised = out.filter(pl.col(C.risk_tolerance) > DEFAULT_RISK_TOLERANCE).height
    report.adjust(
        "customers",
        EVENTS_FILE,
        "risk_tolerance raised from the default to the highest rating held at the first snapshot",
        raised,
    )
    return out.drop("_held_max")


def _count_above_tolerance(
    events: pl.DataFrame,
    products: pl.DataFrame,
    customers: pl.DataFrame,
    first: object,
    report: ImportReport,
) -> None:
    """Count later purchases rated above the buyer's tolerance (kept; see module docstring)."""
    above = (
        events.filter(pl.col(C.timestamp) > first)
        .join(products.select(C.product_id, C.risk_rating), on=C.product_id)
        .join(customers.select(C.customer_id, C.risk_tolerance), on=C.customer_id)
        .filter(pl.col(C.risk_rating) > pl.col(C.risk_tolerance))
    )
    report.adjust(
        "events",
        EVENTS_FILE,
        "later purchase rated above the customer's risk "
        "tolerance (kept; tolerance uses first-snapshot holdings only)",
        above.height,
    )
