"""One generated bank, its snapshot and a fitted item-kNN engine, shared by the engine tests."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.generate import generate
from recsys.data.holdings import holdings_at
from recsys.data.interactions import Interactions
from recsys.engine.engine import Engine
from recsys.engine.snapshot import Snapshot
from recsys.models.itemknn import ItemKNNRecommender
from recsys.models.popularity import PopularityRecommender
from recsys.models.train_data import TrainData
from recsys.settings import Settings

N_CUSTOMERS = 800
SEED = 11


def build_snapshot(data: BankData, as_of: datetime, settings: Settings) -> Snapshot:
    """The snapshot the way training builds it (configured weights and half-life)."""
    w = settings.weights
    return Snapshot.build(data, weights=w.as_dict(), half_life_days=w.half_life_days, as_of=as_of)


def build_engine(snapshot: Snapshot, settings: Settings) -> Engine:
    """Item-kNN with segment popularity as fallback, fitted on the snapshot's history."""
    inter = Interactions(snapshot.history, snapshot.customer_map, snapshot.product_map)
    train = TrainData(inter, snapshot.customers, snapshot.products)
    return Engine(
        ItemKNNRecommender().fit(train),
        PopularityRecommender().fit(train),
        snapshot,
        excluded_categories={c: v.excluded_categories for c, v in settings.channels.items()},
        purchase_weight=settings.weights.purchase,
    )


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Default settings (channels and interaction weights)."""
    return Settings(mlflow_tracking_uri=None)


@pytest.fixture(scope="session")
def bank() -> BankData:
    """A generated bank with planted structure."""
    return generate(N_CUSTOMERS, seed=SEED)


@pytest.fixture(scope="session")
def as_of(bank: BankData) -> datetime:
    """The last event: the snapshot knows everything."""
    return bank.events[C.timestamp].max()


@pytest.fixture(scope="session")
def today(as_of: datetime) -> date:
    """The day suggestions are made for (inside the generated history's sale windows)."""
    return as_of.date()


@pytest.fixture(scope="session")
def snapshot(bank: BankData, as_of: datetime, settings: Settings) -> Snapshot:
    """The state of every generated customer at the last event."""
    return build_snapshot(bank, as_of, settings)


@pytest.fixture(scope="session")
def engine(snapshot: Snapshot, settings: Settings) -> Engine:
    """A fitted engine over the snapshot."""
    return build_engine(snapshot, settings)


@pytest.fixture(scope="session")
def held(bank: BankData, as_of: datetime) -> pl.DataFrame:
    """Holdings at the snapshot, recomputed from the events (the oracle's view)."""
    return holdings_at(bank.events, bank.products, as_of)
