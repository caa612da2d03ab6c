"""The wired server: health follows the model, reflection, and two `recsys serve` processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from recsys.stores.sql_events import SqlEventStore
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from serving.models.holder import ModelHolder
from serving.transport.server import SERVICE_NAME, build_server, serve
from tests.serving.conftest import Running
from tests.serving.processes import health_of, serving_processes
from tests.serving.trained import Trained

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def test_health_is_not_serving_until_a_model_is_loaded(
    model: Trained, store: SqlEventStore
) -> None:
    holder = ModelHolder()
    server, port = build_server(model.settings, holder=holder, store=store)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            assert health_of(channel, "") == NOT_SERVING
            assert health_of(channel, SERVICE_NAME) == NOT_SERVING
            stub = pb_grpc.RecommendationServiceStub(channel)
            with pytest.raises(grpc.RpcError) as info:
                stub.Recommend(pb.RecommendRequest(customer_id="C1", channel="web"), timeout=5)
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
            holder.swap(model.loaded)
            assert health_of(channel, "") == SERVING
            assert health_of(channel, SERVICE_NAME) == SERVING
            out = stub.Recommend(pb.RecommendRequest(customer_id="C1", channel="web"), timeout=5)
            assert out.model_version == "1"
    finally:
        server.stop(None)


def test_reflection_lists_the_service_health_and_reflection(running: Running) -> None:
    database = ProtoReflectionDescriptorDatabase(running.channel)
    services = set(database.get_services())
    assert {SERVICE_NAME, "grpc.health.v1.Health"} <= services
    described = DescriptorPool(database).FindServiceByName(SERVICE_NAME)
    assert {m.name for m in described.methods} == {
        "Recommend",
        "RecommendBatch",
        "SimilarProducts",
        "RecordEvents",
        "GetModelInfo",
    }


def test_two_servers_on_one_port_need_reuse_port(model: Trained, store: SqlEventStore) -> None:
    first, port = build_server(model.settings, store=store)
    try:
        with pytest.raises(OSError, match="cannot bind"):
            build_server(model.settings, port=port, store=store)
    finally:
        first.stop(None)


def test_several_workers_need_a_fixed_port(model: Trained) -> None:
    with pytest.raises(ValueError, match="fixed port"):
        serve(model.settings, port=0, workers=2)


# --- two server processes sharing the event store ----------------------------------------


@pytest.fixture
def two_servers(
    model: Trained, tmp_path: Path
) -> Iterator[list[pb_grpc.RecommendationServiceStub]]:
    with serving_processes(model, tmp_path, ["a", "b"]) as stubs:
        yield stubs


def test_an_event_recorded_through_one_process_shows_in_the_other(
    two_servers: list[pb_grpc.RecommendationServiceStub], model: Trained
) -> None:
    first, second = two_servers
    engine = model.loaded.engine
    customer_id = str(engine.snapshot.customer_map.ids[50])
    request = pb.RecommendRequest(customer_id=customer_id, channel="branch", k=10)
    before = [i.product_id for i in second.Recommend(request, timeout=10).items]
    repeatable = engine.catalog.repeatable
    product = next(
        p for p in before if not repeatable[engine.snapshot.product_map.to_internal([p])[0]]
    )
    purchase = pb.Event(customer_id=customer_id, product_id=product, type="purchase")
    assert first.RecordEvents(pb.RecordEventsRequest(events=[purchase]), timeout=10).accepted == 1
    after = [i.product_id for i in second.Recommend(request, timeout=10).items]
    assert product not in after
    assert [i.product_id for i in first.Recommend(request, timeout=10).items] == after
