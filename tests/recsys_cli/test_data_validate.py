"""`recsys data validate DIR [--now ISO]` end to end: exit codes, problems printed, summary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from recsys.columns import Columns as C
from recsys_cli import data_validate


def app() -> typer.Typer:
    group = typer.Typer()

    @group.callback()
    def _data() -> None:  # a callback keeps `validate` a sub-command, as under `recsys data`
        pass

    data_validate.register(group)
    return group


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app(), ["validate", *args], terminal_width=200)
    return result.exit_code, result.output


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_valid_dataset_prints_a_summary(
    tmp_path: Path, write_tiny_dataset: Callable[..., Path], fmt: str
) -> None:
    code, output = run(str(write_tiny_dataset(tmp_path, fmt)), "--now", "2025-01-01")
    assert code == 0, output
    assert "valid" in output
    for expected in (
        "customers",
        "products",
        "events",
        "15",
        "2024-01-03T09:30:00+00:00",
        "2024-06-30T12:00:00+00:00",
        "purchase",
        "impression",
    ):
        assert expected in output


def test_problems_are_listed_and_exit_2(
    tmp_path: Path, write_tiny_dataset: Callable[..., Path]
) -> None:
    folder = write_tiny_dataset(tmp_path, "csv")
    path = folder / "events.csv"
    events = pl.read_csv(path, infer_schema=False)
    events.with_columns(
        pl.Series(C.product_id, ["[p9]"] + events[C.product_id].to_list()[1:])
    ).write_csv(path)
    code, output = run(str(folder), "--now", "2024-06-01T00:00:00Z")
    assert code == 2
    assert "2 problem(s)" in output
    # markup-like values print as written
    assert "events.csv, column product_id, row 1: unknown product ['[p9]']" in output
    assert "events.csv, column timestamp, rows 14, 15: in the future" in output


def test_missing_folder_and_bad_now_exit_2(tmp_path: Path, tiny_dataset_dir: Path) -> None:
    code, output = run(str(tmp_path / "absent"))
    assert code == 2 and "no such dataset folder" in output
    code, output = run(str(tiny_dataset_dir), "--now", "yesterday")
    assert code == 2 and "not an ISO date/time" in output


def test_default_now_is_the_current_time(tiny_dataset_dir: Path) -> None:
    code, output = run(str(tiny_dataset_dir))
    assert code == 0, output
