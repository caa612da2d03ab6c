"""The server's side of exploration: posteriors from the store's counts, shared by every
process (each re-reads the counts every `refresh_seconds`), and a run per request."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from recsys.columns import Events
from recsys.engine.engine import Engine
from recsys.exploration.posterior import Counts, posterior, prior_means
from recsys.exploration.step import ExplorationRun
from recsys.settings import ExplorationConfig
from recsys.stores.base import EventStore, StoreUnavailable

log = logging.getLogger(__name__)
COUNTED = (Events.impression, Events.click, Events.purchase)


@dataclass(frozen=True, eq=False)
class _Fixed:
    """What a model version fixes: its new products, and their prior means."""

    new: np.ndarray  # bool (n,)
    prior_mean: np.ndarray  # float64 (n,): the cold-start prior's mean over customers
    means: np.ndarray  # float64 (n,): prior P(purchase | shown)


def fixed_of(engine: Engine, config: ExplorationConfig) -> _Fixed:
    """The new products of the engine's snapshot and their priors (worked out per version)."""
    holders = np.asarray((engine.snapshot.held > 0).sum(axis=0)).ravel()
    new = holders < config.new_below
    n = len(engine.catalog)
    if engine.prior is None:
        prior_mean = np.ones(n)
    else:
        frame = engine.snapshot.customers
        prior_mean = engine.prior.scores(frame, engine.snapshot.products).mean(axis=0)
    return _Fixed(new, prior_mean.astype(np.float64), prior_means(prior_mean, config.base_rate))


class ExplorationSource:
    """Posteriors of the serving version's new products, refreshed from the store."""

    def __init__(
        self,
        store: EventStore,
        config: ExplorationConfig,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.store, self.config, self._monotonic = store, config, monotonic
        self._rng = rng or np.random.default_rng()
        self._lock = threading.Lock()
        self._version: object = None
        self._fixed: _Fixed | None = None
        self._counts: Counts | None = None
        self._read_at = -np.inf

    def run(self, engine: Engine, version: str, channel: str) -> ExplorationRun | None:
        """The exploration of one request in `channel`; None when it explores nothing."""
        share = self.config.share_for(channel)
        if share <= 0:
            return None
        with self._lock:
            key = (version, id(engine))
            if key != self._version:
                self._version, self._fixed = key, fixed_of(engine, self.config)
                self._counts, self._read_at = None, -np.inf
            fixed = self._fixed
            assert fixed is not None
            if not fixed.new.any():
                return None
            if self._monotonic() - self._read_at >= self.config.refresh_seconds:
                self._refresh(engine, fixed)
            counts = self._counts or Counts.zeros(len(fixed.new))
        post = posterior(
            fixed.means,
            counts,
            fixed.new,
            strength=self.config.strength,
            max_impressions=self.config.max_impressions,
            tight=self.config.tight,
        )
        if not post.exploring.any():
            return None
        return ExplorationRun(post, share, fixed.prior_mean, self._rng)

    def _refresh(self, engine: Engine, fixed: _Fixed) -> None:
        """Re-read the new products' counts; on a store failure keep the last ones."""
        ids = engine.snapshot.product_map.ids
        wanted = ids[fixed.new].tolist()
        try:
            found = self.store.product_counts(wanted, engine.snapshot.as_of, COUNTED)
        except StoreUnavailable as exc:
            log.warning("exploration counts not refreshed: %s", exc)
            self._read_at = self._monotonic()
            return
        index = {p: i for i, p in enumerate(ids.tolist())}
        arrays = {e: np.zeros(len(ids), dtype=np.int64) for e in COUNTED}
        for (p, e), n in found.items():
            arrays[e][index[p]] = n
        self._counts = Counts(
            arrays[Events.impression], arrays[Events.click], arrays[Events.purchase]
        )
        self._read_at = self._monotonic()
