"""Exploration in the server: posteriors from the store's counts (every process reads the same
events), leaving exploration, the ATM's none, and the explore reason in a Recommend answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from recsys.settings import ExplorationConfig, Settings
from recsys.stores.base import StoredEvent
from recsys.stores.sql_events import SqlEventStore, open_event_store
from serving.models.holder import LoadedModel, ModelHolder
from serving.recommend.exploration import ExplorationSource
from serving.recommend.service import SuggestionService
from tests.conftest import TINY_LAST_EVENT, tiny_bank_data
from tests.serving.engines import tiny_engine

ON = ExplorationConfig(enabled=True, share=1.0, max_impressions=10, refresh_seconds=30.0)


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> SqlEventStore:
    return open_event_store(f"sqlite:///{tmp_path / 'recsys.db'}")


def shown(store: SqlEventStore, product: str, n: int, event: str = "impression") -> None:
    at = TINY_LAST_EVENT + timedelta(hours=1)
    store.append([StoredEvent(f"c{i % 5 + 1}", product, event, at, "mobile") for i in range(n)])


def test_counts_from_the_store_move_posteriors_and_end_exploration(store) -> None:
    engine, clock = tiny_engine(tiny_bank_data()), Clock()
    source = ExplorationSource(store, ON, monotonic=clock, rng=np.random.default_rng(0))
    first = source.run(engine, "1", "mobile")
    assert first is not None and first.posterior.exploring.all()  # every tiny product is new
    assert source.run(engine, "1", "atm") is None
    index = engine.snapshot.product_map.to_internal(["p5", "p3"])
    shown(store, "p5", 10)
    shown(store, "p3", 4)
    shown(store, "p3", 3, "purchase")
    assert source.run(engine, "1", "mobile").posterior.exploring.all()  # counts not re-read
    clock.now = 31.0
    later = source.run(engine, "1", "mobile")
    assert not later.posterior.exploring[index[0]]  # shown max_impressions times: it leaves
    assert later.posterior.mean[index[1]] > first.posterior.mean[index[1]]
    # another process over the same store sees the same counts at once
    other = ExplorationSource(store, ON, rng=np.random.default_rng(1)).run(engine, "1", "mobile")
    np.testing.assert_array_equal(other.posterior.alpha, later.posterior.alpha)


def test_a_recommend_answer_carries_the_explore_reason(store) -> None:
    engine = tiny_engine(tiny_bank_data())
    holder = ModelHolder()
    holder.swap(LoadedModel.from_info(engine, "1", {}, source="registry"))
    settings = Settings(exploration=ON)
    when = datetime(2024, 7, 1, 12, tzinfo=UTC)
    service = SuggestionService(holder, store, settings, clock=lambda: when)
    # c1 consents, and mobile sells it more than one product: with share 1 its slot explores
    [item] = service.recommend("c1", "mobile", k=1).items
    assert [(r.code, r.text) for r in item.reasons] == [
        ("explore", "new: we think this may suit you")
    ]
    assert all(
        r.code != "explore" for i in service.recommend("c2", "mobile", k=3).items for r in i.reasons
    )  # c2 gave no marketing consent
    atm = service.recommend("c1", "atm", k=1).items
    assert all(r.code != "explore" for i in atm for r in i.reasons)
