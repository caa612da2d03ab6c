"""Calibration in a training run: fitted on the holdout, logged to MLflow, shipped in the bundle."""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow

from recsys.engine.engine import Engine
from recsys.evaluation.splits import Split
from recsys.ranking.calibration import Method
from recsys.ranking.holdout import Calibrated, calibrate
from recsys.ranking.plots import plot_reliability

PLOT = "reliability.png"


def calibrate_on_holdout(
    engine: Engine, split: Split, method: Method, max_customers: int, seed: int = 0
) -> Calibrated:
    """Calibrators of the split engine's model and fallback, from the split's test period."""
    customers = split.test_customers
    if customers.len() > max_customers:
        customers = customers.sample(max_customers, seed=seed).sort()
    at = split.cutoff or engine.snapshot.as_of
    return calibrate(engine, customers.to_list(), split.test, at, method, seed=seed)


def log_calibration(result: Calibrated, method: Method) -> None:
    """ECE and pair counts as metrics, the method as a param, the reliability plot as an
    artifact (calibration/reliability.png) of the active run."""
    mlflow.log_param("calibration.method", method)
    for name, r in result.reliability.items():
        mlflow.log_metric(f"calibration_ece_{name}", r.ece)
        mlflow.log_metric(f"calibration_pairs_{name}", float(result.pairs[name]))
        mlflow.log_metric(f"calibration_purchases_{name}", float(result.positives[name]))
    with tempfile.TemporaryDirectory() as tmp:
        path = plot_reliability(
            result.reliability, Path(tmp) / PLOT, f"reliability on the holdout ({method})"
        )
        mlflow.log_artifact(str(path), artifact_path="calibration")
