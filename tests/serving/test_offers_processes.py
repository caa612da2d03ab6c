"""Offers across two `recsys serve` processes sharing one store: changes reach both within 10 s,
and a frequency cap holds under concurrent requests to both."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from recsys.columns import Columns as C
from recsys.offers.model import Action, FrequencyCap, Offer, Status, Target
from recsys.rules import combine, rule_masks
from recsys.stores.sql_offers import OfferStore, open_offer_store
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from tests.serving.processes import serving_processes
from tests.serving.trained import Trained

TAKES_EFFECT_WITHIN_S = 10.0


@pytest.fixture
def servers(model: Trained, tmp_path: Path) -> Iterator[tuple[list, OfferStore]]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"  # not the session store: offers stay here
    offers = open_offer_store(url)
    try:
        with serving_processes(model, tmp_path, ["a", "b"], url) as stubs:
            yield stubs, offers
    finally:
        offers.close()


def _eligible_customers(model: Trained, product: str, segment: str) -> list[str]:
    engine = model.loaded.engine
    customers = engine.snapshot.customers
    ids = customers[C.customer_id].to_list()
    state = engine.state(ids)
    allowed = combine(
        rule_masks(
            engine.catalog,
            state.customers,
            state.held,
            at=datetime.now(UTC).date(),
            channel="mobile",
            excluded_categories=engine.excluded_for("mobile"),
        )
    )
    p = engine.snapshot.product_map.to_internal([product])[0]
    ok = (
        (customers[C.segment] == segment).to_numpy()
        & customers[C.marketing_consent].fill_null(False).to_numpy()
        & allowed[:, p]
    )
    return [ids[i] for i in np.flatnonzero(ok)]


def _offered(stub: pb_grpc.RecommendationServiceStub, customer: str, offer_id: str) -> bool:
    reply = stub.Recommend(pb.RecommendRequest(customer_id=customer, channel="mobile"), timeout=10)
    return any(i.offer_id == offer_id for i in reply.items)


def _until(check, within: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < within + 2.0:
        if check():
            return time.monotonic() - start
        time.sleep(0.25)
    pytest.fail(f"not within {within} s")


def test_offer_changes_reach_every_process_and_caps_hold_across_them(
    servers: tuple[list, OfferStore], model: Trained
) -> None:
    stubs, store = servers
    engine = model.loaded.engine
    cat = engine.catalog
    ok = (cat.risk_rating <= 1) & (cat.min_age <= 18) & ~cat.repeatable
    ok &= cat.sold_in[:, cat.channel_index("mobile")]
    product = str(engine.snapshot.product_map.ids[int(np.flatnonzero(ok)[0])])
    segment = engine.snapshot.customers[C.segment].mode()[0]
    customers = _eligible_customers(model, product, segment)
    assert len(customers) >= 6
    now = datetime.now(UTC)
    offer = store.create(
        Offer(
            name="two processes",
            product_id=product,
            start_at=now - timedelta(hours=1),
            end_at=now + timedelta(days=30),
            action=Action.pin,
            pin=1,
            channels=("mobile",),
            target=Target(segments=(segment,)),
            cap=FrequencyCap(2, 7),
        ),
        "tester",
    )
    store.set_status(offer.id, Status.active, "tester")
    # both processes place it within 10 s (each customer used here once: caps untouched)
    probes = iter(customers[3:])
    for stub in stubs:
        took = _until(lambda s=stub: _offered(s, next(probes), offer.id), TAKES_EFFECT_WITHIN_S)
        assert took <= TAKES_EFFECT_WITHIN_S

    # concurrent requests for the same customers through both processes: the cap holds
    placed = {c: 0 for c in customers[:3]}
    lock = threading.Lock()

    def hammer(stub: pb_grpc.RecommendationServiceStub) -> None:
        for _ in range(6):
            for c in placed:
                if _offered(stub, c, offer.id):
                    with lock:
                        placed[c] += 1

    threads = [threading.Thread(target=hammer, args=(s,)) for s in stubs for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert placed == {c: 2 for c in placed}

    # pausing reaches both processes within 10 s
    store.set_status(offer.id, Status.paused, "tester")
    fresh = customers[-1]  # never shown it: only the pause can keep it out
    for stub in stubs:
        took = _until(lambda s=stub: not _offered(s, fresh, offer.id), TAKES_EFFECT_WITHIN_S)
        assert took <= TAKES_EFFECT_WITHIN_S
