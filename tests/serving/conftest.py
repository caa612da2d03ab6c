"""Serving fixtures: one trained champion per session, and a real gRPC server on port 0."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest

from recsys.settings import Settings
from recsys.stores.sql_events import SqlEventStore, open_event_store
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from serving.models.holder import ModelHolder
from serving.transport.metrics import ServingMetrics
from serving.transport.server import build_server
from tests.serving.trained import Trained, trained


@dataclass(frozen=True)
class Running:
    """A started server with a loaded model, and a stub talking to it over a real channel."""

    port: int
    stub: pb_grpc.RecommendationServiceStub
    channel: grpc.Channel
    holder: ModelHolder
    store: SqlEventStore
    metrics: ServingMetrics
    database_url: str = ""  # the store of events, offers, keys and decisions


@pytest.fixture(scope="session")
def model(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """The registered champion (item-kNN on a generated bank) and its loaded engine."""
    return trained(tmp_path_factory.getbasetemp() / "serving-model")


@pytest.fixture(scope="session")
def store(model: Trained) -> SqlEventStore:
    """The event store the servers share (SQLite file)."""
    return open_event_store(model.settings.resolved_database_url)


@pytest.fixture(scope="session")
def running(model: Trained, store: SqlEventStore) -> Iterator[Running]:
    """A started server holding the champion."""
    yield from _serve(model.settings, model, store)


@pytest.fixture(scope="module")
def offers_running(model: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A server with a store of its own: offers made here never reach other tests' answers."""
    url = f"sqlite:///{tmp_path_factory.mktemp('offers') / 'recsys.db'}"
    settings = model.settings.model_copy(update={"database_url": url})
    store = open_event_store(url)
    try:
        yield from _serve(settings, model, store)
    finally:
        store.close()


def _serve(settings: Settings, model: Trained, store: SqlEventStore) -> Iterator[Running]:
    holder = ModelHolder()
    holder.swap(model.loaded)
    metrics = ServingMetrics(settings.channels, settings.event_types)
    server, port = build_server(settings, holder=holder, store=store, metrics=metrics)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Running(
            port,
            pb_grpc.RecommendationServiceStub(channel),
            channel,
            holder,
            store,
            metrics,
            settings.resolved_database_url,
        )
    finally:
        channel.close()
        server.stop(None)
