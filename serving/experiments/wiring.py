"""The experiment parts of one server process, wired: store, book, arm models, router."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from recsys.settings import Settings
from recsys.stores.sql_experiments import ExperimentStore
from serving.experiments.arms import ArmModels
from serving.experiments.book import ExperimentBook
from serving.experiments.manage import ExperimentManager
from serving.experiments.router import Router
from serving.experiments.servicer import ExperimentServicer
from serving.models.holder import ModelHolder


@dataclass(frozen=True, eq=False)
class Experiments:
    """What a server needs of experiments; `start` reads them, `stop` ends the threads."""

    settings: Settings
    store: ExperimentStore
    book: ExperimentBook
    arms: ArmModels
    router: Router

    def servicer(self, blocking: Executor | None) -> ExperimentServicer:
        """The gRPC service over this process's stores and registry."""
        manager = ExperimentManager(self.store, self.store.engine, self.settings)
        return ExperimentServicer(manager, blocking=blocking)

    def start(self) -> None:
        """Read the running experiments (their challengers start loading), then poll."""
        self.book.start()

    def stop(self) -> None:
        """Stop polling and every challenger's follower."""
        self.book.stop()
        self.arms.close()
        self.store.close()


def experiments_of(
    settings: Settings, champion: ModelHolder, store: ExperimentStore
) -> Experiments:
    """The experiment parts over `store` (the decision log's and events' database too)."""
    arms = ArmModels(settings, champion, follow=_follower(settings))
    book = ExperimentBook(
        store, refresh_seconds=settings.experiment_refresh_seconds, on_change=arms.prepare
    )
    router = Router(book, arms, skew=settings.experiment_test_skew)
    return Experiments(settings, store, book, arms, router)


def _follower(settings: Settings) -> Callable[[str, ModelHolder], Callable[[], None]]:
    """follow(alias, holder): a ModelFollower of `alias` loading in the background."""

    def follow(alias: str, holder: ModelHolder) -> Callable[[], None]:
        from serving.models.follower import ModelFollower  # mlflow: only when an arm needs it

        follower = ModelFollower(settings, holder, alias=alias)

        def run() -> None:
            follower.load_initial()
            follower.start()

        threading.Thread(target=run, name=f"arm-follower-{alias}", daemon=True).start()
        return follower.stop

    return follow
