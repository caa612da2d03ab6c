"""`recsys data import NAME SRC --out DIR` end to end on the real Berka files (the fastest)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from recsys.data.validate import validate_dataset
from recsys_cli import data_import


def app() -> typer.Typer:
    group = typer.Typer()

    @group.callback()
    def _data() -> None:  # a callback keeps `import` a sub-command, as under `recsys data`
        pass

    data_import.register(group)
    return group


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app(), ["import", *args], terminal_width=200)
    return result.exit_code, result.output


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_import_writes_a_valid_dataset_and_prints_the_summary(
    tmp_path: Path, fmt: str, real_dataset: Callable[[str], Path]
) -> None:
    out = tmp_path / "berka"
    code, output = run("berka", str(real_dataset("berka")), "--out", str(out), "--format", fmt)
    assert code == 0, output
    assert sorted(p.name for p in out.iterdir()) == [
        f"{t}.{fmt}" for t in ("customers", "events", "products")
    ]
    data, problems = validate_dataset(out)
    assert problems == [] and data is not None
    for expected in (
        "read order.asc",
        "6,471",
        "wrote customers",
        "5,369",
        "11,400",
        "empty k_symbol (purpose unknown)",
        "1,379",
        "it validates",
    ):
        assert expected in output, expected


def test_source_without_the_expected_files_exits_2(tmp_path: Path) -> None:
    code, output = run("santander", str(tmp_path), "--out", str(tmp_path / "out"))
    assert code == 2
    assert "missing adoption_events.csv" in output
    assert not (tmp_path / "out").exists()


def test_include_test_is_for_zimnat_only(tmp_path: Path) -> None:
    code, output = run("berka", str(tmp_path), "--out", str(tmp_path / "out"), "--include-test")
    assert code == 2 and "zimnat only" in output


def test_unknown_data_set_name_is_a_usage_error(tmp_path: Path) -> None:
    code, _ = run("movielens", str(tmp_path), "--out", str(tmp_path / "out"))
    assert code == 2
