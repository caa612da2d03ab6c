"""Follow `models:/<name>@<alias>`: load each new version, check it, swap it in atomically.

A swap is one reference assignment in `ModelHolder`: a request that has taken the current
`LoadedModel` finishes on it while the next request gets the new one, so no request fails.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from mlflow.entities.model_registry import ModelVersion

from recsys.settings import Settings
from serving.models.check import ModelCheckError, load_checked
from serving.models.disk_cache import ModelCache
from serving.models.holder import LoadedModel, ModelHolder
from serving.models.source import ModelSource, RegistryUnavailable, bound_registry_requests
from serving.transport.metrics import ServingMetrics
from training.tracking import quiet_mlflow_logs

log = logging.getLogger(__name__)
__all__ = ["LoadedModel", "ModelFollower", "ModelHolder", "RegistryUnavailable"]
CACHE_FOLDER = "serving-cache"
MAX_BACKOFF_SECONDS = 60.0


class ModelFollower:
    """Loads the alias's version at start (or the cached one), then polls it in a thread."""

    def __init__(
        self,
        settings: Settings,
        holder: ModelHolder,
        *,
        metrics: ServingMetrics | None = None,
        poll_seconds: float = 10.0,
        cache_dir: Path | None = None,
        max_backoff_seconds: float = MAX_BACKOFF_SECONDS,
        alias: str | None = None,
    ) -> None:
        if poll_seconds <= 0:
            raise ValueError(f"poll_seconds must be > 0, got {poll_seconds}")
        bound_registry_requests()
        quiet_mlflow_logs()
        self.holder = holder
        self.metrics = metrics
        self.ranking_policy = settings.ranking.policy
        self.poll_seconds = poll_seconds
        self.max_backoff_seconds = max(max_backoff_seconds, poll_seconds)
        # `alias`: another alias (or a version number) to follow, an experiment arm's
        name, alias = settings.registered_model, alias or settings.champion_alias
        self.source = ModelSource(settings.resolved_tracking_uri, name, alias)
        root = cache_dir if cache_dir is not None else settings.home / CACHE_FOLDER
        # each alias caches apart: at a start offline, an arm must not serve another's model
        folder = name if alias == settings.champion_alias else f"{name}@{alias}"
        self.cache = ModelCache(root / re.sub(r"[^A-Za-z0-9._@-]+", "_", folder))
        self._refused: set[str] = set()
        self._failures = 0
        self._poll_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def refused(self) -> frozenset[str]:
        """Versions that failed the check; not tried again by this process."""
        return frozenset(self._refused)

    @property
    def failures(self) -> int:
        """Consecutive failed polls (0 after a poll that reached the registry)."""
        return self._failures

    def load_initial(self) -> LoadedModel | None:
        """Serve the champion, else the newest good cached model; None when there is neither."""
        with self._poll_lock:
            model = self._guarded(self._champion_model)
            if model is None:
                model = self._load_cached()
            if model is not None:
                self._install(model)
            else:
                log.warning("no model to serve: %s@%s is not loadable and the cache is empty",
                            self.source.name, self.source.alias)
            return model

    def poll_once(self) -> bool:
        """Check the alias once; True when a new version was loaded, checked and swapped in."""
        with self._poll_lock:
            model = self._guarded(self._new_champion_model)
            if model is None:
                return False
            self._install(model)
            return True

    def poll_delay(self) -> float:
        """Seconds to the next poll: poll_seconds, doubling after each failure up to the cap."""
        if self._failures == 0:
            return self.poll_seconds
        return min(self.poll_seconds * 2 ** min(self._failures, 30), self.max_backoff_seconds)

    def start(self) -> None:
        """Poll in a daemon thread until `stop()`."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="model-follower", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop polling; waits for a poll in progress up to `timeout` seconds."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.poll_delay()):
            try:
                self.poll_once()
            except Exception:  # a bug on one poll must not stop the following
                self._failures += 1
                log.exception("model follower poll failed; retrying in %.0f s", self.poll_delay())

    def _guarded(self, load: Callable[[], LoadedModel | None]) -> LoadedModel | None:
        try:
            model = load()
        except RegistryUnavailable as exc:
            self._failures += 1
            if self.metrics is not None:
                self.metrics.registry_error()
            log.warning("model registry unavailable (retry in %.0f s): %s",
                        self.poll_delay(), str(exc)[:300])
            return None
        self._failures = 0
        return model

    def _champion_model(self) -> LoadedModel | None:
        mv = self.source.champion()
        if mv is None or str(mv.version) in self._refused:
            return None
        return self._fetch(mv)

    def _new_champion_model(self) -> LoadedModel | None:
        mv = self.source.champion()
        if mv is None or str(mv.version) in self._refused:
            return None
        current = self.holder.current()
        if current is not None and current.version == str(mv.version):
            return None
        return self._fetch(mv)

    def _fetch(self, mv: ModelVersion) -> LoadedModel | None:
        """Download, load and check a version; None when it is refused."""
        version = str(mv.version)
        staging = self._staging()
        try:
            info = self.source.version_info(mv)
            try:
                bundle = self.source.download_bundle(version, staging)
                engine = load_checked(bundle)
            except ModelCheckError as exc:
                self._refuse(version, str(exc))
                return None
            model = LoadedModel.from_info(engine, version, info, source="registry")
            self._keep(model, bundle)
            return model
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _staging(self) -> Path:
        try:
            return self.cache.staging()
        except OSError as exc:  # an unwritable cache must not stop serving a good model
            log.error("model cache %s is not writable (%s); downloading to a temp folder",
                      self.cache.root, exc)
            return Path(tempfile.mkdtemp(prefix="recsys-model-"))

    def _refuse(self, version: str, why: str) -> None:
        self._refused.add(version)
        if self.metrics is not None:
            self.metrics.model_refused()
        current = self.holder.current()
        log.error("refused %s version %s: %s; still serving %s", self.source.name, version, why,
                  f"version {current.version}" if current else "nothing")

    def _keep(self, model: LoadedModel, bundle: Path) -> None:
        info = {**model.info(), "registered_model": self.source.name}
        try:
            self.cache.put(model.version, bundle, info)
        except OSError as exc:  # the model is good; only the restart-while-offline copy is lost
            log.error("could not cache version %s in %s: %s", model.version, self.cache.root, exc)

    def _load_cached(self) -> LoadedModel | None:
        try:
            entries = self.cache.entries()
        except OSError as exc:
            log.error("cannot read the model cache %s: %s", self.cache.root, exc)
            return None
        for entry in entries:
            try:
                engine = load_checked(entry.bundle)
            except ModelCheckError as exc:
                log.error("cached model %s is unusable: %s", entry.folder, exc)
                continue
            version = str(entry.info["version"])
            return LoadedModel.from_info(engine, version, entry.info, source="cache")
        return None

    def _install(self, model: LoadedModel) -> None:
        previous = self.holder.current()
        self.holder.swap(model)
        if self.metrics is not None:
            self.metrics.model_loaded(model.version, model.family, replaced=previous is not None)
        log.info("serving %s version %s (%s, from %s)%s", self.source.name, model.version,
                 model.family, model.source,
                 f"; was version {previous.version}" if previous else "")
        if self.ranking_policy == "value" and not model.engine.calibrators:
            log.warning("version %s has no calibration: it is ranked by its scores, not by "
                        "expected value (retrain it to calibrate it)", model.version)
