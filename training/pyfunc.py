"""Log the engine bundle as an MLflow pyfunc model with an explicit signature."""

from __future__ import annotations

import warnings
from importlib.metadata import version
from pathlib import Path

import mlflow
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema
from mlflow.types.schema import Array

from training import pyfunc_model
from training.lineage import library_versions

SIGNATURE = ModelSignature(
    inputs=Schema(
        [
            ColSpec(DataType.string, "customer_id"),
            ColSpec(Array(DataType.string), "holdings", required=False),
        ]
    ),
    outputs=Schema(
        [
            ColSpec(DataType.string, "customer_id"),
            ColSpec(DataType.long, "rank"),
            ColSpec(DataType.string, "product_id"),
            ColSpec(DataType.double, "score"),
            ColSpec(DataType.string, "reason"),
        ]
    ),
    params=ParamSchema(
        [ParamSpec("k", DataType.long, 5), ParamSpec("channel", DataType.string, "")]
    ),
)


def log_pyfunc(bundle_dir: Path) -> str:
    """Log the bundle under the active run as model `model`; returns the model URI.

    No input example: MLflow would load the whole bundle and predict on it while logging,
    which costs a full model load per training run for nothing the signature doesn't say.
    """
    with warnings.catch_warnings():
        # MLflow colours the message, so it does not start with the words.
        warnings.filterwarnings("ignore", message=".*An input example was not provided")
        info = _log(bundle_dir)
    return info.model_uri


def pip_requirements() -> list[str]:
    """The pinned libraries the pyfunc runs on.

    Given explicitly: MLflow's inference loads the model in a subprocess (seconds per
    registration) and still misses polars and implicit, which recsys imports.
    """
    versions = library_versions() | {"pandas": version("pandas")}
    return sorted(f"{lib}=={v}" for lib, v in versions.items() if v != "absent")


def _log(bundle_dir: Path) -> mlflow.models.model.ModelInfo:
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=Path(pyfunc_model.__file__),
        artifacts={pyfunc_model.BUNDLE_ARTIFACT: str(bundle_dir)},
        signature=SIGNATURE,
        pip_requirements=pip_requirements(),
    )
