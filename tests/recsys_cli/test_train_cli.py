"""`recsys train` and `recsys models list|promote|rollback`: the model lifecycle from the shell."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from recsys.columns import Columns as C
from recsys.settings import Settings
from recsys_cli.main import app
from recsys_cli.models import _metric
from tests.training.trained import fresh_sqlite_store, generated_dataset
from training.registry import Registry
from training.tracking import configure_mlflow


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where a fresh SQLite MLflow store goes, selected as operators do: MLFLOW_TRACKING_URI."""
    db = tmp_path / "mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    monkeypatch.setenv("RECSYS_HOME", str(tmp_path / "home"))
    return db


@pytest.fixture
def empty_store(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fresh store, created (empty and migrated) before the CLI opens it."""
    fresh_sqlite_store(tmp_path_factory.getbasetemp(), store)
    return store


@pytest.fixture
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_dataset(tmp_path_factory.getbasetemp())


def recsys(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def train(dataset: Path, model: str, *flags: str) -> tuple[int, str]:
    return recsys("train", "--data", str(dataset), "--model", model, *flags)


def champion_line(output: str) -> str:
    found = re.search(r"champion: version \d+ \(\w+\)", output)
    assert found, output
    return found.group(0)


def test_train_register_promote_refuse_list_and_rollback(empty_store: Path, dataset: Path):
    code, out = train(dataset, "popularity", "--register", "--promote")
    assert code == 0, out
    assert "registered bank-recsys version 1" in out and "promoted to champion" in out

    code, out = train(dataset, "itemknn", "--register", "--promote")
    assert code == 0, out
    assert "registered bank-recsys version 2" in out and "promoted to champion" in out

    # the same popularity model again cannot beat item-kNN: registered, not promoted, exit 3
    code, out = train(dataset, "popularity", "--register", "--promote")
    assert code == 3, out
    assert "registered bank-recsys version 3" in out and "not promoted" in out

    code, out = recsys("models", "list")
    assert code == 0, out
    assert champion_line(out) == "champion: version 2 (itemknn)"
    for version in ("1", "2", "3"):
        assert re.search(rf"^\W*{version}\W", out, re.MULTILINE), out
    configure_mlflow(Settings())  # this process reads the store the CLI wrote (env from `store`)
    versions = Registry().versions()
    assert [(v.version, v.family, v.is_champion) for v in versions] == [
        (3, "popularity", False),
        (2, "itemknn", True),
        (1, "popularity", False),
    ]
    assert versions[1].metrics["ndcg_at_5"] > versions[0].metrics["ndcg_at_5"]

    code, out = recsys("models", "rollback")
    assert code == 0, out
    assert "rolled back to version 1" in out
    assert champion_line(recsys("models", "list")[1]) == "champion: version 1 (popularity)"

    code, out = recsys("models", "promote", "2")
    assert code == 0, out
    assert champion_line(recsys("models", "list")[1]) == "champion: version 2 (itemknn)"

    code, out = recsys("models", "promote", "9")
    assert code == 2 and "has no version 9" in out


def test_bad_data_exits_2_and_creates_no_store(store: Path, dataset: Path, tmp_path: Path):
    bad = tmp_path / "bad"
    shutil.copytree(dataset, bad)
    events = pl.read_parquet(bad / "events.parquet")
    ids = events[C.product_id].to_list()
    ids[4] = "ZZZ9"
    events.with_columns(pl.Series(C.product_id, ids)).write_parquet(bad / "events.parquet")
    code, out = train(bad, "popularity", "--register", "--promote")
    assert code == 2, out
    assert "nothing trained or registered" in out
    assert "ZZZ9" in out and C.product_id in out
    assert not store.exists()  # not even an MLflow store was opened


def test_promote_and_skip_unchanged_need_register(store: Path, dataset: Path) -> None:
    code, out = train(dataset, "popularity", "--promote")
    assert code == 2 and "--promote needs --register" in out
    code, out = train(dataset, "popularity", "--skip-unchanged")
    assert code == 2 and "--skip-unchanged needs --register" in out
    assert not store.exists()


def test_a_second_unchanged_run_says_the_champion_is_kept(
    empty_store: Path, dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # outside git: the code is named by the package version
    flags = ("--register", "--promote", "--skip-unchanged")
    assert train(dataset, "popularity", *flags)[0] == 0
    assert train(dataset, "itemknn", *flags)[0] == 0
    code, out = train(dataset, "itemknn", *flags)
    assert code == 0 and "unchanged: champion v2 kept" in out, out
    code, out = train(dataset, "popularity", *flags)
    assert code == 0, out
    assert "unchanged: version 1 (popularity)" in out and "champion v2 kept" in out
    assert "registered bank-recsys version" not in out
    configure_mlflow(Settings())
    assert [v.version for v in Registry().versions()] == [2, 1]


def test_unknown_model_family_is_refused(store: Path, dataset: Path) -> None:
    code, out = train(dataset, "deepfm")
    assert code == 2 and "--model must be one of" in out


def test_models_list_and_rollback_on_an_empty_registry(empty_store: Path) -> None:
    code, out = recsys("models", "list")
    assert code == 0 and "no versions of 'bank-recsys' registered yet" in out
    code, out = recsys("models", "rollback")
    assert code == 2 and "no previous champion" in out


def test_models_list_shows_each_metric_at_the_runs_own_k() -> None:
    """Regression: `mrr` and `coverage` were looked up without their `_at_<k>` and showed '-'."""
    logged = {
        "ndcg_at_10": 0.25,
        "baseline_ndcg_at_10": 0.125,
        "lift_ndcg_at_10": 1.0,
        "coverage_at_10": 0.5,
        "champion_map_at_10": 0.75,
    }
    assert _metric(logged, "ndcg") == "0.2500"
    assert _metric(logged, "coverage") == "0.5000"
    assert _metric(logged, "map") == "-"  # only the champion's figure, not this run's
