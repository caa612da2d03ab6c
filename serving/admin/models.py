"""Registered versions of the serving model, their aliases and holdout metrics (MLflow).

A training run logs each holdout metric `m` with the popularity baseline's as `baseline_m`
on the same split (training.logging_mlflow); a version shows the metrics that have both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import mlflow
from mlflow.exceptions import MlflowException

BASELINE: Final = "baseline_"


@dataclass(frozen=True)
class Metric:
    """One holdout metric of a version and the baseline's (None: not logged)."""

    name: str
    value: float
    baseline: float | None


@dataclass(frozen=True)
class VersionSummary:
    """One registered version as the models page shows it."""

    version: int
    family: str
    created: datetime
    run_id: str
    aliases: tuple[str, ...]
    metrics: tuple[Metric, ...]


def paired_metrics(logged: dict[str, float]) -> tuple[Metric, ...]:
    """The metrics logged with a baseline partner, by name (pure: a run's metrics in)."""
    names = sorted(k for k in logged if not k.startswith(BASELINE) and BASELINE + k in logged)
    return tuple(Metric(n, logged[n], logged[BASELINE + n]) for n in names)


class ModelVersions:
    """Reads one registered model's versions through its own MLflow client (no globals set)."""

    def __init__(self, tracking_uri: str, name: str) -> None:
        self.name = name
        self.client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    def list(self) -> list[VersionSummary]:
        """Every version, newest first (none when the model is not registered yet)."""
        try:
            found = self.client.search_model_versions(f"name='{self.name}'")
            aliases = self.client.get_registered_model(self.name).aliases
        except MlflowException:
            return []
        by_version: dict[str, list[str]] = {}
        for alias, version in aliases.items():
            by_version.setdefault(str(version), []).append(alias)
        out = []
        for mv in found:
            run_id = mv.run_id or mv.tags.get("run_id") or ""
            logged = dict(self.client.get_run(run_id).data.metrics) if run_id else {}
            out.append(
                VersionSummary(
                    version=int(mv.version),
                    family=mv.tags.get("family", "?"),
                    created=datetime.fromtimestamp((mv.creation_timestamp or 0) / 1000, UTC),
                    run_id=run_id,
                    aliases=tuple(sorted(by_version.get(str(mv.version), []))),
                    metrics=paired_metrics(logged),
                )
            )
        return sorted(out, key=lambda v: v.version, reverse=True)
