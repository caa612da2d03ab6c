"""Log the engine bundle as an MLflow pyfunc model with an explicit signature."""

from __future__ import annotations

import warnings
from pathlib import Path

import mlflow
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema
from mlflow.types.schema import Array

from training import pyfunc_model

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
        warnings.filterwarnings("ignore", message="An input example was not provided")
        info = _log(bundle_dir)
    return info.model_uri


def _log(bundle_dir: Path) -> mlflow.models.model.ModelInfo:
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=Path(pyfunc_model.__file__),
        artifacts={pyfunc_model.BUNDLE_ARTIFACT: str(bundle_dir)},
        signature=SIGNATURE,
    )
