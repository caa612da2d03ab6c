"""Regression: the gate raised KeyError when the champion was registered outside `recsys train`."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from recsys.settings import Settings
from training.pipeline import run_training
from training.registry import Registry
from training.tracking import configure_mlflow, experiment_id

from .trained import fresh_sqlite_store, generated_dataset, train_config


def test_champion_without_family_tags_refuses_promotion_with_a_reason(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
):
    base = tmp_path_factory.getbasetemp()
    settings = Settings(
        home=tmp_path, mlflow_tracking_uri=fresh_sqlite_store(base, tmp_path / "m.db")
    )
    configure_mlflow(settings)
    folder = tmp_path / "handmade"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    with mlflow.start_run(experiment_id=experiment_id(settings)) as run:
        mlflow.log_artifacts(str(folder), artifact_path="model")
    reg = Registry(settings.registered_model, settings.champion_alias)
    handmade = reg.register(f"{run.info.artifact_uri}/model", run.info.run_id, {})
    reg.promote(handmade)

    outcome = run_training(
        generated_dataset(base), train_config("popularity"), settings, register=True, promote=True
    )

    assert outcome.verdict is not None and not outcome.verdict.promote
    assert "no family/params tags" in outcome.verdict.reason
    assert int(reg.champion().version) == handmade
    assert outcome.version == handmade + 1  # registered, not promoted
