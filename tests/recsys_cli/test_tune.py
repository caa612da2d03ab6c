"""`recsys tune` end to end: a tuned TOML that `recsys train --config` accepts, exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from recsys.columns import Columns as C
from recsys.data.generate import generate
from recsys.data.write import write_dataset
from recsys_cli import train, tune
from training.config import load_train_config


def app() -> typer.Typer:
    root = typer.Typer()
    tune.register(root)
    train.register(root)  # the tuned file must be usable by `recsys train --config`
    return root


def run(*args: str) -> tuple[int, str]:
    """Exit code and output with whitespace runs collapsed (rich wraps long paths)."""
    result = CliRunner().invoke(app(), list(args), terminal_width=240)
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture(scope="module")
def bank_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated bank, written once for the module."""
    return write_dataset(generate(400, seed=2), tmp_path_factory.mktemp("bank"), fmt="parquet")


@pytest.fixture(scope="module")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite store with its schema created once (migrations take ~1 s)."""
    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    # opening the store runs the migrations; a client of its own leaves global state alone
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_store: Path) -> Path:
    """Each test gets its own state folder, so its own MLflow store (a copy of the migrated one)."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(migrated_store, home / "mlflow.db")
    monkeypatch.setenv("RECSYS_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return home


def test_tune_writes_a_config_that_train_accepts(bank_dir: Path, tmp_path: Path) -> None:
    base = tmp_path / "base.toml"
    base.write_text('[model]\nfamily = "als"\n\n[split]\nwindow_days = 40\n')
    out = tmp_path / "configs" / "tuned.toml"
    code, output = run(
        "tune",
        "--data",
        str(bank_dir),
        "--model",
        "itemknn",
        "--trials",
        "3",
        "--config",
        str(base),
        "--out",
        str(out),
        "--seed",
        "4",
        "--metric",
        "hit_rate_at_5",
    )
    assert code == 0, output
    cfg = load_train_config(out)
    assert cfg.model.family == "itemknn" and cfg.split.window_days == 40
    assert cfg.evaluation.metric == "hit_rate_at_5"
    assert cfg.model.params["similarity"] in ("cosine", "bm25", "tfidf")
    assert "top trials of 3 (0 failed)" in output and "hit_rate_at_5" in output
    assert f"--config {out}" in output

    parents = mlflow.search_runs(search_all_experiments=True, filter_string="tags.kind = 'tune'")
    assert len(parents) == 1
    assert parents["params.tune.seed"].iloc[0] == "4"

    code, output = run("train", "--data", str(bank_dir), "--config", str(out))
    assert code == 0, output
    assert "itemknn vs the baselines" in output


def test_bad_data_exits_2_and_writes_nothing(bank_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("customers", "products"):
        (bad / f"{name}.parquet").write_bytes((bank_dir / f"{name}.parquet").read_bytes())
    events = pl.read_parquet(bank_dir / "events.parquet")
    events.with_columns(pl.lit("NO-SUCH-PRODUCT").alias(C.product_id)).head(5).write_parquet(
        bad / "events.parquet"
    )
    out = tmp_path / "tuned.toml"
    code, output = run("tune", "--data", str(bad), "--model", "als", "--out", str(out))
    assert code == 2, output
    assert "failed validation" in output and "NO-SUCH-PRODUCT" in output
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--model", "svd"), "--model must be one of"),
        (("--model", "als", "--metric", "ndcg_at_7"), "not measured at k=5"),
        (("--model", "als", "--trials", "0"), "--trials"),
    ],
)
def test_usage_errors_exit_2(bank_dir: Path, tmp_path: Path, args: tuple, message: str) -> None:
    out = tmp_path / "tuned.toml"
    code, output = run("tune", "--data", str(bank_dir), "--out", str(out), *args)
    assert code == 2, output
    assert message in output
    assert not out.exists()


def test_every_trial_failing_exits_1_and_writes_nothing(bank_dir: Path, tmp_path: Path) -> None:
    base = tmp_path / "base.toml"
    base.write_text(
        '[model]\nfamily = "lightfm"\n\n[model.params]\ncustomer_columns = ["no_such_column"]\n'
    )
    out = tmp_path / "tuned.toml"
    code, output = run(
        "tune", "--data", str(bank_dir), "--config", str(base), "--trials", "2", "--out", str(out)
    )
    assert code == 1, output
    assert "tuning failed: no trial finished (2 failed)" in output and "no_such_column" in output
    assert not out.exists()


def test_bad_base_config_names_the_file(bank_dir: Path, tmp_path: Path) -> None:
    base = tmp_path / "base.toml"
    base.write_text("[split]\nwindow = 3\n")
    code, output = run("tune", "--data", str(bank_dir), "--config", str(base))
    assert code == 2
    assert "base.toml: split.window" in output
