"""A generated dataset and a registry holding a trained champion, built once per test process.

Training and registering costs seconds, so the pyfunc and `mlflow models serve` tests share
one registry. The builders are cached per process (pytest-xdist workers each build their
own); fixtures call them with `tmp_path_factory.getbasetemp()`.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import mlflow

from recsys.data.generate import generate
from recsys.data.write import write_dataset
from recsys.settings import Settings
from training.config import TrainConfig
from training.pipeline import TrainOutcome, run_training
from training.tracking import configure_mlflow

N_CUSTOMERS = 800
SEED = 5
CHAMPION_FAMILY = "itemknn"


@functools.cache
def generated_dataset(base: Path) -> Path:
    """A synthetic bank of N_CUSTOMERS customers written as Parquet under `base`."""
    return write_dataset(generate(N_CUSTOMERS, seed=SEED), base / "generated-bank", fmt="parquet")


@functools.cache
def _migrated_store(base: Path) -> Path:
    path = base / "mlflow-template.db"
    uri = f"sqlite:///{path}"
    mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri).search_registered_models()
    return path


def fresh_sqlite_store(base: Path, path: Path) -> str:
    """A new, empty MLflow SQLite store at `path`; returns its URI.

    A copy of one migrated store: creating each from scratch runs MLflow's migrations,
    seconds per store on a busy machine.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_migrated_store(base), path)
    return f"sqlite:///{path}"


def train_config(family: str, **split: object) -> TrainConfig:
    """The default config for `family`, evaluated on every test customer."""
    return TrainConfig.model_validate(
        {"model": {"family": family}, "split": split, "evaluation": {"max_eval_customers": 10_000}}
    )


@functools.cache
def _champion(base: Path) -> tuple[Settings, TrainOutcome]:
    home = base / "champion-home"
    settings = Settings(home=home, mlflow_tracking_uri=fresh_sqlite_store(base, home / "mlflow.db"))
    configure_mlflow(settings)
    data, config = generated_dataset(base), train_config(CHAMPION_FAMILY)
    outcome = run_training(data, config, settings, register=True, promote=True)
    assert outcome.verdict is not None and outcome.verdict.promote, outcome.verdict
    return settings, outcome


def champion_registry(base: Path) -> tuple[Settings, TrainOutcome]:
    """Settings of a fresh SQLite registry whose champion is an item-kNN trained on the data.

    Points MLflow at that registry on every call: other tests move the global tracking URI.
    """
    settings, outcome = _champion(base)
    configure_mlflow(settings)
    return settings, outcome
