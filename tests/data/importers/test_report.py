"""The import report: skips and adjustments are counted exactly, zero counts are not listed."""

from __future__ import annotations

import polars as pl

from recsys.data.importers.report import ImportReport, Skipped, drop_counted


def test_drop_counted_counts_true_and_null_as_bad() -> None:
    report = ImportReport("t")
    frame = pl.DataFrame({"x": [1, None, 3, 4]})
    kept = drop_counted(frame, pl.col("x") > 2, report, "events", "f.csv", "too big")
    assert kept["x"].to_list() == [1]  # null compares to null: counted as bad, not kept
    assert report.skipped == [Skipped("events", "f.csv", "too big", 3)]
    assert kept.columns == ["x"]


def test_zero_counts_are_not_listed_but_facts_are() -> None:
    report = ImportReport("t")
    drop = report.dropper("rows", "f.csv")
    assert drop(pl.DataFrame({"x": [1]}), pl.col("x") > 5, "never").height == 1
    report.adjust("customers", "f.csv", "nothing", 0)
    report.fact("matched", 0)
    assert report.skipped == [] and report.adjusted == [] and report.facts == {"matched": 0}


def test_skipped_count_filters_by_item_and_file() -> None:
    report = ImportReport("t")
    report.skip("events", "a.csv", "r1", 2)
    report.skip("events", "b.csv", "r2", 3)
    report.skip("customers", "a.csv", "r3", 5)
    assert report.skipped_count("events") == 5
    assert report.skipped_count("events", "a.csv") == 2
    assert report.skipped_count("products") == 0
