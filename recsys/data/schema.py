"""The canonical dataset contract: three tables, their columns, types and keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from recsys.columns import Columns as C

TABLES: Final = ("customers", "products", "events")
EXTENSIONS: Final = (".parquet", ".csv")
UTC_DATETIME: Final = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a table: its canonical dtype, whether it must exist and may be null."""

    name: str
    dtype: pl.DataType
    required: bool = True
    nullable: bool = False


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its columns and the column(s) that form its unique key."""

    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...] = ()
    keep_extra: bool = False

    def column(self, name: str) -> ColumnSpec:
        """The spec of a named column."""
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        """All known column names, in canonical order."""
        return tuple(c.name for c in self.columns)


CUSTOMERS: Final = TableSpec(
    "customers",
    (
        ColumnSpec(C.customer_id, pl.String),
        ColumnSpec(C.birth_year, pl.Int32),
        ColumnSpec(C.segment, pl.String),
        ColumnSpec(C.risk_tolerance, pl.Int8),
        ColumnSpec(C.marketing_consent, pl.Boolean),
        ColumnSpec(C.income_band, pl.String, required=False, nullable=True),
        ColumnSpec(C.region, pl.String, required=False, nullable=True),
        ColumnSpec(C.joined_at, pl.Date, required=False, nullable=True),
    ),
    key=(C.customer_id,),
    keep_extra=True,
)

PRODUCTS: Final = TableSpec(
    "products",
    (
        ColumnSpec(C.product_id, pl.String),
        ColumnSpec(C.name, pl.String),
        ColumnSpec(C.category, pl.String),
        ColumnSpec(C.risk_rating, pl.Int8),
        ColumnSpec(C.min_age, pl.Int16, required=False, nullable=True),
        ColumnSpec(C.max_age, pl.Int16, required=False, nullable=True),
        # empty list = sold in every channel
        ColumnSpec(C.channels, pl.List(pl.String), required=False, nullable=True),
        ColumnSpec(C.repeatable, pl.Boolean, required=False),
        ColumnSpec(C.active_from, pl.Date, required=False, nullable=True),
        ColumnSpec(C.active_to, pl.Date, required=False, nullable=True),
        ColumnSpec(C.value, pl.Float64, required=False, nullable=True),
        ColumnSpec(C.term_months, pl.Int16, required=False, nullable=True),
        ColumnSpec(C.tags, pl.List(pl.String), required=False, nullable=True),
    ),
    key=(C.product_id,),
)

EVENTS: Final = TableSpec(
    "events",
    (
        ColumnSpec(C.customer_id, pl.String),
        ColumnSpec(C.product_id, pl.String),
        ColumnSpec(C.event, pl.String),
        ColumnSpec(C.timestamp, UTC_DATETIME),
        ColumnSpec(C.channel, pl.String, required=False, nullable=True),
        ColumnSpec(C.amount, pl.Float64, required=False, nullable=True),
    ),
)

SPECS: Final = {s.name: s for s in (CUSTOMERS, PRODUCTS, EVENTS)}
