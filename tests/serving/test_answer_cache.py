"""The answer cache: an answer kept is the answer worked out afresh, whatever happened between.

Unit tests of AnswerCache, then a service with the cache against its twin without one, on a
real model and a real SQLite store: events, days, model swaps, offers, a store that fails.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.engine.engine import Engine
from recsys.engine.request import ShownReason
from recsys.offers.model import Action, Offer, Status, Target
from recsys.rules import combine, rule_masks
from recsys.rules.consent import offers_allowed
from recsys.stores.base import StoreUnavailable
from recsys.stores.sql_events import SqlEventStore, open_event_store
from recsys.stores.sql_offers import open_offer_store
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving.decisions.log import answer_json
from serving.models.holder import LoadedModel, ModelHolder
from serving.offers.book import OfferBook
from serving.offers.placer import OfferPlacer
from serving.recommend.answer_cache import AnswerCache, Kept
from serving.recommend.domain import EventIn, Item, Recommendation, Removed
from serving.recommend.service import SuggestionService
from serving.recommend.servicer import Encoded, _envelope, _recommendation, encoded
from tests.serving.conftest import Running
from tests.serving.trained import Trained

CHANNELS = ("mobile", "web", "branch", "call_center", "atm")
EVENT_TYPES = ("purchase", "close", "view", "apply")


# --- AnswerCache --------------------------------------------------------------------------
def first_product(answer: Recommendation) -> str:
    """A stand-in for the servicer's encoding: the cache keeps whatever `keep` makes."""
    return answer.items[0].product_id


def test_least_recently_used_goes_first() -> None:
    cache = AnswerCache(2, first_product)
    a, b, c = (answer(name) for name in "abc")
    cache.put("g", "a", a)
    cache.put("g", "b", b)
    assert cache.get("g", "a") == "a"  # a is now the most recently used
    cache.put("g", "c", c)
    assert cache.get("g", "b") is None
    assert (cache.get("g", "a"), cache.get("g", "c")) == ("a", "c")
    assert len(cache) == 2
    assert (cache.hits, cache.misses) == (3, 1)


def test_a_new_generation_drops_every_older_answer() -> None:
    cache = AnswerCache(10, first_product)
    cache.put(("v1", "day1"), "a", answer("a"))
    assert cache.get(("v2", "day1"), "a") is None, "another generation never sees it"
    cache.put(("v2", "day1"), "b", answer("b"))
    assert len(cache) == 1
    assert cache.get(("v1", "day1"), "a") is None
    assert cache.get(("v2", "day1"), "b") == "b"


def test_an_answer_is_encoded_once_and_its_value_kept_as_it_is() -> None:
    made: list[Encoded] = []

    def keep(a: Recommendation) -> Encoded:
        made.append(encoded(a))
        return made[-1]

    cache = AnswerCache(10, keep)
    stored = cache.put("g", "a", answer("P1"))
    for _ in range(3):
        assert cache.get("g", "a") is stored
    assert made == [stored]


def test_a_kept_answer_is_sent_byte_for_byte_as_the_response_worked_out() -> None:
    original = answer("P1")
    kept = encoded(original)
    for request_id in ("req-1", "req-2"):
        fresh = replace(original, request_id=request_id)
        hit = Kept("C1", "7", request_id, kept)
        sent = kept.items + _envelope(hit)
        assert sent == _recommendation(fresh).SerializeToString()
        assert pb.RecommendResponse.FromString(sent).request_id == request_id


def test_a_kept_answer_logs_what_the_answer_worked_out_logs() -> None:
    original = answer("P1")
    kept = encoded(original)
    items, removed = (json.loads(j) for j in (kept.items_json, kept.removed_json))
    want = answer_json(original.items, original.removed)
    assert [items, removed] == [json.loads(j) for j in want]
    assert [i["offer_id"] for i in items] == [None, "o-1"]
    assert removed == {"held": ["MORT"], "age": ["CA01"]}


def answer(product: str) -> Recommendation:
    """A two-item answer with reasons, an offer and two rules' removals."""
    items = (
        Item(
            product,
            f"name {product}",
            "savings",
            0.75,
            1,
            (ShownReason("hold:CA01", "you hold it"), ShownReason("popular_like_you", "popular")),
        ),
        Item("CA01", "Current account", "account", 0.5, 2, (ShownReason("popular", "p"),), "o-1"),
    )
    ids = np.array([product, "CA01", "MORT"], dtype=object)
    allowed = {"held": np.array([True, True, False]), "age": np.array([True, False, True])}
    return Recommendation("C1", items, "7", "req-0", Removed(ids, allowed))


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_entries must be >= 1, got 0"):
        AnswerCache(0, first_product)


# --- the service with the cache, against its twin without one ------------------------------
class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FlakyStore(SqlEventStore):
    """The real SQLite store, whose reads fail while `down` is set."""

    down = False

    def recent(self, customer_ids, since):  # type: ignore[no-untyped-def]
        if self.down:
            raise StoreUnavailable("event store: test outage")
        return super().recent(customer_ids, since)


class Twins:
    """Two services on one holder, store, clock and offers: one keeps answers, one never does."""

    def __init__(self, model: Trained, folder: Path, max_entries: int = 1000) -> None:
        url = f"sqlite:///{folder / 'recsys.db'}"
        plain = open_event_store(url)
        self.store = FlakyStore(plain.engine)
        self.offers = open_offer_store(url)
        self.clock = Clock(datetime.now(UTC).replace(hour=12, minute=0))
        self.book = OfferBook(self.offers, refresh_seconds=1.0, clock=self.clock)
        self.holder = ModelHolder()
        self.holder.swap(model.loaded)
        self.v1 = model.loaded
        self.v2 = other_version(model.loaded)
        self.answers = AnswerCache(max_entries, encoded)
        placer = OfferPlacer(self.book, self.offers, hold=timedelta(minutes=30))
        self.cached, self.fresh = (
            SuggestionService(
                self.holder,
                self.store,
                model.settings,
                clock=self.clock,
                offers=placer,
                answers=answers,
            )
            for answers in (self.answers, None)
        )

    @property
    def engine(self) -> Engine:
        loaded = self.holder.current()
        assert loaded is not None
        return loaded.engine

    def ask(self, customer: str, channel: str, k: int = 0) -> pb.RecommendResponse:
        """Both services' answer as sent; fails unless they send and log the same."""
        kept = self.cached.recommend(customer, channel, k)
        fresh = self.fresh.recommend(customer, channel, k)
        assert isinstance(fresh, Recommendation), "no cache, every answer worked out"
        sent, want = response(kept), response(fresh)
        assert list(sent.items) == list(want.items), f"{customer} on {channel}, k={k}"
        assert sent.model_version == want.model_version
        assert logged(kept) == logged(fresh), "the decision log's content"
        return sent


def response(out: Recommendation | Kept[Encoded]) -> pb.RecommendResponse:
    """What Recommend sends for `out`: a kept answer's bytes, or the message of a fresh one."""
    if isinstance(out, Kept):
        return pb.RecommendResponse.FromString(out.value.items + _envelope(out))
    return _recommendation(out)


def logged(out: Recommendation | Kept[Encoded]) -> tuple[object, object]:
    """The decision log's JSON of `out` (items, removals), parsed."""
    if isinstance(out, Kept):
        return json.loads(out.value.items_json), json.loads(out.value.removed_json)
    items, removed = answer_json(out.items, out.removed)
    return json.loads(items), json.loads(removed)


def other_version(loaded: LoadedModel) -> LoadedModel:
    """Version 2: the same model, whose ATM also leaves out every category the web sells."""
    engine = loaded.engine
    categories = sorted(set(engine.snapshot.products["category"].to_list()))
    excluded = {**engine.excluded_categories, "atm": tuple(categories[: len(categories) // 2])}
    again = Engine(
        engine.model,
        engine.fallback,
        engine.snapshot,
        excluded_categories=excluded,
        purchase_weight=engine.purchase_weight,
        manifest=engine.manifest,
    )
    return replace(loaded, engine=again, version="2")


@pytest.fixture
def twins(model: Trained, tmp_path: Path) -> Twins:
    return Twins(model, tmp_path)


def customer(twins: Twins, i: int) -> str:
    return str(twins.engine.snapshot.customer_map.ids[i])


def test_a_repeat_ask_is_answered_from_the_cache(twins: Twins) -> None:
    c = customer(twins, 1)
    first = twins.ask(c, "mobile")
    again = twins.ask(c, "mobile")
    assert list(again.items) == list(first.items)
    assert again.request_id != first.request_id, "each answer has its own request id"
    assert (twins.answers.hits, twins.answers.misses) == (1, 1)
    twins.ask(c, "mobile", k=3)
    twins.ask(c, "web")
    assert (twins.answers.hits, len(twins.answers)) == (1, 3), "k and channel are in the key"


def test_a_purchase_removes_the_product_from_the_next_answer(twins: Twins) -> None:
    c = customer(twins, 2)
    engine = twins.engine
    before = twins.ask(c, "branch", k=10)
    product = next(
        i.product_id
        for i in before.items
        if not engine.catalog.repeatable[engine.snapshot.product_map.to_internal([i.product_id])[0]]
    )
    twins.cached.record_events([EventIn(c, product, "purchase", "branch")])
    after = twins.ask(c, "branch", k=10)
    assert product not in [i.product_id for i in after.items]
    twins.ask(c, "branch", k=10)
    assert twins.answers.hits == 0, "a customer with events since the snapshot is never kept"


def test_a_new_day_or_model_is_worked_out_afresh(twins: Twins) -> None:
    c = customer(twins, 3)
    twins.ask(c, "atm")
    twins.clock.now += timedelta(days=1)
    twins.ask(c, "atm")
    assert (twins.answers.hits, twins.answers.misses, len(twins.answers)) == (0, 2, 1)
    first = twins.ask(c, "atm", k=5)
    twins.holder.swap(twins.v2)
    second = twins.ask(c, "atm", k=5)
    assert second.model_version == "2" and twins.answers.hits == 0
    assert list(first.items) != list(second.items), "version 2 leaves out categories"


def test_context_and_exclusions_are_never_taken_from_the_cache(twins: Twins) -> None:
    c = customer(twins, 4)
    kept = twins.ask(c, "web", k=4)
    top = kept.items[0].product_id
    without = twins.cached.recommend(c, "web", k=4, exclude_product_ids=[top])
    assert isinstance(without, Recommendation), "worked out afresh"
    assert top not in [i.product_id for i in without.items]
    profiled = twins.cached.recommend("NEW-cache", "web", context={"risk_tolerance": "5"})
    fresh = twins.fresh.recommend("NEW-cache", "web", k=0, context={"risk_tolerance": "5"})
    assert isinstance(profiled, Recommendation) and profiled.items == fresh.items
    assert twins.answers.hits == 0 and len(twins.answers) == 1


def test_a_store_that_cannot_be_read_keeps_nothing(twins: Twins) -> None:
    c = customer(twins, 5)
    twins.store.down = True
    out = twins.cached.recommend(c, "mobile")
    assert isinstance(out, Recommendation) and out.items, "answered from the snapshot"
    assert len(twins.answers) == 0 and twins.answers.misses == 0, "no lookup, nothing kept"
    twins.store.down = False
    twins.ask(c, "mobile")
    assert len(twins.answers) == 1


def test_offers_bypass_the_cache_and_the_kept_answer_returns_when_they_stop(
    twins: Twins,
) -> None:
    c, product = offer_target(twins)
    segment = str(twins.engine.state([c]).customers.segment[0])
    plain = twins.ask(c, "mobile")
    assert product not in [i.product_id for i in plain.items]
    now = twins.clock.now
    offer = Offer(
        name="cache test pin",
        product_id=product,
        start_at=now - timedelta(days=1),
        end_at=now + timedelta(days=30),
        action=Action.pin,
        pin=1,
        channels=("mobile",),
        target=Target(segments=(segment,)),
    )
    stored = twins.offers.create(offer, "tester", now=now)
    twins.offers.set_status(stored.id, Status.active, "tester", now=now)
    assert twins.book.refresh()
    placed = twins.cached.recommend(c, "mobile")
    assert isinstance(placed, Recommendation), "not the kept answer"
    assert (placed.items[0].product_id, placed.items[0].offer_id) == (product, stored.id)
    assert (twins.answers.hits, twins.answers.misses) == (0, 1), "no lookup while offers run"
    twins.offers.set_status(stored.id, Status.paused, "tester", now=now)
    assert twins.book.refresh()
    assert list(twins.ask(c, "mobile").items) == list(plain.items)
    assert twins.answers.hits == 1


def offer_target(twins: Twins) -> tuple[str, str]:
    """A consenting customer and a product every rule allows them on mobile but not suggested."""
    engine = twins.engine
    ids = [customer(twins, i) for i in range(100)]
    state = engine.state(ids)
    allowed = combine(
        rule_masks(
            engine.catalog,
            state.customers,
            state.held,
            at=twins.clock.now.date(),
            channel="mobile",
            excluded_categories=engine.excluded_for("mobile"),
        )
    )
    for row in np.flatnonzero(offers_allowed(state.customers)).tolist():
        shown = {i.product_id for i in twins.fresh.recommend(ids[row], "mobile").items}
        for p in np.flatnonzero(allowed[row]).tolist():
            product = str(engine.snapshot.product_map.ids[p])
            if product not in shown:
                return ids[row], product
    raise AssertionError("no consenting customer with an allowed product left to offer")


def test_the_oldest_answers_go_when_the_cache_is_full(model: Trained, tmp_path: Path) -> None:
    twins = Twins(model, tmp_path, max_entries=3)
    for i in range(5):
        twins.ask(customer(twins, i), "web")
    assert len(twins.answers) == 3
    twins.ask(customer(twins, 4), "web")
    twins.ask(customer(twins, 0), "web")
    assert (twins.answers.hits, twins.answers.misses) == (1, 6)


Op = tuple


def ops() -> st.SearchStrategy[list[Op]]:
    """Asks, events (often of a product just suggested), days passing and model swaps."""
    who = st.one_of(st.integers(0, 7), st.sampled_from(["NEW-a", "NEW-b"]))
    ask = st.tuples(st.just("ask"), who, st.sampled_from([0, 1, 3]))
    # the product: one of the customer's current suggestions on the web (by rank), or any
    product = st.one_of(st.integers(0, 4), st.integers(5, 1000))
    event = st.tuples(st.just("event"), who, product, st.sampled_from(EVENT_TYPES))
    day = st.tuples(st.just("day"), st.integers(1, 120))
    swap = st.tuples(st.just("swap"))
    return st.lists(st.one_of(ask, ask, event, day, swap), min_size=1, max_size=20)


@given(sequence=ops())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_answer_equals_the_answer_worked_out_afresh(model: Trained, sequence) -> None:
    with tempfile.TemporaryDirectory() as folder:
        twins = Twins(model, Path(folder))
        ids = twins.engine.snapshot.product_map.ids
        for op in sequence:
            name, *args = op
            if name == "ask":
                who, k = args
                c = who if isinstance(who, str) else customer(twins, who)
                for channel in CHANNELS:
                    twins.ask(c, channel, k)
                    twins.ask(c, channel, k)  # the second one from the cache, when kept
            elif name == "event":
                who, pick, kind = args
                c = who if isinstance(who, str) else customer(twins, who)
                shown = [i.product_id for i in twins.fresh.recommend(c, "web").items]
                product = shown[pick] if pick < len(shown) else str(ids[pick % len(ids)])
                twins.cached.record_events([EventIn(c, product, kind, "web")])
            elif name == "day":
                twins.clock.now += timedelta(days=args[0])
            else:
                current = twins.holder.current()
                twins.holder.swap(twins.v2 if current is twins.v1 else twins.v1)
        twins.store.engine.dispose()


def test_the_server_reports_its_cache_in_the_metrics(running: Running) -> None:
    hits = "recsys_answer_cache_lookups_total"
    before = running.metrics.value(hits, {"result": "hit"})
    request = pb.RecommendRequest(customer_id="NEW-cache-metrics", channel="branch", k=2)
    first, again = running.stub.Recommend(request), running.stub.Recommend(request)
    assert list(again.items) == list(first.items) and again.request_id != first.request_id
    assert (again.customer_id, again.model_version) == (first.customer_id, first.model_version)
    named = running.stub.Recommend(pb.RecommendRequest(request_id="mine-1", **fields(request)))
    assert named.request_id == "mine-1" and list(named.items) == list(first.items)
    assert running.metrics.value(hits, {"result": "hit"}) == before + 2
    assert running.metrics.value("recsys_answer_cache_entries") >= 1
    assert b'recsys_answer_cache_lookups_total{result="miss"}' in running.metrics.exposition()


def fields(request: pb.RecommendRequest) -> dict[str, object]:
    return {"customer_id": request.customer_id, "channel": request.channel, "k": request.k}
