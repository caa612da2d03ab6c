"""API keys on a real server with auth required: who gets in, who is refused, with which code."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from recsys.security.keys import ApiKey
from recsys.stores.base import StoreUnavailable
from recsys.stores.sql_events import SqlEventStore
from recsys.stores.sql_keys import SqlKeyStore, open_key_store
from serving._proto.recsys.v1 import offers_pb2, offers_pb2_grpc
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from serving.models.holder import ModelHolder
from serving.transport.auth import AUTH_OFF_WARNING, AuthInterceptor, KeyCache, bearer
from serving.transport.metrics import ServingMetrics
from serving.transport.server import SERVICE_NAME, build_server
from tests.serving.trained import Trained

CACHE_S = 0.5  # short, so the revoke test waits little
OFFERS = "recsys.v1.OfferService"  # the test adds stand-in methods (one streams) beside it
Metadata = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Secured:
    """A started server with auth required, its key store, and one live key per role."""

    channel: grpc.Channel
    stub: pb_grpc.RecommendationServiceStub
    metrics: ServingMetrics
    keys: SqlKeyStore
    key: dict[str, str]  # role -> clear key


def auth(key: str) -> Metadata:
    return (("authorization", f"Bearer {key}"),)


def offer_service() -> grpc.GenericRpcHandler:
    """Stand-in OfferManager methods (raw bytes): one unary and one server-streaming."""

    async def ping(request: bytes, _context: grpc.aio.ServicerContext) -> bytes:
        return b"pong:" + request

    async def watch(request: bytes, _context: grpc.aio.ServicerContext):  # noqa: ANN202
        for i in range(3):
            yield request + str(i).encode()

    return grpc.method_handlers_generic_handler(
        OFFERS,
        {
            "Ping": grpc.unary_unary_rpc_method_handler(ping),
            "Watch": grpc.unary_stream_rpc_method_handler(watch),
        },
    )


@pytest.fixture(scope="module")
def secured(model: Trained, store: SqlEventStore) -> Iterator[Secured]:
    settings = model.settings.model_copy(
        update={"auth_required": True, "auth_cache_seconds": CACHE_S}
    )
    keys = open_key_store(settings.resolved_database_url)
    suffix = uuid.uuid4().hex[:8]
    made = {role: keys.create(f"{role}-{suffix}", role)[1] for role in ("channel", "marketing")}
    made["admin"] = keys.create(f"admin-{suffix}", "admin")[1]
    holder = ModelHolder()
    holder.swap(model.loaded)
    metrics = ServingMetrics(settings.channels, settings.event_types)
    server, port = build_server(settings, holder=holder, store=store, metrics=metrics)
    server.server.add_generic_rpc_handlers((offer_service(),))
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        stub = pb_grpc.RecommendationServiceStub(channel)
        yield Secured(channel, stub, metrics, keys, made)
    finally:
        channel.close()
        server.stop(None)
        keys.close()


def refused(call: object, request: object, metadata: Metadata | None) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(request, metadata=metadata, timeout=10)  # type: ignore[operator]
    return info.value


RECOMMEND = pb.RecommendRequest(customer_id="C1", channel="web")


def test_no_key_is_unauthenticated_and_counted(secured: Secured) -> None:
    labels = {"method": "Recommend", "channel": "web", "code": "UNAUTHENTICATED"}
    before = secured.metrics.value("recsys_requests_total", labels)
    error = refused(secured.stub.Recommend, RECOMMEND, None)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "authorization: Bearer" in error.details()
    assert secured.metrics.value("recsys_requests_total", labels) == before + 1


@pytest.mark.parametrize(
    "metadata",
    [
        auth("rk_0123456789ab_" + "Q" * 43),  # well-formed, unknown id
        auth("not-a-key-QQQQQQQQQQQQQQQQ"),
        (("authorization", "Basic QQQQQQQQQQQQQQQQ"),),
        (("authorization", "Bearer "),),
    ],
)
def test_unknown_or_malformed_keys_are_unauthenticated(
    secured: Secured, metadata: Metadata
) -> None:
    error = refused(secured.stub.Recommend, RECOMMEND, metadata)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "QQQQ" not in error.details()


def test_a_wrong_secret_for_a_real_id_is_unauthenticated(secured: Secured) -> None:
    real = secured.key["admin"]
    forged = real[: -len("QQQQ")] + ("QQQQ" if not real.endswith("QQQQ") else "RRRR")
    error = refused(secured.stub.GetModelInfo, pb.GetModelInfoRequest(), auth(forged))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_revoked_key_is_unauthenticated(secured: Secured) -> None:
    record, key = secured.keys.create(f"gone-{uuid.uuid4().hex[:8]}", "channel")
    secured.keys.revoke(record.id)
    error = refused(secured.stub.Recommend, RECOMMEND, auth(key))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert key not in error.details()


def test_a_revoke_takes_effect_within_the_cache_time(secured: Secured) -> None:
    record, key = secured.keys.create(f"soon-gone-{uuid.uuid4().hex[:8]}", "channel")
    assert secured.stub.Recommend(RECOMMEND, metadata=auth(key), timeout=10).items
    secured.keys.revoke(record.id)
    revoked_at = time.monotonic()
    while True:
        try:
            secured.stub.Recommend(RECOMMEND, metadata=auth(key), timeout=10)
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
            break
        assert time.monotonic() - revoked_at < CACHE_S + 1.0, "revoked key still accepted"
        time.sleep(0.05)


def test_a_marketing_key_may_not_recommend(secured: Secured) -> None:
    key = secured.key["marketing"]
    error = refused(secured.stub.Recommend, RECOMMEND, auth(key))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    details = error.details()
    assert "role 'marketing'" in details and "/recsys.v1.RecommendationService/Recommend" in details
    assert "channel or admin" in details and key not in details
    labels = {"method": "Recommend", "channel": "web", "code": "PERMISSION_DENIED"}
    assert secured.metrics.value("recsys_requests_total", labels) >= 1


def test_a_channel_key_gets_answers_but_not_model_info_or_offers(secured: Secured) -> None:
    key = auth(secured.key["channel"])
    stub = secured.stub
    out = stub.Recommend(RECOMMEND, metadata=key, timeout=10)
    assert out.items and out.model_version == "1"
    batch = pb.RecommendBatchRequest(customer_ids=["C1", "C2"], channel="web")
    assert len(stub.RecommendBatch(batch, metadata=key, timeout=10).results) == 2
    similar = pb.SimilarProductsRequest(product_id="CC_CLASSIC", k=3)
    assert stub.SimilarProducts(similar, metadata=key, timeout=10).items
    info = refused(stub.GetModelInfo, pb.GetModelInfoRequest(), key)
    assert info.code() == grpc.StatusCode.PERMISSION_DENIED and "role admin" in info.details()
    ping = secured.channel.unary_unary(f"/{OFFERS}/Ping")
    assert refused(ping, b"x", key).code() == grpc.StatusCode.PERMISSION_DENIED
    watch = secured.channel.unary_stream(f"/{OFFERS}/Watch")
    with pytest.raises(grpc.RpcError) as streamed:
        list(watch(b"w", metadata=key, timeout=10))
    assert streamed.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_marketing_key_calls_every_offer_method(secured: Secured) -> None:
    key = auth(secured.key["marketing"])
    ping = secured.channel.unary_unary(f"/{OFFERS}/Ping")
    assert ping(b"m", metadata=key, timeout=10) == b"pong:m"
    watch = secured.channel.unary_stream(f"/{OFFERS}/Watch")
    assert list(watch(b"w", metadata=key, timeout=10)) == [b"w0", b"w1", b"w2"]
    with pytest.raises(grpc.RpcError) as no_key:
        list(watch(b"w", timeout=10))
    assert no_key.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_real_offer_service_answers_marketing_and_refuses_channel(secured: Secured) -> None:
    stub = offers_pb2_grpc.OfferServiceStub(secured.channel)
    request = offers_pb2.ListOffersRequest()
    listed = stub.ListOffers(request, metadata=auth(secured.key["marketing"]), timeout=10)
    assert isinstance(listed, offers_pb2.ListOffersResponse)
    denied = refused(stub.ListOffers, request, auth(secured.key["channel"]))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "marketing or admin" in denied.details()


def test_an_admin_key_calls_everything(secured: Secured) -> None:
    key = auth(secured.key["admin"])
    info = secured.stub.GetModelInfo(pb.GetModelInfoRequest(), metadata=key, timeout=10)
    assert info.version == "1"
    assert secured.stub.Recommend(RECOMMEND, metadata=key, timeout=10).items
    ping = secured.channel.unary_unary(f"/{OFFERS}/Ping")
    assert ping(b"a", metadata=key, timeout=10) == b"pong:a"


def test_health_and_reflection_need_no_key(secured: Secured) -> None:
    health = health_pb2_grpc.HealthStub(secured.channel)
    check = health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=10)
    assert check.status == health_pb2.HealthCheckResponse.SERVING
    services = set(ProtoReflectionDescriptorDatabase(secured.channel).get_services())
    assert SERVICE_NAME in services


def test_an_open_server_says_so_at_start(
    model: Trained, store: SqlEventStore, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="serving.transport.auth"):
        server, _port = build_server(model.settings, store=store)
    server.stop(None)
    assert any(r.getMessage() == AUTH_OFF_WARNING for r in caplog.records)
    assert not model.settings.auth_required


# --- the cache and the header, on their own ------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


KEY = ApiKey("0123456789ab", "app", "channel", created_at=None)  # type: ignore[arg-type]


def test_the_cache_asks_the_store_once_per_key_per_ttl() -> None:
    asked: list[str] = []
    clock = Clock()
    cache = KeyCache(lambda k: asked.append(k) or (KEY if k == "good" else None), 5.0, clock=clock)
    assert cache.cached("d-good") == (False, None)
    assert cache.resolve("good", "d-good") is KEY
    assert cache.resolve("bad", "d-bad") is None
    clock.now += 4.9
    assert cache.cached("d-good") == (True, KEY)
    assert cache.cached("d-bad") == (True, None)  # unknown keys are remembered too
    clock.now += 0.2
    assert cache.cached("d-good") == (False, None)
    assert asked == ["good", "bad"]


def test_a_zero_ttl_never_caches_and_the_cache_stays_bounded() -> None:
    clock = Clock()
    never = KeyCache(lambda _k: KEY, 0.0, clock=clock)
    never.resolve("k", "d")
    assert never.cached("d") == (False, None) and len(never) == 0
    small = KeyCache(lambda _k: None, 60.0, clock=clock, max_entries=10)
    for i in range(25):
        small.resolve(f"k{i}", f"d{i}")
    assert len(small) <= 10


def test_a_store_outage_on_a_cache_miss_is_unavailable() -> None:
    def down(_key: str) -> ApiKey | None:
        raise StoreUnavailable("key store: cannot check a key: connection refused")

    interceptor = AuthInterceptor(KeyCache(down, 5.0))
    refusal = interceptor.check_blocking(auth("rk_0123456789ab_" + "A" * 43), "/x.Y/Z")
    assert refusal is not None and refusal.code == grpc.StatusCode.UNAVAILABLE


def test_bearer_reads_the_key_case_insensitively() -> None:
    assert bearer((("Authorization", "bearer  abc "),)) == "abc"
    assert bearer((("x-other", "1"), ("authorization", "Bearer k"))) == "k"
    assert not isinstance(bearer(None), str)


def test_an_offer_change_is_recorded_as_made_by_the_verified_key(
    secured: Secured, model: Trained
) -> None:
    from tests.serving.test_offer_service import message

    secret = secured.key["marketing"]
    name = secured.keys.get(secret.split("_")[1]).name
    stub = offers_pb2_grpc.OfferServiceStub(secured.channel)
    draft = message(model, status=offers_pb2.OFFER_STATUS_DRAFT)  # a draft: never served
    metadata = [*auth(secret), ("x-actor", "ann")]
    out = stub.CreateOffer(
        offers_pb2.CreateOfferRequest(offer=draft), metadata=metadata, timeout=10
    )
    assert out.offer.created_by == f"key:{name} (ann)"
    alone = stub.CreateOffer(
        offers_pb2.CreateOfferRequest(offer=message(model, status=offers_pb2.OFFER_STATUS_DRAFT)),
        metadata=auth(secret),
        timeout=10,
    )
    assert alone.offer.created_by == f"key:{name}"


def test_two_authorization_headers_are_unauthenticated(secured: Secured) -> None:
    """Whichever one a proxy would honour, the server honours neither."""
    good, other = secured.key["channel"], secured.key["admin"]
    for metadata in ((*auth(good), *auth(other)), (*auth(good), *auth(good))):
        error = refused(secured.stub.Recommend, RECOMMEND, metadata)
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        assert error.details().startswith("2 authorization headers"), error.details()
        assert good.split("_")[-1] not in error.details()


def test_auth_without_tls_warns_that_keys_travel_in_clear(
    model: Trained, caplog: pytest.LogCaptureFixture
) -> None:
    from serving.transport.auth import PLAINTEXT_KEYS_WARNING, auth_interceptors

    settings = model.settings.model_copy(update={"auth_required": True})
    with caplog.at_level(logging.WARNING, logger="serving.transport.auth"):
        auth_interceptors(settings)
    assert [r.getMessage() for r in caplog.records] == [PLAINTEXT_KEYS_WARNING]


def test_a_declared_actor_cannot_pass_for_a_key(secured: Secured, model: Trained) -> None:
    from tests.serving.test_offer_service import message

    secret = secured.key["marketing"]
    name = secured.keys.get(secret.split("_")[1]).name
    stub = offers_pb2_grpc.OfferServiceStub(secured.channel)
    # gRPC itself refuses control characters in metadata: brackets and backslashes get through
    metadata = [*auth(secret), ("x-actor", "ann) (key:admin\\")]
    draft = message(model, status=offers_pb2.OFFER_STATUS_DRAFT)
    out = stub.CreateOffer(
        offers_pb2.CreateOfferRequest(offer=draft), metadata=metadata, timeout=10
    )
    assert out.offer.created_by == f"key:{name} (ann\\) \\(key:admin\\\\)"


def test_control_characters_of_a_declared_actor_are_escaped() -> None:
    from serving.offers.servicer import escaped_actor

    assert escaped_actor("a\x1b[2Jb\x00") == "a\\x1b[2Jb\\x00"
