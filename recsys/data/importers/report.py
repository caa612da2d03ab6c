"""What an import kept, skipped and adjusted: every source item is accounted for here.

An importer never drops a customer, product or row without a `Skipped` entry naming the file,
the reason and how many, and never fills in a value without an `Adjusted` entry saying what it
assumed. The CLI prints both lists; tests reconcile them against the source row counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from recsys.data.dataset import BankData

Item = Literal["customers", "products", "events", "rows"]


@dataclass(frozen=True)
class Skipped:
    """Source items left out of the dataset: which kind, from which file, why, how many."""

    item: Item
    file: str
    reason: str
    count: int


@dataclass(frozen=True)
class Adjusted:
    """Items kept with a documented assumption or default (imputed, redated, derived)."""

    item: Item
    file: str
    note: str
    count: int


@dataclass
class ImportReport:
    """The bookkeeping of one import: rows read per file, then skips and adjustments."""

    source: str
    rows_read: dict[str, int] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    adjusted: list[Adjusted] = field(default_factory=list)
    # Informational tallies shown even when zero (e.g. "customers matched to a profile").
    facts: dict[str, int] = field(default_factory=dict)

    def read(self, file: str, frame: pl.DataFrame) -> pl.DataFrame:
        """Record how many data rows `file` had; returns the frame for chaining."""
        self.rows_read[file] = frame.height
        return frame

    def skip(self, item: Item, file: str, reason: str, count: int) -> None:
        """Record `count` skipped items (nothing is recorded for a count of zero)."""
        if count:
            self.skipped.append(Skipped(item, file, reason, int(count)))

    def adjust(self, item: Item, file: str, note: str, count: int) -> None:
        """Record `count` items kept under an assumption (nothing for a count of zero)."""
        if count:
            self.adjusted.append(Adjusted(item, file, note, int(count)))

    def dropper(self, item: Item, file: str) -> Dropper:
        """A `drop_counted` bound to this report, one kind of item and one file."""
        return Dropper(self, item, file)

    def fact(self, label: str, count: int) -> None:
        """Record an informational tally, kept even when it is zero."""
        self.facts[label] = int(count)

    def skipped_count(self, item: Item, file: str | None = None) -> int:
        """Total skipped items of one kind, optionally from one file only."""
        return sum(s.count for s in self.skipped if s.item == item and file in (None, s.file))


@dataclass(frozen=True)
class ImportResult:
    """An imported canonical dataset together with the report of how it was made."""

    data: BankData
    report: ImportReport


@dataclass(frozen=True)
class Dropper:
    """Drops rows that fail a rule, counting them in a report under one item kind and file."""

    report: ImportReport
    item: Item
    file: str

    def __call__(self, frame: pl.DataFrame, bad: pl.Expr, reason: str) -> pl.DataFrame:
        """Rows where `bad` is false (null counts as bad); the others are counted as skipped."""
        return drop_counted(frame, bad, self.report, self.item, self.file, reason)


def drop_counted(
    frame: pl.DataFrame, bad: pl.Expr, report: ImportReport, item: Item, file: str, reason: str
) -> pl.DataFrame:
    """Rows where `bad` is false; the rows where it is true are counted in `report`."""
    flagged = frame.with_columns(bad.fill_null(True).alias("_bad"))
    report.skip(item, file, reason, int(flagged["_bad"].sum()))
    return flagged.filter(~pl.col("_bad")).drop("_bad")
