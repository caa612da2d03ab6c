"""Which arm answers a request: the channel's live experiment, the customer's sticky arm.

The arm is a hash of (experiment id, customer id) (recsys.experiments.assign): the same in
every process and after restarts. An arm whose model is still loading answers nothing: the
request is served by the champion outside the experiment (no arm in the answer or the log).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from recsys.experiments.assign import assign, cumulative
from recsys.experiments.model import Experiment
from serving.experiments.arms import ArmModels
from serving.experiments.book import ExperimentBook
from serving.models.holder import LoadedModel


class Routed(NamedTuple):
    """The experiment and arm of a request, and the model that answers it."""

    experiment_id: str
    arm: str
    loaded: LoadedModel


class Router:
    """Picks each request's arm; `skew` is the SRM test hook (0 in production)."""

    def __init__(self, book: ExperimentBook, arms: ArmModels, *, skew: float = 0.0) -> None:
        self.book = book
        self.arms = arms
        self.skew = skew
        self._ends: dict[str, tuple[tuple[float, ...], list[float]]] = {}

    def arm_of(self, experiment: Experiment, customer_id: str) -> str:
        """The customer's arm in `experiment`."""
        shares = experiment.shares
        cached = self._ends.get(experiment.id)
        if cached is None or cached[0] != shares:
            cached = self._ends[experiment.id] = (shares, cumulative(shares))
        return experiment.arms[assign(experiment.id, customer_id, cached[1], self.skew)].name

    def route(self, customer_id: str, channel: str, now: datetime) -> Routed | None:
        """The request's experiment, arm and model; None outside experiments (or while the
        arm's model loads)."""
        experiment = self.book.for_channel(channel, now)
        if experiment is None:
            return None
        arm = self.arm_of(experiment, customer_id)
        loaded = self.arms.loaded(experiment, arm)
        if loaded is None:
            return None
        return Routed(experiment.id, arm, loaded)
