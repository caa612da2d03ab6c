"""`recsys data prepare` with polars: the interaction weights file, and its usage errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from recsys.columns import Columns as C
from recsys.data.generate import generate
from recsys.data.interactions import interaction_weights
from recsys.settings import Settings
from recsys_cli.main import app

runner = CliRunner()


def test_writes_the_weights_training_reads(tmp_path: Path) -> None:
    bank = generate(200, seed=3)
    events = tmp_path / "events.parquet"
    bank.events.write_parquet(events)
    as_of = bank.events[C.timestamp].max()
    out = tmp_path / "weights.parquet"
    args = ["data", "prepare", str(events), "--out", str(out), "--as-of", as_of.isoformat()]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    w = Settings().weights
    expected = interaction_weights(
        bank.events, weights=w.as_dict(), half_life_days=w.half_life_days, as_of=as_of
    )
    assert pl.read_parquet(out).equals(expected) and expected.height > 200


def test_bad_engine_and_missing_file_are_usage_errors(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["data", "prepare", str(tmp_path / "no"), "--out", "x.parquet"])
    assert missing.exit_code == 2 and "no such file" in missing.output
    bad = runner.invoke(
        app, ["data", "prepare", str(tmp_path), "--out", "x.parquet", "--engine", "dask"]
    )
    assert bad.exit_code == 2 and "polars or spark" in bad.output
