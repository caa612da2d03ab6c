"""A registered champion and a loaded model for the serving tests, built once per test process.

Training and registering costs seconds, so every serving test shares one registry (SQLite)
and one event store file. Tests that record events use customers no other test touches.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from recsys.data.generate import generate
from recsys.data.write import write_dataset
from recsys.settings import Settings
from serving.models.follower import ModelFollower
from serving.models.holder import LoadedModel, ModelHolder
from training.config import TrainConfig
from training.pipeline import TrainOutcome, run_training
from training.tracking import configure_mlflow

N_CUSTOMERS = 600
SEED = 11
FAMILY = "itemknn"


@dataclass(frozen=True)
class Trained:
    """Settings pointing at the registry and event store, the training outcome, the model."""

    settings: Settings
    outcome: TrainOutcome
    loaded: LoadedModel
    data_dir: Path


@functools.cache
def trained(base: Path) -> Trained:
    """Generate data, train + register + promote an item-kNN, load it as the server would."""
    data_dir = write_dataset(generate(N_CUSTOMERS, seed=SEED), base / "bank", fmt="parquet")
    settings = Settings(
        home=base / "home",
        mlflow_tracking_uri=None,
        database_url=f"sqlite:///{base / 'events.db'}",
    )
    configure_mlflow(settings)
    config = TrainConfig.model_validate({"model": {"family": FAMILY}})
    outcome = run_training(data_dir, config, settings, register=True, promote=True)
    assert outcome.verdict is not None and outcome.verdict.promote, outcome.verdict
    holder = ModelHolder()
    loaded = ModelFollower(settings, holder, cache_dir=base / "cache").load_initial()
    assert loaded is not None and holder.current() is loaded
    return Trained(settings, outcome, loaded, data_dir)
