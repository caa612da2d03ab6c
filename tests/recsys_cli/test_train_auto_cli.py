"""`recsys train --model auto`: protocol, candidate table, registration and the gate's reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from recsys_cli.console import console
from recsys_cli.main import app
from tests.training.trained import fresh_sqlite_store, generated_dataset


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> Path:
    db = tmp_path / "mlflow.db"
    fresh_sqlite_store(tmp_path_factory.getbasetemp(), db)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    monkeypatch.setenv("RECSYS_HOME", str(tmp_path / "home"))
    return db


def test_auto_prints_the_protocol_and_every_candidate_and_registers(
    store: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "width", 250)  # the table's rows unfolded
    data = generated_dataset(tmp_path_factory.getbasetemp())
    args = ["train", "--data", str(data), "--model", "auto", "--budget", "2s"]
    result = CliRunner().invoke(app, [*args, "--register", "--promote"])
    assert result.exit_code in (0, 3), result.output
    out = result.output
    assert "protocol: hide-one-held" in out  # 800 customers: no window holds 2,000
    for name in ("itemknn", "sequence", "bpr", "baseline popularity_recent", "transition_table"):
        assert name in out
    assert "registered bank-recsys version 1" in out
    assert "against the strongest baseline" in out and "promoted to champion" in out


def test_a_bad_budget_is_a_usage_error(store: Path, tmp_path_factory) -> None:
    data = generated_dataset(tmp_path_factory.getbasetemp())
    result = CliRunner().invoke(
        app, ["train", "--data", str(data), "--model", "auto", "--budget", "later"]
    )
    assert result.exit_code == 2 and "--budget must be a positive duration" in result.output
