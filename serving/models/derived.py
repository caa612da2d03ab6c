"""Values derived from a loaded model (similarity, catalog text), computed once per version."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from recsys.engine.engine import Engine

T = TypeVar("T")


class PerVersion(Generic[T]):
    """A value derived from the latest model version asked about, computed once per version.

    Only the newest version is kept: after a swap the old model's arrays can be freed.
    """

    def __init__(self, compute: Callable[[Engine], T]) -> None:
        self._compute = compute
        self._lock = threading.Lock()
        self._cached: tuple[tuple[str, int], T] | None = None

    def get(self, version: str, engine: Engine) -> T:
        """The value for this version's engine, computed on first use (once, under a lock)."""
        key = (version, id(engine))  # a reloaded version is a new engine object
        cached = self._cached  # one read of an immutable pair: no lock on the hot path
        if cached is not None and cached[0] == key:
            return cached[1]
        with self._lock:
            if self._cached is None or self._cached[0] != key:
                self._cached = (key, self._compute(engine))
            return self._cached[1]
