"""A training run calibrates on its holdout: ECE and the reliability plot in MLflow, the
calibrators in the registered bundle, probabilities served from it."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest

from recsys.engine.engine import CALIBRATION, COLD_START, FALLBACK, MODEL, Engine, at_noon
from recsys.engine.request import Request
from recsys.settings import RankingConfig, Settings
from serving.models.source import ModelSource
from tests.training.trained import champion_registry
from training.pipeline import TrainOutcome


@pytest.fixture
def champion(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, TrainOutcome]:
    return champion_registry(tmp_path_factory.getbasetemp())


def test_the_run_logs_ece_and_the_reliability_plot(champion) -> None:
    _, outcome = champion
    run = mlflow.MlflowClient().get_run(outcome.run_id)
    for name in (MODEL, FALLBACK):
        assert 0 <= run.data.metrics[f"calibration_ece_{name}"] < 0.05
        assert run.data.metrics[f"calibration_purchases_{name}"] > 0
    assert run.data.params["calibration.method"] == "isotonic"
    logged = {a.path for a in mlflow.MlflowClient().list_artifacts(outcome.run_id, "calibration")}
    assert logged == {"calibration/reliability.png"}


def test_the_registered_bundle_serves_probabilities(champion, tmp_path: Path) -> None:
    settings, outcome = champion
    source = ModelSource(
        settings.resolved_tracking_uri, settings.registered_model, settings.champion_alias
    )
    bundle = source.download_bundle(str(outcome.version), tmp_path)
    assert (bundle / CALIBRATION).exists() and (bundle / COLD_START).exists()
    engine = Engine.load(bundle)
    prior = engine.prior.scores(engine.snapshot.customers.head(20), engine.snapshot.products)
    assert prior.shape == (20, len(engine.catalog)) and prior.max() > 0
    ids = engine.snapshot.customer_map.ids[:50].tolist()
    out = engine.answer(
        Request(ids, 3, at_noon(engine.snapshot.as_of), ranking=RankingConfig(), reasons=0)
    )
    assert out.valued is not None
    p = out.valued[0][out.ids >= 0]
    assert ((p >= 0) & (p <= 1)).all() and p.max() > 0
    assert np.isfinite(p).all()
