"""Each arm's model: the champion's holder, a follower per challenger alias, the control.

The champion arm serves what the champion holder holds. A challenger names an alias or a
version: a ModelFollower of its own loads it (in the background) and swaps it like the
champion's, so a promotion or a new challenger reaches requests without failing one. The
control is the champion's engine with its fallback model (popularity) ranking every row: the
same snapshot, catalog and hard rules, the same pipeline, no learnt model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace

from recsys.engine.engine import Engine
from recsys.experiments.model import CHALLENGER, CHAMPION, CONTROL, Experiment
from recsys.settings import Settings
from serving.models.derived import PerVersion
from serving.models.holder import LoadedModel, ModelHolder

log = logging.getLogger(__name__)
CONTROL_PREFIX = "control-"  # a control answer's model_version: control-popularity/<champion>


def control_engine(engine: Engine) -> Engine:
    """`engine` with its fallback (popularity) as the model: every rule and step unchanged."""
    return Engine(
        engine.fallback,
        engine.fallback,
        engine.snapshot,
        excluded_categories=engine.excluded_categories,
        purchase_weight=engine.purchase_weight,
        manifest=engine.manifest,
    )


class ArmModels:
    """The loaded model of each arm an experiment needs (None while one is loading)."""

    def __init__(
        self,
        settings: Settings,
        champion: ModelHolder,
        *,
        follow: Callable[[str, ModelHolder], Callable[[], None]] | None = None,
    ) -> None:
        self.settings = settings
        self.champion = champion
        # follow(alias, holder) starts loading `alias` into `holder`, returns its stop;
        # None: challengers other than the champion alias are never loaded (tests)
        self.follow = follow
        self._holders: dict[str, ModelHolder] = {}
        self._stops: dict[str, Callable[[], None]] = {}
        self._lock = threading.Lock()
        self._control = PerVersion(control_engine)

    def prepare(self, experiments: Iterable[Experiment]) -> None:
        """Start following every challenger the running experiments name (and stop the rest)."""
        wanted = {e.challenger for e in experiments if CHALLENGER in e.arm_names}
        wanted.discard(self.settings.champion_alias)
        with self._lock:
            for alias in wanted - set(self._holders):
                holder = ModelHolder()
                self._holders[alias] = holder
                if self.follow is not None:
                    self._stops[alias] = self.follow(alias, holder)
            for alias in set(self._holders) - wanted:
                self._holders.pop(alias)
                stop = self._stops.pop(alias, None)
                if stop is not None:
                    stop()

    def loaded(self, experiment: Experiment, arm: str) -> LoadedModel | None:
        """The model that answers for `arm` of `experiment` now (None: not loaded yet)."""
        champion = self.champion.current()
        if arm == CHAMPION:
            return champion
        if arm == CONTROL:
            if champion is None:
                return None
            engine = self._control.get(champion.version, champion.engine)
            return replace(
                champion,
                engine=engine,
                version=f"{CONTROL_PREFIX}{experiment.control_policy}/{champion.version}",
            )
        if experiment.challenger == self.settings.champion_alias:
            return champion  # an A/A test: the champion in both arms
        holder = self._holders.get(experiment.challenger)
        return holder.current() if holder is not None else None

    def close(self) -> None:
        """Stop every challenger's follower."""
        self.prepare(())
