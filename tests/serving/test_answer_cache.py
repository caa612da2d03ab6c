"""The answer cache: an answer kept is the answer worked out afresh, whatever happened between.

Unit tests of AnswerCache, then a service with the cache against its twin without one, on a
real model and a real SQLite store: events, days, model swaps, offers, a store that fails.
"""

from __future__ import annotations

import gc
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.engine.engine import Engine
from recsys.offers.model import Action, Offer, Status, Target
from recsys.rules import combine, rule_masks
from recsys.rules.consent import offers_allowed
from recsys.stores.base import StoreUnavailable
from recsys.stores.sql_events import SqlEventStore, open_event_store
from recsys.stores.sql_offers import open_offer_store
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving.decisions.log import answer_json, render_row
from serving.models.holder import LoadedModel, ModelHolder
from serving.offers.book import OfferBook
from serving.offers.placer import OfferPlacer
from serving.recommend.answer_cache import Answer, AnswerCache, KeptItems, KeptRules
from serving.recommend.domain import EventIn, Item, ItemReason, Recommendation, Removed
from serving.recommend.service import SuggestionService
from serving.recommend.servicer import _envelope, _recommendation, items_wire
from tests.serving.conftest import Running
from tests.serving.trained import Trained

CHANNELS = ("mobile", "web", "branch", "call_center", "atm")
EVENT_TYPES = ("purchase", "close", "view", "apply")


# --- AnswerCache --------------------------------------------------------------------------
def test_least_recently_used_goes_first() -> None:
    cache = AnswerCache(2)
    a, b, c = (answer(name) for name in "abc")
    cache.put("g", "a", a)
    cache.put("g", "b", b)
    assert same(cache.get("g", "a"), a)  # a is now the most recently used
    cache.put("g", "c", c)
    assert cache.get("g", "b") is None
    assert same(cache.get("g", "a"), a) and same(cache.get("g", "c"), c)
    assert len(cache) == 2
    assert (cache.hits, cache.misses) == (3, 1)


def test_a_new_generation_drops_every_older_answer() -> None:
    cache = AnswerCache(10)
    cache.put(("v1", "day1"), "a", answer("a"))
    assert cache.get(("v2", "day1"), "a") is None, "another generation never sees it"
    cache.put(("v2", "day1"), "b", answer("b"))
    assert len(cache) == 1
    assert cache.get(("v1", "day1"), "a") is None
    assert same(cache.get(("v2", "day1"), "b"), answer("b"))


def test_kept_answers_come_back_whole_and_stay_out_of_the_garbage_collectors_scans() -> None:
    cache = AnswerCache(100)
    kept = {f"C{i}": answer(f"P{i}") for i in range(50)}
    for key, value in kept.items():
        cache.put("g", key, value)
    gc.collect()  # where CPython untracks tuples that hold only untracked values
    tracked = [key for key, frozen in cache._entries.items() if gc.is_tracked(frozen)]
    assert not tracked, f"answers the collector still scans: {tracked[:3]}"
    for key, value in kept.items():
        back = cache.get("g", key)
        assert same(back, value)
        assert all(type(i) is Item and type(i.reasons[0]) is ItemReason for i in back[0])


def test_with_a_renderer_the_log_json_is_rendered_once_and_kept() -> None:
    calls = []

    def render(items, removed):  # type: ignore[no-untyped-def]
        calls.append(items)
        return answer_json(items, removed)

    cache = AnswerCache(10, render)
    original = answer("P1")
    stored = cache.put("g", "a", original)
    expected = answer_json(original[0], original[1])
    assert stored[2] == expected, "the caller's answer gets it too (its decision row)"
    for _ in range(3):
        hit = cache.get("g", "a")
        assert hit is not None and hit[2] == expected
    assert len(calls) == 1
    plain = AnswerCache(10)
    plain.put("g", "a", original)
    hit = plain.get("g", "a")
    assert hit is not None and hit[2] is None, "no decision log, no JSON kept"


def test_with_an_encoder_the_items_are_encoded_once_and_make_the_whole_response() -> None:
    calls = []

    def encode(items):  # type: ignore[no-untyped-def]
        calls.append(items)
        return items_wire(items)

    cache = AnswerCache(10, wire=encode)
    original = answer("P1")
    assert cache.put("g", "a", original)[3] == items_wire(original[0])
    for request_id in ("req-1", "req-2"):
        hit = cache.get("g", "a")
        assert hit is not None and hit[3] == items_wire(original[0])
        r = Recommendation("C1", hit[0], "7", request_id, hit[1], hit[2], hit[3])
        sent = hit[3] + _envelope(r)
        assert sent == _recommendation(r).SerializeToString(), "byte for byte"
        assert pb.RecommendResponse.FromString(sent).request_id == request_id
    assert len(calls) == 1
    hit = AnswerCache(10).put("g", "a", original)
    assert hit[3] is None, "no encoder, nothing encoded"


def test_a_hit_makes_its_items_and_rule_rows_only_when_they_are_read() -> None:
    """What a gRPC hit reads (kept bytes, kept JSON, item count, rule names) thaws nothing;
    what it thaws equals the answer that was kept, compared either way round."""
    cache = AnswerCache(10, answer_json, items_wire)
    original = answer("P1")
    cache.put("g", "a", original)
    hit = cache.get("g", "a")
    assert hit is not None
    items, removed, rendered, wire = hit
    r = Recommendation("C1", items, "7", "req-1", removed, rendered, wire)
    render_row(r, "mobile", 0.0)  # the decision log's row from the kept JSON
    sent = wire + _envelope(r)  # and the response from the kept bytes
    assert len(items) == 2 and list(removed.allowed) == ["held", "age"]
    assert len(removed.allowed) == 2
    assert isinstance(items, KeptItems) and not items.thawed
    assert isinstance(removed.allowed, KeptRules) and not removed.allowed.unpacked
    assert pb.RecommendResponse.FromString(sent).items[1].offer_id == "o-1"
    assert items == original[0] and original[0] == items and not items != original[0]
    assert items.thawed and tuple(items) == original[0] and items[1:] == original[0][1:]
    assert items[0].reasons[1] == ItemReason("popular", "popular")
    assert hash(items) == hash(original[0]) and repr(items) == repr(original[0])
    assert items == cache.get("g", "a")[0], "two kept views of one answer are equal"  # type: ignore[index]
    assert items != answer("P2")[0]
    assert removed.as_dict() == original[1].as_dict() == {"held": ["MORT"], "age": ["CA01"]}
    assert removed.allowed.unpacked
    for rule, row in original[1].allowed.items():
        assert np.array_equal(removed.allowed[rule], row) and removed.allowed[rule].dtype == bool
    assert removed.product_ids is cache.get("g", "a")[1].product_ids  # type: ignore[index]


def answer(product: str) -> Answer:
    """A two-item answer with reasons, an offer and two rules' removals."""
    items = (
        Item(
            product,
            f"name {product}",
            "savings",
            0.75,
            1,
            (ItemReason("co_held", "often added"), ItemReason("popular", "popular")),
        ),
        Item("CA01", "Current account", "account", 0.5, 2, (ItemReason("popular", "p"),), "o-1"),
    )
    ids = np.array([product, "CA01", "MORT"], dtype=object)
    allowed = {"held": np.array([True, True, False]), "age": np.array([True, False, True])}
    return items, Removed(ids, allowed), None, None


def same(got: Answer | None, want: Answer) -> bool:
    """Equal items, and the same removals (mask rows compared by value)."""
    assert got is not None
    return got[0] == want[0] and got[1].as_dict() == want[1].as_dict()


def test_removals_compare_by_identity_not_by_their_arrays() -> None:
    _, removed, *_ = answer("P1")
    twin = Removed(removed.product_ids.copy(), {r: m.copy() for r, m in removed.allowed.items()})
    assert removed == removed and removed != twin, "a tuple's == would raise on the arrays"
    assert twin.as_dict() == removed.as_dict()


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_entries must be >= 1, got 0"):
        AnswerCache(0)


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
        self.answers = AnswerCache(max_entries, answer_json, items_wire)
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

    def ask(self, customer: str, channel: str, k: int = 0) -> Recommendation:
        """Both services' answer; fails unless they are the same."""
        kept = self.cached.recommend(customer, channel, k)
        fresh = self.fresh.recommend(customer, channel, k)
        assert kept.items == fresh.items, f"{customer} on {channel}, k={k}"
        assert kept.model_version == fresh.model_version
        assert kept.removed is not None and fresh.removed is not None
        assert kept.removed.as_dict() == fresh.removed.as_dict()
        if kept.log_json is not None:  # the decision log's JSON, rendered when it was kept
            assert kept.log_json == answer_json(fresh.items, fresh.removed)
        if kept.wire is not None:  # and the response's encoding
            assert kept.wire == items_wire(fresh.items)
        return kept


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
    assert again.items == first.items
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
    assert first.items != second.items, "version 2 leaves out categories: a stale answer shows"


def test_context_and_exclusions_are_never_taken_from_the_cache(twins: Twins) -> None:
    c = customer(twins, 4)
    kept = twins.ask(c, "web", k=4)
    top = kept.items[0].product_id
    without = twins.cached.recommend(c, "web", k=4, exclude_product_ids=[top])
    assert top not in [i.product_id for i in without.items]
    profiled = twins.cached.recommend("NEW-cache", "web", context={"risk_tolerance": "5"})
    assert (
        profiled.items
        == twins.fresh.recommend("NEW-cache", "web", k=0, context={"risk_tolerance": "5"}).items
    )
    assert twins.answers.hits == 0 and len(twins.answers) == 1


def test_a_store_that_cannot_be_read_keeps_nothing(twins: Twins) -> None:
    c = customer(twins, 5)
    twins.store.down = True
    out = twins.cached.recommend(c, "mobile")
    assert out.items, "answered from the snapshot"
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
    placed = twins.cached.recommend(c, "mobile").items[0]
    assert (placed.product_id, placed.offer_id) == (product, stored.id), "not the kept answer"
    assert (twins.answers.hits, twins.answers.misses) == (0, 1), "no lookup while offers run"
    twins.offers.set_status(stored.id, Status.paused, "tester", now=now)
    assert twins.book.refresh()
    assert twins.ask(c, "mobile").items == plain.items
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


def test_the_decision_log_stores_a_kept_answers_json_as_it_is() -> None:
    items, removed, *_ = answer("P1")
    rendered = answer_json(items, removed)
    fresh = Recommendation("C1", items, "3", "req-1", removed)
    kept = Recommendation("C1", items, "3", "req-1", removed, rendered)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert render_row(kept, "web", at) == render_row(fresh, "web", at)
    marked = Recommendation("C1", items, "3", "req-1", removed, ('["kept"]', '{"k":[]}'))
    row = render_row(marked, "web", at)
    assert '["kept"]' in row and '{"k":[]}' in row, "taken as it is, not rendered again"
