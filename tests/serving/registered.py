"""A small MLflow registry for serving tests: a champion trained by the real pipeline, and
further versions registered from engine bundles a test derives from the champion's.

Training costs seconds, so `trained_registry` builds once per process (per pytest-xdist
worker); call it from a module- or session-scoped fixture with a base temp folder.
"""

from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass
from pathlib import Path

import mlflow

from recsys.data.generate import generate
from recsys.data.write import write_dataset
from recsys.engine.engine import Engine
from recsys.models.registry import build_model
from recsys.settings import Settings
from training.config import TrainConfig
from training.evaluate import train_data
from training.pipeline import run_training
from training.pyfunc import log_pyfunc
from training.pyfunc_model import BUNDLE_ARTIFACT
from training.registry import Registry
from training.tracking import configure_mlflow, experiment_id

N_CUSTOMERS = 200
SEED = 3
FAMILY = "popularity"


@dataclass(frozen=True)
class TrainedRegistry:
    """A registry whose first version was trained, registered and promoted by run_training."""

    settings: Settings
    champion: str  # the trained version
    run_id: str
    bundle: Path  # a local copy of the champion's engine bundle


@functools.cache
def trained_registry(base: Path) -> TrainedRegistry:
    """Train a popularity model on a generated bank of N_CUSTOMERS and make it the champion."""
    data = write_dataset(generate(N_CUSTOMERS, seed=SEED), base / "bank", fmt="parquet")
    settings = Settings(home=base / "registry-home", mlflow_tracking_uri=None)
    configure_mlflow(settings)
    config = TrainConfig.model_validate({"model": {"family": FAMILY}})
    outcome = run_training(data, config, settings, register=True, promote=True)
    assert outcome.version is not None and outcome.verdict is not None
    assert outcome.verdict.promote, outcome.verdict
    uri = f"models:/{settings.registered_model}/{outcome.version}/artifacts/{BUNDLE_ARTIFACT}"
    local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(base / "v1"))
    bundle = shutil.copytree(local, base / "champion-bundle")
    return TrainedRegistry(settings, str(outcome.version), outcome.run_id, Path(bundle))


def registry(settings: Settings) -> Registry:
    """The project's Registry wrapper, with MLflow pointed at `settings` (tests move it)."""
    configure_mlflow(settings)
    return Registry(settings.registered_model, settings.champion_alias)


def register_bundle(
    settings: Settings, bundle: Path, *, tags: dict[str, str], metrics: dict[str, float]
) -> str:
    """Log `bundle` as the pyfunc in a new run with `metrics`, register it; the version."""
    reg = registry(settings)
    with mlflow.start_run(experiment_id=experiment_id(settings)) as run:
        mlflow.log_metrics(metrics)
        uri = log_pyfunc(bundle)
        return str(reg.register(uri, run.info.run_id, tags))


def itemknn_bundle(bundle: Path, folder: Path) -> Path:
    """`bundle` with its model replaced by item-kNN fitted on its snapshot, saved in `folder`."""
    engine = Engine.load(bundle)
    knn = build_model("itemknn", {}).fit(train_data(engine.snapshot))
    return Engine(
        knn,
        engine.fallback,
        engine.snapshot,
        excluded_categories=engine.excluded_categories,
        purchase_weight=engine.purchase_weight,
        manifest=engine.manifest,
    ).save(folder)
