"""Customer-bound mode and enumeration alerts (issue 22 part 5), through a real server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest
from pydantic import SecretStr

from recsys.security.customer_tokens import TokenRefused, sign, verified_customer
from recsys.stores.sql_events import SqlEventStore
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from serving.models.holder import ModelHolder
from serving.transport.metrics import ServingMetrics
from serving.transport.server import build_server
from tests.serving.trained import Trained

KEY = b"the-bank-backend-signing-key"
ALERT_AT = 5


def token(customer: str, in_s: float = 60, key: bytes = KEY) -> tuple[str, str]:
    return ("x-customer-token", sign(customer, int(time.time() + in_s), key))


def test_a_token_names_its_customer_until_it_expires() -> None:
    now = 1_700_000_000.0
    good = sign("C1", int(now + 60), KEY)
    assert verified_customer(good, KEY, now=now, max_age_s=300) == "C1"
    with pytest.raises(TokenRefused, match="wrong signature"):
        verified_customer(good, b"another key", now=now, max_age_s=300)
    with pytest.raises(TokenRefused, match="expired"):
        verified_customer(good, KEY, now=now + 61, max_age_s=300)
    with pytest.raises(TokenRefused, match="not short-lived"):
        verified_customer(sign("C1", int(now + 86_400), KEY), KEY, now=now, max_age_s=300)
    head, body, mac = good.split(".")
    forged = sign("C2", int(now + 60), KEY).split(".")[1]
    with pytest.raises(TokenRefused, match="wrong signature"):
        verified_customer(f"{head}.{forged}.{mac}", KEY, now=now, max_age_s=300)
    with pytest.raises(TokenRefused, match="not a JWT"):
        verified_customer("nonsense", KEY, now=now, max_age_s=300)


@pytest.fixture(scope="module")
def bound(
    model: Trained, store: SqlEventStore
) -> Iterator[tuple[pb_grpc.RecommendationServiceStub, ServingMetrics]]:
    settings = model.settings.model_copy(
        update={
            "customer_tokens": "required",
            "customer_token_key": SecretStr(KEY.decode()),
            "enumeration_alert_customers": ALERT_AT,
        }
    )
    holder = ModelHolder()
    holder.swap(model.loaded)
    metrics = ServingMetrics(settings.channels, settings.event_types)
    server, port = build_server(settings, holder=holder, store=store, metrics=metrics)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield pb_grpc.RecommendationServiceStub(channel), metrics
    finally:
        channel.close()
        server.stop(None)


def customer(model: Trained, i: int) -> str:
    return str(model.loaded.engine.snapshot.customer_map.ids[i])


def refused(call, request, metadata) -> grpc.RpcError:  # noqa: ANN001
    with pytest.raises(grpc.RpcError) as info:
        call(request, metadata=metadata, timeout=10)
    return info.value


def test_recommend_needs_a_token_for_that_customer(bound, model: Trained) -> None:  # noqa: ANN001
    stub, _ = bound
    x, y = customer(model, 1), customer(model, 2)
    request = pb.RecommendRequest(customer_id=x, channel="web")
    assert stub.Recommend(request, metadata=(token(x),), timeout=10).items
    other = refused(stub.Recommend, request, (token(y),))
    assert other.code() == grpc.StatusCode.PERMISSION_DENIED and x in other.details()
    none = refused(stub.Recommend, request, ())
    assert none.code() == grpc.StatusCode.PERMISSION_DENIED
    expired = refused(stub.Recommend, request, (token(x, in_s=-5),))
    assert expired.code() == grpc.StatusCode.UNAUTHENTICATED and "expired" in expired.details()
    forged = refused(stub.Recommend, request, (token(x, key=b"guessed"),))
    assert forged.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "wrong signature" in forged.details()


def test_a_batch_needs_a_token_for_every_customer(bound, model: Trained) -> None:  # noqa: ANN001
    stub, _ = bound
    ids = [customer(model, i) for i in (3, 4)]
    request = pb.RecommendBatchRequest(customer_ids=ids, channel="call_center")
    out = stub.RecommendBatch(request, metadata=[token(c) for c in ids], timeout=10)
    assert [r.customer_id for r in out.results] == ids
    error = refused(stub.RecommendBatch, request, (token(ids[0]),))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and ids[1] in error.details()


def test_many_distinct_customers_from_one_key_raise_the_alert(bound, model: Trained) -> None:  # noqa: ANN001
    stub, metrics = bound
    labels = {"key": "(no key)"}  # auth is off here: the callers without a key count together
    before = metrics.value("recsys_key_enumeration_alerts_total", labels) or 0
    for i in range(10, 10 + ALERT_AT + 3):
        c = customer(model, i)
        stub.Recommend(
            pb.RecommendRequest(customer_id=c, channel="web"), metadata=(token(c),), timeout=10
        )
    assert metrics.value("recsys_key_enumeration_alerts_total", labels) == before + 1
    assert metrics.value("recsys_key_distinct_customers", labels) == ALERT_AT + 1
