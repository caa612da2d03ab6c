"""PreviewOffer and the per-day stats on a real server: the reach is the rules' own count,
nothing is stored, and a day's events and the caps' use are counted as the caps count them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest

from recsys.offers.model import Action, Offer, Target
from serving._proto.recsys.v1 import offers_pb2 as pb
from serving._proto.recsys.v1 import offers_pb2_grpc as pb_grpc
from serving._proto.recsys.v1 import recommendation_pb2 as rpb
from tests.serving.conftest import Running
from tests.serving.test_offer_service import END, START, create, message, refused, timestamp
from tests.serving.trained import Trained


@pytest.fixture
def stub(offers_running: Running) -> pb_grpc.OfferServiceStub:
    return pb_grpc.OfferServiceStub(offers_running.channel)


def preview(stub: pb_grpc.OfferServiceStub, offer: pb.Offer) -> pb.OfferPreview:
    return stub.PreviewOffer(pb.CreateOfferRequest(offer=offer), timeout=10)


def test_preview_counts_reach_with_the_rules_and_stores_nothing(
    stub: pb_grpc.OfferServiceStub, model: Trained
) -> None:
    sent = message(model, target=pb.OfferTarget(segments=["mass"]))
    before = len(stub.ListOffers(pb.ListOffersRequest(), timeout=10).offers)
    found = preview(stub, sent)
    engine = model.loaded.engine
    expected = engine.reach(
        Offer(
            name=sent.name,
            product_id=sent.product_id,
            target=Target(segments=("mass",)),
            channels=("mobile",),
            start_at=START,
            end_at=END,
            action=Action.pin,
            pin=1,
        ),
        max(datetime.now(UTC).date(), START.date()),
    )
    reach = found.reach
    assert reach.customers == len(engine.snapshot.customer_map)
    assert (reach.targeted, reach.receivable) == (expected.targeted, expected.receivable)
    assert dict(reach.blocked) == expected.blocked
    assert 0 < reach.receivable <= reach.targeted < reach.customers
    assert len(stub.ListOffers(pb.ListOffersRequest(), timeout=10).offers) == before


def test_preview_reports_every_field_problem_like_create(
    stub: pb_grpc.OfferServiceStub, model: Trained
) -> None:
    bad = message(model, product_id="NOPE", channels=["fax"], max_share=2.0)
    text = refused(lambda: preview(stub, bad))
    lines = text.splitlines()
    assert len(lines) == 3, text
    assert {line.partition(":")[0] for line in lines} == {"product_id", "channels", "max_share"}


def test_stats_per_day_and_cap_use(
    stub: pb_grpc.OfferServiceStub, offers_running: Running, model: Trained
) -> None:
    cap = pb.FrequencyCap(impressions=2, days=7)
    made = create(stub, message(model, cap=cap, volume_cap=100)).offer
    now = datetime.now(UTC)
    yesterday = now - timedelta(days=1)
    events = [
        ("cust-a", "impression", yesterday),
        ("cust-a", "impression", now),
        ("cust-a", "click", now),
        ("cust-b", "impression", now),
    ]
    offers_running.stub.RecordEvents(
        rpb.RecordEventsRequest(
            events=[
                rpb.Event(
                    customer_id=c,
                    product_id=made.product_id,
                    type=kind,
                    channel="mobile",
                    offer_id=made.id,
                    timestamp=timestamp(at),
                )
                for c, kind, at in events
            ]
        ),
        timeout=10,
    )
    ref = pb.GetOfferStatsRequest(offer_ref=made.id, include_days=True)
    stats = stub.GetOfferStats(ref, timeout=10)
    days = {d.day: (d.impressions, d.clicks) for d in stats.days}
    assert days == {
        yesterday.date().isoformat(): (1, 0),
        now.date().isoformat(): (2, 1),
    }
    assert [d.day for d in stats.days] == sorted(d.day for d in stats.days)  # oldest first
    caps = stats.caps
    assert (caps.volume_cap, caps.volume_used) == (100, 3)
    assert (caps.customers_in_window, caps.customers_at_cap) == (2, 1)  # cust-a has seen 2
    plain = stub.GetOfferStats(pb.GetOfferStatsRequest(offer_ref=made.id), timeout=10)
    assert not plain.days and not plain.HasField("caps")
    assert plain.total.impressions == 3


def test_stats_of_an_unknown_offer_is_not_found(stub: pb_grpc.OfferServiceStub) -> None:
    call = stub.GetOfferStats
    request = pb.GetOfferStatsRequest(offer_ref="off_nothere", include_days=True)
    refused(lambda: call(request, timeout=10), grpc.StatusCode.NOT_FOUND)


def test_list_with_stats_gives_each_offer_its_own_stats(
    stub: pb_grpc.OfferServiceStub, offers_running: Running, model: Trained
) -> None:
    made = [create(stub, message(model)).offer for _ in range(3)]
    seen = {made[0].id: 2, made[2].id: 1}
    offers_running.stub.RecordEvents(
        rpb.RecordEventsRequest(
            events=[
                rpb.Event(
                    customer_id=f"list-{i}",
                    product_id=made[0].product_id,
                    type="impression",
                    channel="web",
                    offer_id=offer_id,
                )
                for offer_id, n in seen.items()
                for i in range(n)
            ]
        ),
        timeout=10,
    )
    listed = stub.ListOffers(pb.ListOffersRequest(include_stats=True), timeout=10)
    assert [s.offer_id for s in listed.stats] == [o.id for o in listed.offers]
    for offer, stats in zip(listed.offers, listed.stats, strict=True):
        one = stub.GetOfferStats(pb.GetOfferStatsRequest(offer_ref=offer.id), timeout=10)
        assert stats == one  # the same numbers as asking for each offer alone
    by_id = {s.offer_id: s.total.impressions for s in listed.stats}
    assert [by_id[o.id] for o in made] == [2, 0, 1]
    assert not stub.ListOffers(pb.ListOffersRequest(), timeout=10).stats
