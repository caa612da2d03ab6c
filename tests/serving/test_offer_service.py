"""OfferService over gRPC on a real server: manage offers, refuse bad ones by field, measure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import polars as pl
import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from recsys.columns import Columns as C
from recsys.stores.sql_offers import open_offer_store
from serving._proto.recsys.v1 import offers_pb2 as pb
from serving._proto.recsys.v1 import offers_pb2_grpc as pb_grpc
from serving._proto.recsys.v1 import recommendation_pb2 as rpb
from serving.transport.server import OFFER_SERVICE_NAME
from tests.serving.conftest import Running
from tests.serving.trained import Trained

ACTOR = [("x-actor", "ann.marketing")]
START = datetime.now(UTC) - timedelta(days=1)
END = START + timedelta(days=30)


@pytest.fixture
def stub(offers_running: Running) -> pb_grpc.OfferServiceStub:
    """An OfferManager stub on the running server's channel."""
    return pb_grpc.OfferServiceStub(offers_running.channel)


def products_by_risk(model: Trained) -> list[str]:
    """Product ids of the serving catalog, lowest risk first."""
    products = model.loaded.engine.snapshot.products.sort(C.risk_rating, C.product_id)
    return products[C.product_id].to_list()


def message(model: Trained, **fields: object) -> pb.Offer:
    """A valid pin offer for the least risky product, with `fields` set on top."""
    base: dict[str, object] = {
        "name": f"offer-{uuid.uuid4().hex[:8]}",
        "product_id": products_by_risk(model)[0],
        "pin": 1,
        "channels": ["mobile"],
        "start_time": timestamp(START),
        "end_time": timestamp(END),
    }
    if "boost" in fields:
        del base["pin"]
    return pb.Offer(**(base | fields))


def timestamp(moment: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment)
    return ts


def create(stub: pb_grpc.OfferServiceStub, offer: pb.Offer) -> pb.OfferChange:
    return stub.CreateOffer(pb.CreateOfferRequest(offer=offer), metadata=ACTOR, timeout=10)


def refused(call: object, code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT) -> str:
    with pytest.raises(grpc.RpcError) as info:
        call()  # type: ignore[operator]
    assert info.value.code() == code, info.value.details()
    return info.value.details()


def test_create_get_and_list(stub: pb_grpc.OfferServiceStub, model: Trained) -> None:
    cap = pb.FrequencyCap(impressions=2, days=7)
    made = create(stub, message(model, cap=cap)).offer
    assert made.id.startswith("off_") and made.status == pb.OFFER_STATUS_DRAFT
    assert (made.created_by, made.revision, made.pin) == ("ann.marketing", 1, 1)
    assert made.start_time.ToDatetime(tzinfo=UTC) == START
    got = stub.GetOffer(pb.GetOfferRequest(offer_ref=made.name), timeout=10)
    assert got.offer == made and not got.history
    listed = stub.ListOffers(pb.ListOffersRequest(statuses=[pb.OFFER_STATUS_DRAFT]), timeout=10)
    assert made.id in [o.id for o in listed.offers]
    active = stub.ListOffers(pb.ListOffersRequest(statuses=[pb.OFFER_STATUS_ACTIVE]), timeout=10)
    assert made.id not in [o.id for o in active.offers]


def test_update_changes_only_the_masked_fields(
    stub: pb_grpc.OfferServiceStub, model: Trained
) -> None:
    segment = model.loaded.engine.snapshot.customers[C.segment].drop_nulls()[0]
    made = create(stub, message(model, priority=1)).offer
    new = pb.Offer(priority=7, boost=1.5, target=pb.OfferTarget(segments=[segment]))
    mask = FieldMask(paths=["priority", "boost", "target.segments"])
    out = stub.UpdateOffer(
        pb.UpdateOfferRequest(offer_ref=made.id, offer=new, update_mask=mask),
        metadata=[("x-actor", "bob")],
        timeout=10,
    ).offer
    assert (out.priority, out.boost, out.WhichOneof("action")) == (7, 1.5, "boost")
    assert list(out.target.segments) == [segment] and out.revision == 2
    assert (out.name, list(out.channels), out.updated_by) == (made.name, ["mobile"], "bob")
    history = stub.GetOffer(pb.GetOfferRequest(offer_ref=made.id, include_history=True)).history
    assert [e.action for e in history] == ["create", "update"]
    changed = {c.field: (c.before, c.after) for c in history[1].changes}
    assert changed["priority"] == ("1", "7") and changed["action"] == ('"pin"', '"boost"')
    assert changed["target.segments"] == ("[]", f'["{segment}"]') and history[1].actor == "bob"


def test_pause_resume_end(stub: pb_grpc.OfferServiceStub, model: Trained) -> None:
    made = create(stub, message(model)).offer
    ref = pb.OfferStatusRequest(offer_ref=made.name)
    assert stub.ResumeOffer(ref, timeout=10).offer.status == pb.OFFER_STATUS_ACTIVE  # activate
    assert stub.PauseOffer(ref, timeout=10).offer.status == pb.OFFER_STATUS_PAUSED
    assert stub.ResumeOffer(ref, timeout=10).offer.status == pb.OFFER_STATUS_ACTIVE
    ended = stub.EndOffer(ref, metadata=ACTOR, timeout=10).offer
    assert ended.status == pb.OFFER_STATUS_ENDED and ended.revision == 5
    detail = refused(lambda: stub.ResumeOffer(ref, timeout=10), grpc.StatusCode.FAILED_PRECONDITION)
    assert "ended" in detail
    stale = pb.OfferStatusRequest(offer_ref=made.id, expected_revision=1)
    refused(lambda: stub.PauseOffer(stale, timeout=10), grpc.StatusCode.FAILED_PRECONDITION)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"product_id": "NO-SUCH-PRODUCT"}, "product_id"),
        ({"channels": ["telex"]}, "channels"),
        ({"target": pb.OfferTarget(segments=["martians"])}, "target.segments"),
        ({"target": pb.OfferTarget(age_min=50, age_max=20)}, "target.age_max"),
        ({"cap": pb.FrequencyCap(impressions=0, days=7)}, "cap"),
        ({"volume_cap": 0}, "volume_cap"),
        ({"max_share": 0.0}, "max_share"),
        ({"pin": 0}, "pin"),
        ({"boost": 0.5}, "boost"),
        ({"name": ""}, "name"),
        ({"status": pb.OFFER_STATUS_ENDED}, "status"),
    ],
)
def test_bad_offers_are_invalid_argument_naming_the_field(
    stub: pb_grpc.OfferServiceStub, model: Trained, fields: dict, field: str
) -> None:
    detail = refused(lambda: create(stub, message(model, **fields)))
    assert detail.startswith(f"{field}: "), detail


def test_end_before_start_and_missing_parts_name_the_field(
    stub: pb_grpc.OfferServiceStub, model: Trained
) -> None:
    early = message(model)
    early.end_time.FromDatetime(START - timedelta(hours=1))
    assert refused(lambda: create(stub, early)).startswith("end_time: ")
    no_action = message(model)
    no_action.ClearField("pin")
    assert refused(lambda: create(stub, no_action)).startswith("action: ")
    no_start = message(model)
    no_start.ClearField("start_time")
    assert refused(lambda: create(stub, no_start)) == "start_time: is required"
    bad_mask = pb.UpdateOfferRequest(offer_ref="x", update_mask=FieldMask(paths=["colour"]))
    assert refused(lambda: stub.UpdateOffer(bad_mask, timeout=10)).startswith("update_mask: ")


def test_every_field_problem_of_a_create_is_reported_together(
    stub: pb_grpc.OfferServiceStub, model: Trained
) -> None:
    bad = message(model, channels=["mobile", "telex"], target=pb.OfferTarget(segments=["martians"]))
    bad.end_time.FromDatetime(START - timedelta(hours=1))
    lines = refused(lambda: create(stub, bad)).splitlines()
    assert [line.partition(": ")[0] for line in lines] == [
        "end_time",
        "channels",
        "target.segments",
    ], lines
    assert "'telex'" in lines[1] and "'martians'" in lines[2]
    missing = message(model, product_id="NO-SUCH-PRODUCT", name="", volume_cap=0)
    missing.ClearField("start_time")
    fields = [
        line.partition(": ")[0] for line in refused(lambda: create(stub, missing)).split("\n")
    ]
    assert fields == ["start_time", "name", "volume_cap", "product_id"]


def test_every_field_problem_of_an_update_is_reported_together(
    stub: pb_grpc.OfferServiceStub, model: Trained
) -> None:
    made = create(stub, message(model)).offer
    new = pb.Offer(channels=["telex"], max_share=0.0, target=pb.OfferTarget(age_min=200))
    new.end_time.FromDatetime(START - timedelta(hours=1))
    mask = FieldMask(paths=["channels", "end_time", "max_share", "target.age_min"])
    update = pb.UpdateOfferRequest(offer_ref=made.id, offer=new, update_mask=mask)
    lines = refused(lambda: stub.UpdateOffer(update, metadata=ACTOR, timeout=10)).splitlines()
    assert [line.partition(": ")[0] for line in lines] == [
        "target.age_min",
        "end_time",
        "max_share",
        "channels",
    ], lines
    bad_paths = FieldMask(paths=["colour", "target.shoe_size"])
    bad_mask = pb.UpdateOfferRequest(offer_ref=made.id, update_mask=bad_paths)
    assert len(refused(lambda: stub.UpdateOffer(bad_mask, timeout=10)).splitlines()) == 2
    assert stub.GetOffer(pb.GetOfferRequest(offer_ref=made.id)).offer == made  # unchanged


def test_names_are_unique_and_unknown_offers_not_found(
    stub: pb_grpc.OfferServiceStub, model: Trained
) -> None:
    made = create(stub, message(model)).offer
    taken = refused(
        lambda: create(stub, message(model, name=made.name)), grpc.StatusCode.ALREADY_EXISTS
    )
    assert taken.startswith("name: ")
    missing = pb.GetOfferRequest(offer_ref="no such offer")
    assert "no such offer" in refused(lambda: stub.GetOffer(missing), grpc.StatusCode.NOT_FOUND)
    empty = pb.GetOfferStatsRequest(offer_ref=" ")
    assert refused(lambda: stub.GetOfferStats(empty)).startswith("offer_ref: ")


def test_a_target_matching_nobody_is_created_with_a_warning(
    stub: pb_grpc.OfferServiceStub, model: Trained
) -> None:
    n = len(model.loaded.engine.snapshot.customer_map)
    nobody = pb.OfferTarget(age_min=149)
    out = create(stub, message(model, target=nobody))
    assert out.offer.id and f"target: matches no customer of the serving snapshot ({n:,}" in (
        " | ".join(out.warnings)
    )


def test_customers_the_rules_block_are_counted_in_a_warning(
    stub: pb_grpc.OfferServiceStub, model: Trained
) -> None:
    products = model.loaded.engine.snapshot.products
    riskiest = products_by_risk(model)[-1]
    rating = products.filter(pl.col(C.product_id) == riskiest)[C.risk_rating].item()
    customers = model.loaded.engine.snapshot.customers
    cautious = customers.filter(pl.col(C.risk_tolerance) < rating).height
    assert cautious > 0, "the generated bank should have customers too cautious for it"
    out = create(stub, message(model, product_id=riskiest, channels=[]))
    [warning] = [w for w in out.warnings if w.startswith("target: ")]
    assert "cannot receive" in warning and "suitability" in warning
    assert f"of {customers.height:,} targeted customers" in warning


def test_stats_count_served_slots_and_attributed_events(
    stub: pb_grpc.OfferServiceStub, offers_running: Running, model: Trained
) -> None:
    made = create(stub, message(model, status=pb.OFFER_STATUS_ACTIVE)).offer
    customer = str(model.loaded.engine.snapshot.customer_map.ids[7])
    offers = open_offer_store(offers_running.database_url)
    try:
        offer = offers.get(made.id)
        now = datetime.now(UTC)
        for i in range(3):
            assert offers.reserve(
                offer, f"{customer}-{i}", f"{made.id}-r{i}", "mobile", now, timedelta(minutes=5)
            )
    finally:
        offers.close()
    events = [
        rpb.Event(
            customer_id=customer,
            product_id=made.product_id,
            type=kind,
            channel="mobile",
            request_id=f"{made.id}-r0",
            offer_id=made.id,
        )
        for kind in ("impression", "impression", "click", "purchase")
    ]
    offers_running.stub.RecordEvents(rpb.RecordEventsRequest(events=events), timeout=10)
    stats = stub.GetOfferStats(pb.GetOfferStatsRequest(offer_ref=made.name), timeout=10)
    [mobile] = stats.channels
    assert (stats.offer_id, mobile.channel) == (made.id, "mobile")
    assert (mobile.served, mobile.impressions, mobile.clicks, mobile.purchases) == (3, 2, 1, 1)
    assert mobile.click_through_rate == 0.5 and mobile.conversion_rate == 0.5
    assert stats.total.served == 3 and stats.total.channel == ""
    fresh = create(stub, message(model)).offer
    empty = stub.GetOfferStats(pb.GetOfferStatsRequest(offer_ref=fresh.id), timeout=10)
    assert not empty.channels and not empty.total.HasField("click_through_rate")


def test_reflection_describes_the_offer_service(offers_running: Running) -> None:
    database = ProtoReflectionDescriptorDatabase(offers_running.channel)
    assert OFFER_SERVICE_NAME == "recsys.v1.OfferService"  # the auth roles rely on this name
    assert OFFER_SERVICE_NAME in set(database.get_services())
    described = DescriptorPool(database).FindServiceByName(OFFER_SERVICE_NAME)
    assert {m.name for m in described.methods} == {
        "CreateOffer",
        "UpdateOffer",
        "GetOffer",
        "ListOffers",
        "PauseOffer",
        "ResumeOffer",
        "EndOffer",
        "GetOfferStats",
        "PreviewOffer",
    }
