"""The model serving now, swapped as one reference so in-flight requests finish on the old one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from recsys.engine.engine import Engine

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A checked engine with what the registry says about its version."""

    engine: Engine
    version: str
    family: str
    trained_at: datetime | None
    metrics: dict[str, float]
    data_fingerprint: str
    loaded_at: datetime
    source: str = "registry"  # "registry", or "cache" when loaded from the local disk cache

    @classmethod
    def from_info(
        cls, engine: Engine, version: str, info: dict[str, Any], *, source: str
    ) -> LoadedModel:
        """From registry/cache info (see `info()`), falling back to what the bundle records."""
        fingerprint = info.get("data_fingerprint") or engine.manifest.get("data_fingerprint")
        return cls(
            engine=engine,
            version=version,
            family=info.get("family") or engine.model.family,
            trained_at=_parse_time(info.get("trained_at")) or engine.snapshot.as_of,
            metrics={k: float(v) for k, v in (info.get("metrics") or {}).items()},
            data_fingerprint=str(fingerprint or ""),
            loaded_at=datetime.now(UTC),
            source=source,
        )

    def info(self) -> dict[str, Any]:
        """JSON-able description (everything but the engine, load time and source)."""
        return {
            "version": self.version,
            "family": self.family,
            "trained_at": self.trained_at.isoformat() if self.trained_at else None,
            "metrics": dict(self.metrics),
            "data_fingerprint": self.data_fingerprint,
        }


class ModelHolder:
    """The model serving now; readers take it without a lock, the follower swaps it."""

    def __init__(self) -> None:
        self._model: LoadedModel | None = None
        self._lock = threading.Lock()
        self._listeners: list[Callable[[LoadedModel], None]] = []

    def current(self) -> LoadedModel | None:
        """The serving model, or None before the first load."""
        return self._model

    def swap(self, new: LoadedModel) -> None:
        """Serve `new` from the next `current()` on, then tell the listeners."""
        with self._lock:
            self._model = new
            listeners = list(self._listeners)
        for callback in listeners:
            _notify(callback, new)

    def add_listener(self, callback: Callable[[LoadedModel], None]) -> None:
        """Call `callback(model)` on every swap; at once too when a model is already loaded."""
        with self._lock:
            self._listeners.append(callback)
            model = self._model
        if model is not None:
            _notify(callback, model)


def _notify(callback: Callable[[LoadedModel], None], model: LoadedModel) -> None:
    try:
        callback(model)
    except Exception:  # a listener's bug must not undo or block a swap
        log.exception("model listener %r failed", callback)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
