"""Offers inside Recommend, on a real model and a real SQLite store (offers, events, slots).

The done-when of the offers issue at service level: a pinned offer for one segment on one
channel reaches every consenting customer of that segment the rules allow it for, nobody
else; a 2/7d cap stops it after two impressions until the window has passed.
"""

from __future__ import annotations

import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.columns import Columns as C
from recsys.engine.engine import Engine
from recsys.offers.model import Action, FrequencyCap, Offer, Status, Target
from recsys.rules import combine, rule_masks
from recsys.stores.base import StoredEvent
from recsys.stores.sql_events import SqlEventStore, open_event_store
from recsys.stores.sql_offers import OfferStore, open_offer_store
from serving.models.holder import ModelHolder
from serving.offers.book import OfferBook
from serving.offers.deliveries import DeliveryRecorder
from serving.offers.placer import OfferPlacer
from serving.recommend.service import SuggestionService
from tests.serving.trained import Trained

START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
HOLD = timedelta(minutes=30)


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Setup:
    """A service with offers on its own store, a clock, and the pieces to drive them."""

    def __init__(self, model: Trained, folder: Path, *, recorder: bool = False) -> None:
        url = f"sqlite:///{folder / 'offers.db'}"
        self.events: SqlEventStore = open_event_store(url)
        self.offers: OfferStore = open_offer_store(url)
        self.clock = Clock(NOW)
        self.book = OfferBook(self.offers, refresh_seconds=1.0, clock=self.clock)
        holder = ModelHolder()
        holder.swap(model.loaded)
        self.engine: Engine = model.loaded.engine
        self.service = SuggestionService(
            holder,
            self.events,
            model.settings,
            clock=self.clock,
            offers=OfferPlacer(
                self.book,
                self.offers,
                hold=HOLD,
                recorder=DeliveryRecorder(self.offers) if recorder else None,
            ),
        )

    def add(self, offer: Offer) -> Offer:
        stored = self.offers.create(offer, "tester", now=NOW)
        stored = self.offers.set_status(stored.id, Status.active, "tester", now=NOW)
        assert self.book.refresh()
        return stored


@pytest.fixture
def setup(model: Trained, tmp_path: Path) -> Setup:
    return Setup(model, tmp_path)


def _allowed(engine: Engine, customers: list[str], channel: str, day) -> np.ndarray:
    state = engine.state(customers)
    return combine(
        rule_masks(
            engine.catalog,
            state.customers,
            state.held,
            at=day,
            channel=channel,
            excluded_categories=engine.excluded_for(channel),
        )
    )


def _pick_product(engine: Engine, channel: str) -> str:
    """A low-risk product sold in `channel` with no age limit (allowed for many customers)."""
    cat = engine.catalog
    ok = (cat.risk_rating <= 1) & (cat.min_age <= 18) & cat.sold_in[:, cat.channel_index(channel)]
    ok &= ~cat.repeatable
    return str(engine.snapshot.product_map.ids[int(np.flatnonzero(ok)[0])])


def _pin(product: str, segment: str, **kw) -> Offer:
    return Offer(
        name=kw.pop("name", "spring deposits"),
        product_id=product,
        start_at=START,
        end_at=NOW + timedelta(days=60),
        action=Action.pin,
        pin=1,
        channels=("mobile",),
        target=Target(segments=(segment,)),
        cap=kw.pop("cap", FrequencyCap(2, 7)),
        **kw,
    )


def _offer_items(out):
    return [i for i in out.items if i.offer_id]


def test_a_pinned_segment_offer_reaches_exactly_its_allowed_consenting_customers(
    setup: Setup,
) -> None:
    engine = setup.engine
    customers = engine.snapshot.customers
    segment = customers[C.segment].mode()[0]
    product = _pick_product(engine, "mobile")
    offer = setup.add(_pin(product, segment))
    ids = customers[C.customer_id].to_list()
    allowed = _allowed(engine, ids, "mobile", NOW.date())
    p = engine.snapshot.product_map.to_internal([product])[0]
    in_segment = (customers[C.segment] == segment).to_numpy()
    consent = customers[C.marketing_consent].fill_null(False).to_numpy()
    should = in_segment & consent & allowed[:, p]
    assert should.sum() >= 20  # the test means something
    got = np.zeros(len(ids), dtype=bool)
    for i, customer in enumerate(ids):
        out = setup.service.recommend(customer, "mobile", request_id=f"r-{i}")
        placed = _offer_items(out)
        if placed:
            [item] = placed
            assert item.offer_id == offer.id and item.product_id == product
            assert item.rank == 1
            assert item.reasons[0].code == f"offer:{offer.id}"
            assert item.reasons[0].text == f"offer: {offer.name}"
            got[i] = True
    assert not (got & ~should).any(), "the offer went to someone outside its target or rules"
    assert got[should].mean() >= 0.9
    # and never on another channel
    assert not _offer_items(setup.service.recommend(ids[int(np.flatnonzero(should)[0])], "web"))


def test_a_2_per_7_days_cap_stops_the_offer_after_two_impressions(setup: Setup) -> None:
    engine = setup.engine
    customers = engine.snapshot.customers
    segment = customers[C.segment].mode()[0]
    product = _pick_product(engine, "mobile")
    offer = setup.add(_pin(product, segment))
    ids = customers[C.customer_id].to_list()
    allowed = _allowed(engine, ids, "mobile", NOW.date())
    p = engine.snapshot.product_map.to_internal([product])[0]
    ok = (
        (customers[C.segment] == segment).to_numpy()
        & customers[C.marketing_consent].fill_null(False).to_numpy()
        & allowed[:, p]
    )
    customer = ids[int(np.flatnonzero(ok)[0])]
    shown = []
    for n in range(2):
        out = setup.service.recommend(customer, "mobile", request_id=f"cap-{n}")
        assert _offer_items(out), f"call {n}: the offer should still be shown"
        shown.append(out.request_id)
    setup.events.append(
        [
            StoredEvent(customer, product, "impression", NOW, "mobile", None, rid, offer.id)
            for rid in shown
        ]
    )
    for n in range(3):
        out = setup.service.recommend(customer, "mobile", request_id=f"after-{n}")
        assert not _offer_items(out), "a third exposure within 7 days"
    setup.clock.now = NOW + timedelta(days=6, hours=23)
    assert not _offer_items(setup.service.recommend(customer, "mobile"))
    setup.clock.now = NOW + timedelta(days=7, minutes=1)
    assert _offer_items(setup.service.recommend(customer, "mobile"))


def test_pausing_an_offer_takes_it_out_at_the_next_refresh(setup: Setup) -> None:
    engine = setup.engine
    segment = engine.snapshot.customers[C.segment].mode()[0]
    offer = setup.add(_pin(_pick_product(engine, "mobile"), segment, cap=None))
    ids = engine.snapshot.customers.filter(
        (engine.snapshot.customers[C.segment] == segment)
        & engine.snapshot.customers[C.marketing_consent].fill_null(False)
    )[C.customer_id].to_list()[:30]
    assert any(_offer_items(setup.service.recommend(c, "mobile")) for c in ids)
    setup.offers.set_status(offer.id, Status.paused, "tester", now=NOW)
    assert setup.book.refresh()
    assert not any(_offer_items(setup.service.recommend(c, "mobile")) for c in ids)


def test_an_offer_outside_its_window_is_not_placed(setup: Setup) -> None:
    engine = setup.engine
    segment = engine.snapshot.customers[C.segment].mode()[0]
    setup.add(_pin(_pick_product(engine, "mobile"), segment, cap=None))
    ids = engine.snapshot.customers[C.customer_id].to_list()[:60]
    setup.clock.now = NOW + timedelta(days=61)
    assert not any(_offer_items(setup.service.recommend(c, "mobile")) for c in ids)
    setup.clock.now = START - timedelta(seconds=1)
    assert not any(_offer_items(setup.service.recommend(c, "mobile")) for c in ids)


def test_concurrent_requests_from_separate_store_connections_never_exceed_the_cap(
    model: Trained, tmp_path: Path
) -> None:
    """Four services with their own engines on one store file stand in for four processes."""
    first = Setup(model, tmp_path)
    engine = first.engine
    segment = engine.snapshot.customers[C.segment].mode()[0]
    product = _pick_product(engine, "mobile")
    offer = first.add(_pin(product, segment, cap=FrequencyCap(3, 7)))
    others = [Setup(model, tmp_path) for _ in range(3)]
    for o in others:
        assert o.book.refresh()
    ids = engine.snapshot.customers[C.customer_id].to_list()
    allowed = _allowed(engine, ids, "mobile", NOW.date())
    p = engine.snapshot.product_map.to_internal([product])[0]
    ok = (
        (engine.snapshot.customers[C.segment] == segment).to_numpy()
        & engine.snapshot.customers[C.marketing_consent].fill_null(False).to_numpy()
        & allowed[:, p]
    )
    customers = [ids[i] for i in np.flatnonzero(ok)[:3]]
    placed: list[tuple[str, str]] = []
    lock = threading.Lock()

    def hammer(s: Setup) -> None:
        for _ in range(8):
            for c in customers:
                for item in _offer_items(s.service.recommend(c, "mobile")):
                    with lock:
                        placed.append((c, item.offer_id))

    threads = [threading.Thread(target=hammer, args=(s,)) for s in [first, *others]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in customers:
        assert sum(1 for who, _ in placed if who == c) == 3  # exactly the cap, never more
    assert first.offers.deliveries(offer.id) == 9


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_offer_ever_bypasses_a_hard_rule(model: Trained, tmp_path: Path, data) -> None:
    """Random offers (any product, target, action) and customers: every answer obeys the rules."""
    setup = Setup(model, Path(tempfile.mkdtemp(dir=tmp_path)))  # a fresh store per example
    engine = setup.engine
    products = engine.snapshot.product_map.ids.tolist()
    segments = sorted(set(engine.snapshot.customers[C.segment].drop_nulls().to_list()))
    channels = list(model.settings.channels)
    for n in range(data.draw(st.integers(1, 4))):
        pin = data.draw(st.booleans())
        setup.add(
            Offer(
                name=f"o{n}",
                product_id=data.draw(st.sampled_from(products)),
                start_at=START,
                end_at=NOW + timedelta(days=1),
                action=Action.pin if pin else Action.boost,
                pin=data.draw(st.integers(1, 6)) if pin else None,
                boost=None if pin else data.draw(st.floats(1.5, 100)),
                channels=tuple(data.draw(st.lists(st.sampled_from(channels), unique=True))),
                target=Target(
                    segments=tuple(data.draw(st.lists(st.sampled_from(segments), unique=True)))
                ),
                max_share=data.draw(st.sampled_from([0.2, 0.5, 1.0])),
                priority=data.draw(st.integers(0, 3)),
            )
        )
    ids = engine.snapshot.customers[C.customer_id].to_list()
    customers = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=5))
    channel = data.draw(st.sampled_from(channels))
    consent = dict(
        zip(
            ids,
            engine.snapshot.customers[C.marketing_consent].fill_null(False).to_list(),
            strict=True,
        )
    )
    allowed = _allowed(engine, customers, channel, NOW.date())
    batch = setup.service.recommend_batch(customers, channel)
    for row, result in enumerate(batch.results):
        index = engine.snapshot.product_map.to_internal([i.product_id for i in result.items])
        assert allowed[row, index].all(), "an item the hard rules forbid"
        if not consent[result.customer_id]:
            assert not _offer_items(result), "an offer to a customer without marketing consent"


def test_uncapped_offers_are_counted_off_the_request_path(model: Trained, tmp_path: Path) -> None:
    """Only a capped offer makes Recommend commit; an uncapped one's slots are queued."""
    setup = Setup(model, tmp_path, recorder=True)
    engine = setup.engine
    segment = engine.snapshot.customers[C.segment].mode()[0]
    placer = setup.service.offers
    assert placer is not None and placer.recorder is not None
    free = setup.add(_pin(_pick_product(engine, "mobile"), segment, cap=None))
    assert not setup.service.may_place_offers("mobile")  # no store write on the request
    ids = engine.snapshot.customers[C.customer_id].to_list()[:80]
    shown = sum(bool(_offer_items(setup.service.recommend(c, "mobile"))) for c in ids)
    assert shown > 0
    placer.recorder.flush()
    assert setup.offers.deliveries(free.id) == shown
    setup.add(_pin(_pick_product(engine, "mobile"), segment, name="capped"))
    assert setup.service.may_place_offers("mobile")
