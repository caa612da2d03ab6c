"""`recsys data generate` end to end: files written in either format, summary, usage errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from recsys.columns import DEFAULT_CHANNELS
from recsys.columns import Columns as C
from recsys.data.generate.truth import read_truth
from recsys.data.validate import validate_dataset
from recsys_cli import data_generate


def app() -> typer.Typer:
    group = typer.Typer()

    @group.callback()
    def _data() -> None:  # a callback keeps `generate` a sub-command, as under `recsys data`
        pass

    data_generate.register(group)
    return group


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app(), ["generate", *args], terminal_width=200)
    return result.exit_code, result.output


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_writes_a_valid_dataset_and_prints_counts(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "bank"
    code, output = run("--customers", "150", "--seed", "4", "--out", str(out), "--format", fmt)
    assert code == 0, output
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md", f"customers.{fmt}", f"events.{fmt}", f"products.{fmt}", "truth.npz"
    ]
    truth = read_truth(out)
    assert len(truth) == 150 and truth.seed == 4
    assert truth.customer_ids().tolist() == sorted(
        pl.read_parquet(out / "customers.parquet")[C.customer_id].to_list()
        if fmt == "parquet" else pl.read_csv(out / "customers.csv")[C.customer_id].to_list()
    )
    assert "truth.npz" in (out / "README.md").read_text()
    data, problems = validate_dataset(out, channels=DEFAULT_CHANNELS)
    assert problems == [] and data is not None
    assert data.customers.height == 150
    for expected in ("customers", "150", "purchase", f"{data.events.height:,}"):
        assert expected in output
    purchases = data.events.filter(pl.col(C.event) == "purchase").height
    assert f"{purchases:,}" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2025-01-15"], "first day of a month"),
        (["--start", "2090-01-01"], "after today"),
        (["--start", "soon"], "not an ISO date"),
        (["--customers", "0"], "customers"),
        (["--format", "xml"], "format"),
    ],
)
def test_bad_usage_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    base = {"--customers": "10", "--seed": "1", "--out": str(tmp_path / "x")}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    code, output = run(*[part for pair in base.items() for part in pair])
    assert code == 2
    assert message in output
    assert not (tmp_path / "x").exists()
