"""Hostile input against a real server: every method of every recsys.v1 service, fuzzed.

The methods and the shape of their requests come from the generated descriptors
(serving._proto.recsys.v1.*_pb2), so a service added to protos/recsys/v1 is fuzzed without
touching this file. Two kinds of input per method: well-typed messages with hostile values
(unicode, NUL, huge strings and lists, negative or huge numbers, out-of-range timestamps),
and bytes that are no valid message at all. Whatever comes in, the server never answers
INTERNAL or UNKNOWN (a server fault) and still answers a normal Recommend afterwards.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.columns import Columns as C
from recsys.stores.sql_events import open_event_store
from serving import _proto
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from serving.models.holder import ModelHolder
from serving.transport.metrics import ServingMetrics
from serving.transport.server import build
from tests.serving.proto_strategies import Hints, garbage, requests
from tests.serving.trained import Trained

PACKAGE = f"{_proto.__name__}.recsys.v1"
SERVER_FAULTS = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
CALL_TIMEOUT_S = 30.0
DEFAULT_CLIENT_RECEIVE_BYTES = 4 * 1024 * 1024  # grpc clients refuse bigger answers
TYPED = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
GARBAGE = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROFILE_KEYS = (
    C.segment, C.birth_year, C.risk_tolerance, C.marketing_consent, C.income_band, C.region,
    C.joined_at, C.customer_id, "occupation",
)  # fmt: skip
PROFILE_VALUES = ("1980", "3", "0", "6", "true", "maybe", "mass", "2020-01-01", "2999-01-01")


# --- what to fuzz: every method of every service in the package -------------------------
def package_services() -> list[Any]:
    """Every service descriptor of the generated recsys.v1 modules, by full name."""
    package = importlib.import_module(PACKAGE)
    found = {}
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.endswith("_pb2"):
            descriptor = importlib.import_module(f"{PACKAGE}.{module.name}").DESCRIPTOR
            found.update((s.full_name, s) for s in descriptor.services_by_name.values())
    return [found[name] for name in sorted(found)]


METHODS = [m for service in package_services() for m in service.methods]
METHOD_IDS = [f"{m.containing_service.name}.{m.name}" for m in METHODS]


def path_of(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


# --- the server under attack -------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Target:
    """A real server on port 0 with its own store, a channel to it, and plausible values."""

    channel: grpc.Channel
    hints: Hints
    customer: str


def hints_for(model: Trained) -> Hints:
    """Plausible values per field name, so fuzzed calls also get past validation."""
    snapshot = model.loaded.engine.snapshot
    customers = (*snapshot.customer_map.ids[:5].tolist(), "NEW-fuzz-1")
    products = tuple(snapshot.product_map.ids[:8].tolist())
    channels = tuple(model.settings.channels)
    now = int(time.time())
    day = 86_400
    return {
        # recommendation.proto
        "customer_id": customers,
        "customer_ids": customers,
        "product_id": products,
        "exclude_product_ids": products,
        "channel": channels,
        "k": (0, 1, 3, 10),
        "type": tuple(model.settings.event_types),
        "request_id": ("fuzz-request",),
        "offer_id": ("fuzz-offer",),
        "amount": (0.0, 12.5),
        "context.key": PROFILE_KEYS,
        "context.value": PROFILE_VALUES,
        "google.protobuf.Timestamp": tuple(
            Timestamp(seconds=now + d) for d in (-day, -1, 0, 299, 301, 30 * day, 36_500 * day)
        ),
        # offers.proto
        "offer_ref": ("fuzz-offer", "1"),
        "name": ("Spring deposit campaign",),
        "channels": channels,
        "segments": ("mass", "affluent", "young"),
        "regions": ("north", "south"),
        "income_bands": ("low", "mid", "high"),
        "age_min": (18, 30),
        "age_max": (65, 17),
        "min_risk_tolerance": (1, 3, 5),
        "boost": (0.5, 2.0),
        "pin": (1, 2),
        "priority": (0, 10),
        "impressions": (1, 3),
        "days": (1, 7),
        "paths": ("name", "priority", "channels", "boost", "target", "no_such_field"),
    }


@pytest.fixture(scope="module")
def target(model: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The champion served on port 0; events, offers, decisions go to a database of its own."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    own = model.settings.model_copy(update={"database_url": url})  # fuzzed writes stay here
    holder = ModelHolder()
    holder.swap(model.loaded)
    metrics = ServingMetrics(own.channels, own.event_types)
    built = build(own, holder=holder, store=open_event_store(url), metrics=metrics)
    built.server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{built.port}")
    customer = str(model.loaded.engine.snapshot.customer_map.ids[0])
    try:
        yield Target(channel, hints_for(model), customer)
    finally:
        channel.close()
        built.server.stop(None).wait(10)
        if built.offer_book is not None:
            built.offer_book.stop()
        if built.decision_log is not None:
            built.decision_log.close()


def call(target: Target, method: MethodDescriptor, request: bytes) -> tuple[grpc.StatusCode, str]:
    """Send raw request bytes to `method`; the status code and details of the answer."""
    stub = target.channel.unary_unary(path_of(method))  # no serializers: bytes as they are
    try:
        stub(request, timeout=CALL_TIMEOUT_S)
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""


def server_fault(code: grpc.StatusCode, details: str) -> bool:
    """INTERNAL/UNKNOWN, or an error whose details are too big for the client to read."""
    # grpc drops trailers over 16 kB and says RESOURCE_EXHAUSTED: the client never learns
    # what was wrong (the server echoed a huge value back)
    return code in SERVER_FAULTS or "metadata size exceeds" in details


def assert_still_serving(target: Target) -> None:
    stub = pb_grpc.RecommendationServiceStub(target.channel)
    request = pb.RecommendRequest(customer_id=target.customer, channel="web")
    out = stub.Recommend(request, timeout=10)
    assert out.items and out.customer_id == target.customer


def require_served(target: Target, method: MethodDescriptor) -> None:
    """Skip (saying why) a streaming method, or one the server has no handler for."""
    if method.client_streaming or method.server_streaming:
        pytest.skip(f"{path_of(method)} streams; this harness sends unary requests only")
    if call(target, method, b"")[0] == grpc.StatusCode.UNIMPLEMENTED:
        pytest.skip(
            f"{path_of(method)} is not served by serving.transport.server.build (UNIMPLEMENTED)"
        )


def fuzz(
    target: Target,
    method: MethodDescriptor,
    strategy: st.SearchStrategy,
    how: settings,
    encode: Callable[[Any], bytes],
) -> None:
    """Send what `strategy` draws to `method`: never a server fault; then Recommend works."""

    @how
    @given(value=strategy)
    def attack(value: Any) -> None:
        code, details = call(target, method, encode(value))
        assert not server_fault(code, details), (
            f"{path_of(method)}: {code.name} {details[:200]!r} for {value!r:.300}"
        )

    attack()
    assert_still_serving(target)


@pytest.mark.parametrize("method", METHODS, ids=METHOD_IDS)
def test_well_typed_hostile_messages_never_get_a_server_fault(
    target: Target, method: MethodDescriptor
) -> None:
    require_served(target, method)
    strategy = requests(method.input_type, target.hints)
    fuzz(target, method, strategy, TYPED, lambda m: m.SerializeToString())


@pytest.mark.parametrize("method", METHODS, ids=METHOD_IDS)
def test_bytes_that_are_no_message_never_get_a_server_fault(
    target: Target, method: MethodDescriptor
) -> None:
    require_served(target, method)
    fuzz(target, method, garbage(method.input_type, target.hints), GARBAGE, lambda b: b)


@pytest.mark.parametrize("method", METHODS, ids=METHOD_IDS)
def test_a_corrupt_request_is_invalid_argument_naming_the_method(
    target: Target, method: MethodDescriptor
) -> None:
    require_served(target, method)
    stub = target.channel.unary_unary(path_of(method))
    with pytest.raises(grpc.RpcError) as info:
        stub(b"\xff\xff\xff", timeout=CALL_TIMEOUT_S)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details().startswith(f"request to {path_of(method)} does not parse: ")


def test_the_package_is_enumerated_from_descriptors() -> None:
    # the harness must at least see the service the contract started with
    assert {"Recommend", "RecommendBatch", "SimilarProducts", "RecordEvents",
            "GetModelInfo"} <= {m.name for m in METHODS}  # fmt: skip


def test_hostile_strings_are_refused_naming_the_field_without_echoing_them(
    target: Target,
) -> None:
    stub = pb_grpc.RecommendationServiceStub(target.channel)
    cases = {
        "customer_id": pb.RecommendRequest(customer_id="C1\x00", channel="web"),
        "request_id": pb.RecommendRequest(customer_id="C1", channel="web", request_id="r\n1"),
        "channel": pb.RecommendRequest(customer_id="C1", channel="w" * 100_000),
    }
    for field, request in cases.items():
        with pytest.raises(grpc.RpcError) as info:
            stub.Recommend(request, timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, field
        assert info.value.details().startswith(f"{field}: "), info.value.details()[:200]
        assert len(info.value.details()) < 500  # 100 kB echoed back would break the trailers


def test_a_megabyte_of_empty_events_is_refused_by_count_at_once(target: Target) -> None:
    stub = pb_grpc.RecommendationServiceStub(target.channel)
    request = pb.RecordEventsRequest(events=[pb.Event()] * 400_000)  # 800 kB on the wire
    started = time.perf_counter()
    with pytest.raises(grpc.RpcError) as info:
        stub.RecordEvents(request, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == "events: has 400000 entries; at most 1000 allowed"
    assert time.perf_counter() - started < 2.0


def test_the_largest_batch_the_limits_allow_fits_a_default_client(
    target: Target, model: Trained
) -> None:
    limits = model.settings.limits
    customers = model.loaded.engine.snapshot.customer_map.ids.tolist()
    k = limits.max_k
    n = limits.max_batch_items // k
    stub = pb_grpc.RecommendationServiceStub(target.channel)  # default 4 MiB receive limit
    request = pb.RecommendBatchRequest(customer_ids=(customers * 2)[:n], channel="call_center", k=k)
    out = stub.RecommendBatch(request, timeout=60)
    items = sum(len(r.items) for r in out.results)
    # the catalog may hold fewer than k products: scale up to max_batch_items items
    assert out.ByteSize() / items * limits.max_batch_items < DEFAULT_CLIENT_RECEIVE_BYTES * 0.8
    over = pb.RecommendBatchRequest(customer_ids=(customers * 2)[: n + 1], channel="web", k=k)
    with pytest.raises(grpc.RpcError) as info:
        stub.RecommendBatch(over, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details().startswith(f"customer_ids: {n + 1} customers x k={k} is ")
