"""`recsys data describe DIR` end to end on a tiny dataset written to disk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.write import write_dataset
from recsys_cli import data_describe


def app() -> typer.Typer:
    group = typer.Typer()

    @group.callback()
    def _data() -> None:  # a callback keeps `describe` a sub-command, as under `recsys data`
        pass

    data_describe.register(group)
    return group


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_describe_prints_every_table(
    tmp_path: Path, fmt: str, write_tiny_dataset: Callable[..., Path]
) -> None:
    folder = write_tiny_dataset(tmp_path, fmt)
    result = CliRunner().invoke(app(), ["describe", str(folder)], terminal_width=160)
    assert result.exit_code == 0, result.output
    for title in (
        "Counts",
        "Event date range (UTC)",
        "Products by category",
        "Products held per customer",
        "Purchases per month",
        "Events by type and channel",
    ):
        assert title in result.output
    assert "savings_account" in result.output
    assert "2024-03-01" in result.output  # the month of the last purchase
    # held: c1 {p1, p4}, c2 nothing (closed p2), c3 {p3}, c4 and c5 nothing -> mean 3 / 5
    assert "0.60" in result.output


def test_describe_summarises_the_months_and_full_lists_them(
    tmp_path: Path, write_tiny_dataset: Callable[..., Path]
) -> None:
    folder = write_tiny_dataset(tmp_path)
    short = CliRunner().invoke(app(), ["describe", str(folder)], terminal_width=160)
    assert short.exit_code == 0, short.output
    # purchases in 2024-01, -02 and -03: only the first and last month are named
    assert "2024-01-01" in short.output and "2024-02-01" not in short.output
    assert "--full" in short.output
    full = CliRunner().invoke(app(), ["describe", str(folder), "--full"], terminal_width=160)
    assert full.exit_code == 0, full.output
    assert all(f"2024-0{m}-01" in full.output for m in (1, 2, 3))


def test_describe_cutoff_changes_holdings(
    tmp_path: Path, write_tiny_dataset: Callable[..., Path]
) -> None:
    folder = write_tiny_dataset(tmp_path)
    # at the end of 2024-01-05 only c1 holds anything ({p1}): mean 1 / 5
    args = ["describe", str(folder), "--cutoff", "2024-01-05"]
    result = CliRunner().invoke(app(), args, terminal_width=160)
    assert result.exit_code == 0, result.output
    assert "0.20" in result.output


def test_describe_bad_data_exits_2(tmp_path: Path, tiny_bank_data: BankData) -> None:
    data = tiny_bank_data
    bad = data.events.with_columns(pl.lit("ZZZ9").alias(C.product_id))
    write_dataset(BankData(data.customers, data.products, bad), tmp_path, fmt="csv")
    result = CliRunner().invoke(app(), ["describe", str(tmp_path)])
    assert result.exit_code == 2
    assert "ZZZ9" in result.output


def test_describe_missing_folder_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app(), ["describe", str(tmp_path / "nope")])
    assert result.exit_code == 2


def test_parse_cutoff() -> None:
    assert data_describe.parse_cutoff(None) is None
    end_of_day = datetime(2024, 2, 1, 23, 59, 59, 999999, tzinfo=UTC)
    assert data_describe.parse_cutoff("2024-02-01") == end_of_day
    assert data_describe.parse_cutoff("2024-02-01T10:00") == datetime(2024, 2, 1, 10, tzinfo=UTC)
    plus_one = datetime(2024, 2, 1, 10, tzinfo=timezone(timedelta(hours=1)))
    assert data_describe.parse_cutoff("2024-02-01T10:00+01:00") == plus_one
    with pytest.raises(typer.BadParameter, match="not an ISO date"):
        data_describe.parse_cutoff("1st of May")


def test_frame_table_formats_cells() -> None:
    frame = pl.DataFrame({"a": ["x", None], "n": [1234, 5], "f": [0.5, 1.0 / 3]})
    table = data_describe.frame_table(frame, "T")
    cells = [list(col.cells) for col in table.columns]
    assert cells == [["x", ""], ["1,234", "5"], ["0.50", "0.33"]]
    assert [c.justify for c in table.columns] == ["left", "right", "right"]
