"""The gRPC contract through a real server on port 0 and a real channel."""

from __future__ import annotations

import grpc
import numpy as np
import polars as pl
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.columns import Columns as C
from recsys.engine.engine import Engine
from recsys.engine.state import UNKNOWN_RISK_TOLERANCE
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from tests.serving.conftest import Running
from tests.serving.trained import Trained

CHANNELS = ("mobile", "web", "branch", "call_center", "atm")
SEGMENTS = ("mass", "affluent", "private", "junior", "not-a-segment")


def internal(engine: Engine, product_ids: list[str]) -> np.ndarray:
    return engine.snapshot.product_map.to_internal(product_ids)


def customer(model: Trained, i: int) -> str:
    return str(model.loaded.engine.snapshot.customer_map.ids[i])


def invalid(call, request, field: str) -> str:  # noqa: ANN001 - a stub method
    """Call, expect INVALID_ARGUMENT, and check the message starts with `field`."""
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    assert info.value.details().startswith(f"{field}: "), info.value.details()
    return info.value.details()


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_channel_answers_known_and_unknown_customers(
    running: Running, model: Trained, channel: str
) -> None:
    default_k = model.settings.channels[channel].default_k
    for customer_id in (customer(model, 20), "NEW-grpc-1"):
        out = running.stub.Recommend(
            pb.RecommendRequest(customer_id=customer_id, channel=channel), timeout=10
        )
        assert out.customer_id == customer_id and out.model_version == "1" and out.request_id
        assert 1 <= len(out.items) <= default_k
        assert [i.rank for i in out.items] == list(range(1, len(out.items) + 1))
        assert all(i.name and i.category and i.reasons for i in out.items)
        assert all(r.code and r.text for i in out.items for r in i.reasons)
        excluded = model.settings.channels[channel].excluded_categories
        assert not {i.category for i in out.items} & set(excluded)


def test_atm_shows_one_item(running: Running, model: Trained) -> None:
    out = running.stub.Recommend(
        pb.RecommendRequest(customer_id=customer(model, 21), channel="atm"), timeout=10
    )
    assert len(out.items) == 1


def test_unknown_customer_with_context(running: Running, model: Trained) -> None:
    request = pb.RecommendRequest(
        customer_id="NEW-grpc-2",
        channel="call_center",
        context={C.segment: "affluent", C.risk_tolerance: "4", C.birth_year: "1980"},
        request_id="ctx-1",
    )
    out = running.stub.Recommend(request, timeout=10)
    assert out.request_id == "ctx-1" and len(out.items) == 10
    risk = model.loaded.engine.catalog.risk_rating[
        internal(model.loaded.engine, [i.product_id for i in out.items])
    ]
    assert risk.max() <= 4
    assert any("affluent" in r.text for i in out.items for r in i.reasons)


@st.composite
def requests(draw: st.DrawFn, customers: list[str]) -> tuple[pb.RecommendRequest, int | None]:
    """A Recommend request and the risk tolerance it must respect (None: the snapshot's)."""
    known = draw(st.booleans())
    customer_id = (
        draw(st.sampled_from(customers))
        if known
        else draw(st.from_regex(r"NEW-[A-Z0-9]{1,12}", fullmatch=True))
    )
    context: dict[str, str] = {}
    if draw(st.booleans()):
        if draw(st.booleans()):
            context[C.risk_tolerance] = str(draw(st.integers(1, 5)))
        if draw(st.booleans()):
            context[C.segment] = draw(st.sampled_from(SEGMENTS))
        if draw(st.booleans()):
            context[C.birth_year] = str(draw(st.integers(1930, 2010)))
        if draw(st.booleans()):
            context[C.marketing_consent] = draw(st.sampled_from(["true", "false"]))
    channel = draw(st.sampled_from(CHANNELS))
    k = draw(st.integers(0, 50))
    request = pb.RecommendRequest(customer_id=customer_id, channel=channel, k=k, context=context)
    tolerance = None if known else int(context.get(C.risk_tolerance, UNKNOWN_RISK_TOLERANCE))
    return request, tolerance


def test_suitability_is_never_violated_by_any_path(running: Running, model: Trained) -> None:
    engine = model.loaded.engine
    snap = engine.snapshot
    tolerance_of = dict(
        zip(snap.customer_map.ids.tolist(), snap.customers[C.risk_tolerance].to_list(), strict=True)
    )
    customers = snap.customer_map.ids[:200].tolist()

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(requests(customers))
    def check(drawn: tuple[pb.RecommendRequest, int | None]) -> None:
        request, tolerance = drawn
        out = running.stub.Recommend(request, timeout=10)
        limit = tolerance if tolerance is not None else tolerance_of[request.customer_id]
        ids = internal(engine, [i.product_id for i in out.items])
        assert (engine.catalog.risk_rating[ids] <= limit).all(), (request, limit)
        k = request.k or model.settings.channels[request.channel].default_k
        assert len(out.items) <= k
        assert all(i.reasons for i in out.items)
        if tolerance is None:  # known: nothing already held (non-repeatable) comes back
            row = snap.customer_map.to_internal([request.customer_id])[0]
            held = snap.held[row].toarray().ravel()[ids] > 0
            assert not (held & ~engine.catalog.repeatable[ids]).any()

    check()


def test_recorded_purchase_disappears_from_the_next_answer(
    running: Running, model: Trained
) -> None:
    engine = model.loaded.engine
    customer_id = customer(model, 30)
    request = pb.RecommendRequest(customer_id=customer_id, channel="branch", k=10)
    before = [i.product_id for i in running.stub.Recommend(request, timeout=10).items]
    product = next(p for p in before if not engine.catalog.repeatable[internal(engine, [p])[0]])
    stamp = Timestamp()
    stamp.GetCurrentTime()
    events = pb.RecordEventsRequest(
        events=[
            pb.Event(
                customer_id=customer_id,
                product_id=product,
                type="purchase",
                channel="branch",
                timestamp=stamp,
                amount=120.5,
                request_id="r-1",
            ),
        ]
    )
    counted = {"type": "purchase", "channel": "branch"}
    before_count = running.metrics.value("recsys_events_recorded_total", counted)
    assert running.stub.RecordEvents(events, timeout=10).accepted == 1
    assert running.metrics.value("recsys_events_recorded_total", counted) == before_count + 1
    after = [i.product_id for i in running.stub.Recommend(request, timeout=10).items]
    assert product not in after
    stored = running.store.export(since=engine.snapshot.as_of).filter(
        pl.col(C.customer_id) == customer_id
    )
    assert stored[C.product_id].to_list() == [product]
    assert stored[C.amount].to_list() == [120.5]


def event(**fields: object) -> pb.Event:
    base = {"customer_id": "C00000001", "product_id": "CA_SALARY", "type": "view"}
    return pb.Event(**{**base, **fields})


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.RecommendRequest(customer_id="", channel="mobile"), "customer_id"),
        (pb.RecommendRequest(customer_id="x" * 500, channel="mobile"), "customer_id"),
        (pb.RecommendRequest(customer_id="C00000001", channel="mobile", k=500), "k"),
        (pb.RecommendRequest(customer_id="C00000001", channel="mobile", k=-1), "k"),
        (pb.RecommendRequest(customer_id="C00000001", channel="telex"), "channel"),
        (pb.RecommendRequest(customer_id="C00000001", channel=""), "channel"),
        (pb.RecommendRequest(customer_id="C1", channel="web", request_id="r" * 200), "request_id"),
        (
            pb.RecommendRequest(customer_id="C1", channel="web", exclude_product_ids=["P"] * 101),
            "exclude_product_ids",
        ),
        (
            pb.RecommendRequest(
                customer_id="C1", channel="web", context={str(i): "1" for i in range(33)}
            ),
            "context",
        ),
        (
            pb.RecommendRequest(customer_id="NEW", channel="web", context={C.birth_year: "soon"}),
            "context[birth_year]",
        ),
    ],
)
def test_bad_recommend_requests_are_invalid_argument(
    running: Running, request_: pb.RecommendRequest, field: str
) -> None:
    invalid(running.stub.Recommend, request_, field)


@pytest.mark.parametrize(
    ("events", "field"),
    [
        ([event(type="buy")], "events[0].type"),
        ([event(), event(customer_id="")], "events[1].customer_id"),
        ([event(product_id="ZZZ9")], "events[0].product_id"),
        ([event(channel="pigeon")], "events[0].channel"),
        ([event()] * 2000, "events"),
        ([], "events"),
    ],
)
def test_bad_events_are_invalid_argument(running: Running, events: list, field: str) -> None:
    before = running.store.count()
    message = invalid(running.stub.RecordEvents, pb.RecordEventsRequest(events=events), field)
    assert running.store.count() == before, message


def test_unknown_event_type_message(running: Running) -> None:
    request = pb.RecordEventsRequest(events=[event(type="buy")])
    message = invalid(running.stub.RecordEvents, request, "events[0].type")
    assert "unknown event type 'buy'" in message


def test_bad_batch_requests_are_invalid_argument(running: Running) -> None:
    invalid(running.stub.RecommendBatch, pb.RecommendBatchRequest(channel="web"), "customer_ids")
    too_many = pb.RecommendBatchRequest(customer_ids=["C1"] * 1001, channel="web")
    invalid(running.stub.RecommendBatch, too_many, "customer_ids")
    empty_id = pb.RecommendBatchRequest(customer_ids=["C1", ""], channel="web")
    invalid(running.stub.RecommendBatch, empty_id, "customer_ids[1]")


def test_oversized_message_is_refused_by_the_transport(running: Running) -> None:
    huge = pb.RecommendRequest(customer_id="x" * (2 * 1024 * 1024), channel="web")
    with pytest.raises(grpc.RpcError) as info:
        running.stub.Recommend(huge, timeout=10)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_batch_answers_every_customer_in_order(running: Running, model: Trained) -> None:
    ids = [customer(model, 40), "NEW-batch-grpc", customer(model, 41)]
    out = running.stub.RecommendBatch(
        pb.RecommendBatchRequest(customer_ids=ids, channel="call_center", k=3), timeout=10
    )
    assert [r.customer_id for r in out.results] == ids
    assert out.model_version == "1" and out.request_id
    assert all(len(r.items) == 3 and r.request_id == out.request_id for r in out.results)


def test_similar_products(running: Running, model: Trained) -> None:
    out = running.stub.SimilarProducts(pb.SimilarProductsRequest(product_id="CC_CLASSIC", k=3))
    assert 1 <= len(out.items) <= 3 and out.model_version == "1"
    assert "CC_CLASSIC" not in [i.product_id for i in out.items]
    with pytest.raises(grpc.RpcError) as info:
        running.stub.SimilarProducts(pb.SimilarProductsRequest(product_id="NOPE"), timeout=10)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    too_many = pb.SimilarProductsRequest(product_id="CC_CLASSIC", k=51)
    invalid(running.stub.SimilarProducts, too_many, "k")


def test_model_info(running: Running, model: Trained) -> None:
    info = running.stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=10)
    assert (info.model_name, info.version, info.alias, info.family) == (
        "bank-recsys",
        "1",
        "champion",
        "itemknn",
    )
    assert info.metrics["ndcg_at_5"] == pytest.approx(model.outcome.metrics["ndcg_at_5"])
    assert info.data_fingerprint == model.loaded.data_fingerprint != ""
    assert info.HasField("trained_at") and info.HasField("loaded_at")
    assert info.loaded_at.ToDatetime() >= info.trained_at.ToDatetime()


def test_calls_are_counted_by_method_channel_and_code(running: Running) -> None:
    labels = {"method": "Recommend", "channel": "web", "code": "INVALID_ARGUMENT"}
    before = running.metrics.value("recsys_requests_total", labels)
    empty = pb.RecommendRequest(customer_id="", channel="web")
    invalid(running.stub.Recommend, empty, "customer_id")
    assert running.metrics.value("recsys_requests_total", labels) == before + 1
