"""Registered model `bank-recsys`: versions, the `champion` alias, its history and rollback."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

log = logging.getLogger(__name__)
HISTORY_TAG = "champion_history"  # comma-separated versions, oldest first


class RegistryError(RuntimeError):
    """A registry operation that cannot be done (unknown version, nothing to roll back to)."""


@dataclass(frozen=True)
class VersionInfo:
    """One registered version with what `models list` shows."""

    version: int
    run_id: str | None
    family: str
    created_ms: int
    metrics: dict[str, float]
    tags: dict[str, str]
    is_champion: bool


class Registry:
    """Thin wrapper over MlflowClient for one registered model and its serving alias."""

    def __init__(self, name: str = "bank-recsys", alias: str = "champion") -> None:
        self.name = name
        self.alias = alias
        self.client = mlflow.MlflowClient()

    def register(self, model_uri: str, run_id: str, tags: dict[str, str]) -> int:
        """Register a logged model as a new version; returns its number."""
        mv = mlflow.register_model(model_uri, self.name, tags=tags)
        if mv.run_id is None and run_id:
            self.client.set_model_version_tag(self.name, mv.version, "run_id", run_id)
        return int(mv.version)

    def champion(self) -> ModelVersion | None:
        """The version the alias points at, or None."""
        try:
            return self.client.get_model_version_by_alias(self.name, self.alias)
        except MlflowException:
            return None

    def version(self, version: int) -> ModelVersion:
        """A version by number; RegistryError when it does not exist."""
        try:
            return self.client.get_model_version(self.name, str(version))
        except MlflowException as exc:
            raise RegistryError(f"model {self.name!r} has no version {version}") from exc

    def promote(self, version: int) -> None:
        """Point the alias at `version` and append it to the champion history."""
        self.version(version)
        self.client.set_registered_model_alias(self.name, self.alias, str(version))
        history = self._history()
        if not history or history[-1] != version:
            history.append(version)
        self.client.set_registered_model_tag(self.name, HISTORY_TAG, ",".join(map(str, history)))
        log.info("%s@%s -> version %s", self.name, self.alias, version)

    def rollback(self) -> int:
        """Move the alias back to the previous champion; returns the version now serving."""
        history = self._history()
        current = self.champion()
        if current is not None and history and history[-1] != int(current.version):
            history.append(int(current.version))  # alias was moved outside this tool
        if len(history) < 2:
            raise RegistryError(
                f"{self.name}@{self.alias} has no previous champion to roll back to"
            )
        history.pop()
        previous = history[-1]
        self.client.set_registered_model_alias(self.name, self.alias, str(previous))
        self.client.set_registered_model_tag(self.name, HISTORY_TAG, ",".join(map(str, history)))
        return previous

    def versions(self) -> list[VersionInfo]:
        """All versions, newest first, with their holdout metrics."""
        try:
            found = self.client.search_model_versions(f"name='{self.name}'")
        except MlflowException:
            return []
        champ = self.champion()
        champ_v = int(champ.version) if champ else None
        out = [self._info(mv, champ_v) for mv in found]
        return sorted(out, key=lambda v: v.version, reverse=True)

    def _info(self, mv: ModelVersion, champ_v: int | None) -> VersionInfo:
        metrics: dict[str, float] = {}
        run_id = mv.run_id or mv.tags.get("run_id")
        if run_id:
            metrics = dict(self.client.get_run(run_id).data.metrics)
        return VersionInfo(
            version=int(mv.version),
            run_id=run_id,
            family=mv.tags.get("family", "?"),
            created_ms=int(mv.creation_timestamp or 0),
            metrics=metrics,
            tags=dict(mv.tags),
            is_champion=int(mv.version) == champ_v,
        )

    def _history(self) -> list[int]:
        try:
            tags = self.client.get_registered_model(self.name).tags
        except MlflowException:
            return []
        raw = tags.get(HISTORY_TAG, "")
        return [int(v) for v in raw.split(",") if v]
