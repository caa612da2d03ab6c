"""The events of a few customers since a snapshot, as plain columns: what a request overlays.

A request reads a handful of rows for one customer. Typing them into a polars frame (a Series
per column) and reading them back out again cost far more than the few lines of Python the
work is; these lists go from the store's cursor to the overlay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

import polars as pl

from recsys.columns import Columns as C
from recsys.data.schema import UTC_DATETIME

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
SCHEMA: Final = {
    C.customer_id: pl.String,
    C.product_id: pl.String,
    C.event: pl.String,
    C.timestamp: UTC_DATETIME,
}


@dataclass(frozen=True, eq=False)
class RecentEvents:
    """Events oldest first (ties in stored order); `micros`: UTC microseconds since the epoch."""

    customer_id: list[str] = field(default_factory=list)
    product_id: list[str] = field(default_factory=list)
    event: list[str] = field(default_factory=list)
    micros: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        sizes = {len(self.customer_id), len(self.product_id), len(self.event), len(self.micros)}
        if len(sizes) > 1:
            raise ValueError(f"RecentEvents columns differ in length: {sorted(sizes)}")

    def __len__(self) -> int:
        return len(self.micros)

    @classmethod
    def from_frame(cls, events: pl.DataFrame) -> RecentEvents:
        """The rows of a frame with SCHEMA's columns and dtypes (no nulls), in its order."""
        misfit = cls.misfit(events)
        if misfit is not None:
            raise ValueError(f"events[{misfit}]: needs {SCHEMA[misfit]} without nulls")
        return cls(
            customer_id=events.get_column(C.customer_id).to_list(),
            product_id=events.get_column(C.product_id).to_list(),
            event=events.get_column(C.event).to_list(),
            # Series.to_physical runs a query; the cast reads the same int64 values
            micros=events.get_column(C.timestamp).cast(pl.Int64).to_list(),
        )

    @staticmethod
    def misfit(events: pl.DataFrame) -> str | None:
        """The first SCHEMA column `events` lacks, has in another dtype or with nulls; None
        when `from_frame` takes it."""
        for name, dtype in SCHEMA.items():
            column = events.get_column(name, default=None)
            if column is None or column.dtype != dtype or column.has_nulls():
                return name
        return None


def utc_micros(stamp: str | datetime) -> int:
    """UTC microseconds since the epoch of a stored timestamp (SQLite: SQLAlchemy's UTC text)."""
    moment = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    if moment.tzinfo is None:  # stored in UTC (recsys.stores.tables); the text drops the zone
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND
