"""Whether a training run would only repeat a registered version: same data, config and code.

Each registered version carries a `training_key` tag: a hash of the data fingerprint, the
training config, the settings that shape the model (interaction weights, channels, event
types) and the code's git commit. `recsys train --skip-unchanged` looks the key up first and
registers nothing when a version has it. Uncommitted changes to the code cannot be told
apart, so a dirty working tree has no key: it always trains.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import metadata

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from recsys.settings import Settings
from training.config import TrainConfig
from training.lineage import git_commit
from training.registry import Registry

KEY_TAG = "training_key"
DIRTY = "-dirty"


@dataclass(frozen=True)
class Unchanged:
    """A registered version trained on the same data, config and code, and the champion now."""

    version: int
    family: str
    run_id: str | None
    champion: int | None


def code_identity() -> str | None:
    """The git commit of the code, the package version outside git, None with local edits."""
    commit = git_commit()
    if commit.endswith(DIRTY):
        return None
    if commit == "unknown":
        return f"bank-recsys {metadata.version('bank-recsys')}"
    return commit


def training_key(fingerprint: str, config: TrainConfig, settings: Settings) -> str | None:
    """What identifies the model a run would register; None when the code cannot be named."""
    code = code_identity()
    if code is None:
        return None
    spec = {
        "data": fingerprint,
        "config": config.model_dump(mode="json"),
        "weights": settings.weights.model_dump(mode="json"),
        "channels": {k: v.model_dump(mode="json") for k, v in settings.channels.items()},
        "event_types": settings.event_types,
        "code": code,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def find_unchanged(registry: Registry, key: str | None) -> Unchanged | None:
    """The newest registered version with this training key, or None."""
    if key is None:
        return None
    try:
        found: list[ModelVersion] = registry.client.search_model_versions(
            f"name='{registry.name}' and tags.{KEY_TAG} = '{key}'"
        )
    except MlflowException:  # nothing registered under that name yet
        return None
    if not found:
        return None
    newest = max(found, key=lambda mv: int(mv.version))
    champion = registry.champion()
    return Unchanged(
        version=int(newest.version),
        family=newest.tags.get("family", "?"),
        run_id=newest.run_id or newest.tags.get("run_id"),
        champion=int(champion.version) if champion is not None else None,
    )
