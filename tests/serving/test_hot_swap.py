"""Model swaps under concurrent load on a real server: no request fails, versions move once.

Client threads call Recommend over gRPC without pause while the registry's alias moves and
`ModelFollower.poll_once()` loads, checks and swaps the new version (or refuses a broken one).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from recsys.stores.sql_events import open_event_store
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from serving.models.follower import ModelFollower, ModelHolder
from serving.transport.metrics import ServingMetrics
from serving.transport.server import build_server
from tests.serving.registered import (
    TrainedRegistry,
    itemknn_bundle,
    register_bundle,
    registry,
    trained_registry,
)

CLIENTS = 4
CHANNELS = ("mobile", "web", "branch", "call_center", "atm")
MIN_ANSWERS = 10  # per client, before and after the swap: both versions answer under load
MAX_CALLS_PER_CLIENT = 5000  # bounds the test whatever the machine's speed
MAX_LOAD_S = 60.0


@dataclass(frozen=True)
class Versions:
    """The trained champion, a valid itemknn version, a version with corrupt arrays."""

    trained: TrainedRegistry
    itemknn: str
    broken: str


def garbage_arrays(bundle: Path, target: Path) -> Path:
    """The bundle with its model arrays overwritten by bytes that are no npz at all."""
    shutil.copytree(bundle, target)
    npz = target / "model" / "arrays.npz"
    npz.write_bytes(b"\x93NUMPY not really" * (npz.stat().st_size // 17 + 1))
    return target


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Versions:
    """Train a popularity champion; register an itemknn and a broken version beside it."""
    base = tmp_path_factory.mktemp("hot-swap-registry")
    trained = trained_registry(base)
    itemknn = register_bundle(
        trained.settings,
        itemknn_bundle(trained.bundle, base / "itemknn"),
        tags={"family": "itemknn"},
        metrics={},
    )
    broken = register_bundle(
        trained.settings,
        garbage_arrays(trained.bundle, base / "broken"),
        tags={"family": "popularity"},
        metrics={},
    )
    return Versions(trained, itemknn, broken)


@dataclass
class Served:
    """A started server whose holder a follower fills from the registry."""

    stub: pb_grpc.RecommendationServiceStub
    follower: ModelFollower
    metrics: ServingMetrics
    customers: list[str]


@pytest.fixture
def served(versions: Versions, tmp_path: Path) -> Iterator[Served]:
    """The trained version promoted again, loaded by a fresh follower, served on port 0."""
    settings = versions.trained.settings
    registry(settings).promote(int(versions.trained.champion))
    metrics = ServingMetrics(settings.channels, settings.event_types)
    follower = ModelFollower(settings, ModelHolder(), metrics=metrics, cache_dir=tmp_path)
    loaded = follower.load_initial()
    assert loaded is not None and loaded.version == versions.trained.champion
    store = open_event_store(settings.resolved_database_url)
    server, port = build_server(settings, holder=follower.holder, store=store, metrics=metrics)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    customers = loaded.engine.snapshot.customer_map.ids[:20].tolist() + ["NEW-hot-swap"]
    try:
        yield Served(pb_grpc.RecommendationServiceStub(channel), follower, metrics, customers)
    finally:
        channel.close()
        server.stop(None)


@dataclass
class Load:
    """What each client thread saw: (start time, model version) per answer, and failures."""

    answers: list[list[tuple[float, str]]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def client(served: Served, load: Load, n: int) -> None:
    """Call Recommend until told to stop (or the bound), rotating customers and channels."""
    seen = load.answers[n]
    for i in range(MAX_CALLS_PER_CLIENT):
        if load.stop.is_set():
            return
        customer = served.customers[(i * CLIENTS + n) % len(served.customers)]
        request = pb.RecommendRequest(customer_id=customer, channel=CHANNELS[i % len(CHANNELS)])
        started = time.monotonic()
        try:
            out = served.stub.Recommend(request, timeout=10)
        except grpc.RpcError as exc:
            load.failures.append(f"{customer}: {exc.code().name} {exc.details()}")
            continue
        if not out.items:
            load.failures.append(f"{customer} on {request.channel}: no items")
        seen.append((started, out.model_version))


def answered_since(load: Load, moment: float) -> None:
    """Wait until every client has MIN_ANSWERS answers to calls started after `moment`."""
    deadline = time.monotonic() + MAX_LOAD_S
    while time.monotonic() < deadline and not load.stop.is_set():
        if all(sum(t > moment for t, _ in seen) >= MIN_ANSWERS for seen in load.answers):
            return
        time.sleep(0.05)
    raise AssertionError(f"clients did not get {MIN_ANSWERS} answers each: {load.failures[:3]}")


def under_load(served: Served, action: Callable[[], bool]) -> tuple[Load, bool, float, float]:
    """Run `action` while CLIENTS threads call Recommend; the load, its result and window."""
    load = Load(answers=[[] for _ in range(CLIENTS)])
    threads = [threading.Thread(target=client, args=(served, load, n)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        answered_since(load, float("-inf"))
        began = time.monotonic()
        result = action()
        ended = time.monotonic()
        answered_since(load, ended)
    finally:
        load.stop.set()
        for t in threads:
            t.join(MAX_LOAD_S)
    assert not any(t.is_alive() for t in threads), "a client thread hung"
    return load, result, began, ended


def test_a_promoted_version_swaps_in_under_load_with_no_failed_request(
    served: Served, versions: Versions
) -> None:
    old, new = versions.trained.champion, versions.itemknn

    def promote_and_poll() -> bool:
        registry(versions.trained.settings).promote(int(new))
        return served.follower.poll_once()

    load, swapped, began, ended = under_load(served, promote_and_poll)
    assert swapped is True
    assert load.failures == []
    answers = [a for seen in load.answers for a in seen]
    during = [v for t, v in answers if began <= t <= ended]
    assert during, "no request ran while the new version was loaded and swapped"
    for seen in load.answers:  # each client: old answers, then new ones, never back
        versions_seen = [v for _, v in seen]
        assert versions_seen[0] == old and versions_seen[-1] == new, set(versions_seen)
        first_new = versions_seen.index(new)
        assert set(versions_seen[:first_new]) == {old}
        assert set(versions_seen[first_new:]) == {new}
    assert {v for t, v in answers if t > ended} == {new}
    assert served.metrics.value("recsys_model_swaps_total") == 1
    assert served.metrics.value("recsys_model_info", {"version": new, "family": "itemknn"}) == 1


def test_a_broken_version_promoted_under_load_is_refused_and_the_old_one_answers(
    served: Served, versions: Versions
) -> None:
    old, bad = versions.trained.champion, versions.broken
    current = served.follower.holder.current()

    def promote_and_poll() -> bool:
        registry(versions.trained.settings).promote(int(bad))
        return served.follower.poll_once()

    load, swapped, began, ended = under_load(served, promote_and_poll)
    assert swapped is False
    assert load.failures == []
    answers = [a for seen in load.answers for a in seen]
    assert any(began <= t <= ended for t, _ in answers), "no request ran during the check"
    assert {v for _, v in answers} == {old}
    assert served.follower.holder.current() is current
    assert served.follower.refused == {bad}
    assert served.metrics.value("recsys_models_refused_total") == 1
    assert served.metrics.value("recsys_model_swaps_total") == 0
