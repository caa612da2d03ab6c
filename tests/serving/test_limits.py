"""Per-key rate limits and the batch-answer budget: on their own, and through a real server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import grpc
import pytest

from recsys.settings import RateLimit, ServerLimits
from recsys.stores.sql_events import SqlEventStore
from recsys.stores.sql_keys import open_key_store
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from serving.models.holder import ModelHolder
from serving.transport.limits import RateLimiter, ResponseBudget, TokenBucket
from serving.transport.metrics import ServingMetrics
from serving.transport.server import build_server
from tests.serving.trained import Trained


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=3.0, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5  # one token back
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now += 60  # never more than the burst
    assert sum(bucket.take() for _ in range(10)) == 3


def test_keys_have_buckets_of_their_own_and_processes_share_the_rate() -> None:
    clock = Clock()
    rates = {"channel": RateLimit(per_second=10, burst=4), "admin": RateLimit(per_second=0)}
    limiter = RateLimiter(rates, share=0.5, clock=clock)  # one of two processes: burst 2
    assert [limiter.allow("k1", "channel") for _ in range(3)] == [True, True, False]
    assert limiter.allow("k2", "channel")
    assert all(limiter.allow("k3", "admin") for _ in range(100))  # 0 = unlimited
    assert all(limiter.allow("k4", "marketing") for _ in range(100))  # not configured


def test_the_budget_refuses_past_its_bytes_and_gives_back() -> None:
    budget = ResponseBudget(100)
    assert budget.charge(60) and not budget.charge(60) and budget.charge(40)
    budget.release(60)
    assert budget.used == 40 and budget.charge(60)
    alone = ResponseBudget(10)
    assert alone.charge(50), "one answer larger than the budget still runs when none waits"


@pytest.fixture(scope="module")
def limited(
    model: Trained, store: SqlEventStore
) -> Iterator[tuple[grpc.Channel, str, ServingMetrics]]:
    limits = ServerLimits(rate={"channel": RateLimit(per_second=0.01, burst=3)})
    settings = model.settings.model_copy(update={"auth_required": True, "server": limits})
    keys = open_key_store(settings.resolved_database_url)
    _, secret = keys.create(f"limited-{uuid.uuid4().hex[:8]}", "channel")
    holder = ModelHolder()
    holder.swap(model.loaded)
    metrics = ServingMetrics(settings.channels, settings.event_types)
    server, port = build_server(settings, holder=holder, store=store, metrics=metrics)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield channel, secret, metrics
    finally:
        channel.close()
        server.stop(None)
        keys.close()


def test_a_key_past_its_rate_is_resource_exhausted_and_counted(
    limited: tuple[grpc.Channel, str, ServingMetrics], model: Trained
) -> None:
    channel, secret, metrics = limited
    stub = pb_grpc.RecommendationServiceStub(channel)
    customer = str(model.loaded.engine.snapshot.customer_map.ids[3])
    request = pb.RecommendRequest(customer_id=customer, channel="web")
    auth = (("authorization", f"Bearer {secret}"),)
    for _ in range(3):
        assert stub.Recommend(request, metadata=auth, timeout=10).items
    with pytest.raises(grpc.RpcError) as info:
        stub.Recommend(request, metadata=auth, timeout=10)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "rate limit of API key" in info.value.details() and secret not in info.value.details()
    assert metrics.value("recsys_rate_limited_total", {"role": "channel"}) == 1
