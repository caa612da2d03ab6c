"""Registry behaviour (versions, alias, history, rollback) on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from recsys.settings import Settings
from training.registry import Registry, RegistryError
from training.tracking import experiment_id


def _register_dummy(settings: Settings, tmp_path: Path, score: float) -> int:
    """Log a run with one metric and an artifact folder, register it; returns the version."""
    folder = tmp_path / f"artifact-{score}"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    with mlflow.start_run(experiment_id=experiment_id(settings)) as run:
        mlflow.log_metric("ndcg_at_5", score)
        mlflow.log_artifacts(str(folder), artifact_path="model")
    uri = f"{run.info.artifact_uri}/model"
    return Registry(settings.registered_model).register(
        uri, run.info.run_id, {"family": "popularity"}
    )


def test_versions_promote_and_rollback(registry_settings: Settings, tmp_path: Path):
    reg = Registry(registry_settings.registered_model)
    assert reg.champion() is None and reg.versions() == []
    v1 = _register_dummy(registry_settings, tmp_path, 0.1)
    v2 = _register_dummy(registry_settings, tmp_path, 0.2)
    assert (v1, v2) == (1, 2)

    reg.promote(v1)
    reg.promote(v2)
    assert int(reg.champion().version) == v2
    listed = reg.versions()
    assert [v.version for v in listed] == [2, 1]
    assert [v.is_champion for v in listed] == [True, False]
    assert listed[0].metrics["ndcg_at_5"] == pytest.approx(0.2)
    assert listed[1].family == "popularity"

    assert reg.rollback() == v1
    assert int(reg.champion().version) == v1
    with pytest.raises(RegistryError, match="no previous champion"):
        reg.rollback()


def test_promote_unknown_version_is_an_error(sqlite_settings: Settings, tmp_path: Path):
    _register_dummy(sqlite_settings, tmp_path, 0.1)
    with pytest.raises(RegistryError, match="has no version 7"):
        Registry(sqlite_settings.registered_model).promote(7)


def test_rollback_after_alias_moved_elsewhere(sqlite_settings: Settings, tmp_path: Path):
    reg = Registry(sqlite_settings.registered_model)
    v1 = _register_dummy(sqlite_settings, tmp_path, 0.1)
    v2 = _register_dummy(sqlite_settings, tmp_path, 0.2)
    reg.promote(v1)
    # someone moved the alias in the MLflow UI: rollback must still go back to v1
    reg.client.set_registered_model_alias(reg.name, reg.alias, str(v2))
    assert reg.rollback() == v1


def test_artifacts_go_under_home_on_every_database_store(
    registry_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a postgresql+psycopg2 URI left artifacts in ./mlruns of the working folder."""
    monkeypatch.chdir(tmp_path)
    found = mlflow.MlflowClient().get_experiment(experiment_id(registry_settings))
    assert found.artifact_location == registry_settings.artifact_root.as_uri()
    assert not (tmp_path / "mlruns").exists()
