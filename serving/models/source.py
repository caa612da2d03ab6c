"""Reading the registry for serving: the alias's version, its info, its engine bundle."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import Model

from serving.models.check import ModelCheckError
from training.pyfunc_model import BUNDLE_ARTIFACT

T = TypeVar("T")
MLMODEL_FILE = "MLmodel"
# MLflow retries an unreachable server 7 times with exponential backoff (minutes in all);
# the follower backs off on its own and must not hold up the server's start that long.
REGISTRY_HTTP_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
# What the registry answers for "no such model / alias", as opposed to "cannot answer".
_MISSING = frozenset({"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"})


class RegistryUnavailable(RuntimeError):
    """The registry or its artifact store did not answer; worth trying again later."""


def bound_registry_requests() -> None:
    """Cap MLflow's HTTP retries and silence its progress bar (unless the env sets them)."""
    for key, value in REGISTRY_HTTP_ENV.items():
        os.environ.setdefault(key, value)


class ModelSource:
    """One registered model's alias in one registry, read with an explicit URI.

    Errors reaching the registry raise RegistryUnavailable; a version whose files do not
    name an engine bundle raises ModelCheckError (it can never serve).
    """

    def __init__(self, uri: str, name: str, alias: str) -> None:
        self.uri, self.name, self.alias = uri, name, alias
        self._client_obj: mlflow.MlflowClient | None = None

    def champion(self) -> ModelVersion | None:
        """The version the alias points at; None when the model or alias does not exist.

        An alias of digits only names a version itself (an experiment's challenger given
        as a registered version): that version, or None when it does not exist.
        """
        if self.alias.isdigit():
            return self._call(
                f"reading {self.name} version {self.alias}",
                lambda: self._client().get_model_version(self.name, self.alias),
                missing_ok=True,
            )
        return self._call(
            f"reading {self.name}@{self.alias}",
            lambda: self._client().get_model_version_by_alias(self.name, self.alias),
            missing_ok=True,
        )

    def version_info(self, mv: ModelVersion) -> dict[str, Any]:
        """family, trained_at, data_fingerprint (tags) and metrics (its run) of a version."""
        tags = dict(mv.tags or {})
        run_id = mv.run_id or tags.get("run_id")
        metrics: dict[str, float] = {}
        if run_id:
            run = self._call(
                f"reading run {run_id}", lambda: self._client().get_run(run_id), missing_ok=True
            )
            metrics = dict(run.data.metrics) if run is not None else {}
        return {
            "family": tags.get("family"),
            "trained_at": tags.get("trained_at"),
            "data_fingerprint": tags.get("data_fingerprint"),
            "metrics": metrics,
        }

    def download_bundle(self, version: str, into: Path) -> Path:
        """The version's engine bundle folder, downloaded under `into` (MLmodel says where)."""
        what = f"downloading version {version}"
        root = self._call(
            what,
            lambda: self._client().get_model_version_download_uri(self.name, version),
            missing_ok=False,
        )
        root = str(root).rstrip("/")
        mlmodel = self._download(f"{root}/{MLMODEL_FILE}", into / "meta", what)
        return self._download(f"{root}/{bundle_path(mlmodel)}", into / "files", what)

    def _download(self, uri: str, into: Path, what: str) -> Path:
        path = self._call(
            what,
            lambda: mlflow.artifacts.download_artifacts(
                artifact_uri=uri, dst_path=str(into), tracking_uri=self.uri
            ),
            missing_ok=False,
        )
        local = Path(str(path))
        if not local.resolve().is_relative_to(into.resolve()):
            # MLflow may hand back the store's own files: copy them, never move or alter those.
            copy = shutil.copytree if local.is_dir() else shutil.copy2
            local = Path(copy(local, into / local.name))
        return local

    def _client(self) -> mlflow.MlflowClient:
        if self._client_obj is None:
            # An explicit URI: tools and tests that move MLflow's global URI do not move ours.
            self._client_obj = mlflow.MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return self._client_obj

    def _call(self, what: str, call: Callable[[], T], *, missing_ok: bool) -> T | None:
        try:
            return call()
        except MlflowException as exc:
            if missing_ok and exc.error_code in _MISSING:
                return None
            raise RegistryUnavailable(f"{what}: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - HTTP, SQL and file errors alike mean "later"
            raise RegistryUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc


def bundle_path(mlmodel: Path) -> str:
    """Where the pyfunc keeps the engine bundle, relative to the model root, per its MLmodel."""
    try:
        flavor = Model.load(mlmodel).flavors.get("python_function", {})
        path = flavor.get("artifacts", {}).get(BUNDLE_ARTIFACT, {}).get("path")
    except Exception as exc:  # noqa: BLE001 - an unreadable MLmodel refuses the version
        raise ModelCheckError(f"unreadable {MLMODEL_FILE}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(path, str) or path.startswith("/") or ".." in Path(path).parts:
        raise ModelCheckError(f"{MLMODEL_FILE} names no usable {BUNDLE_ARTIFACT!r} artifact")
    return path
