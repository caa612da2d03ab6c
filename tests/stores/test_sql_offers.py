"""The offer store on SQLite and PostgreSQL: CRUD with an audit trail, status moves, caps that
hold under concurrent reservations, and which events count for an offer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from recsys.offers.model import Action, FrequencyCap, Offer, OfferProblem, Status, Target
from recsys.stores.base import StoredEvent
from recsys.stores.sql_events import open_event_store
from recsys.stores.sql_offers import (
    OfferConflict,
    OfferNotFound,
    OfferStore,
    offer_json,
    open_offer_store,
)

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
HOLD = timedelta(minutes=10)
THREADS = 8
TRIES_PER_THREAD = 3


def spring(**changes: object) -> Offer:
    base: dict[str, object] = {
        "name": "spring deposits",
        "product_id": "P1",
        "start_at": NOW - timedelta(days=1),
        "end_at": NOW + timedelta(days=30),
        "action": Action.pin,
        "pin": 1,
        "channels": ("mobile", "web"),
        "target": Target(segments=("mass",), age_min=25),
        "cap": FrequencyCap(2, 7),
        "status": Status.active,
    }
    return Offer(**(base | changes))  # type: ignore[arg-type]


@pytest.fixture
def offers(store_url: str) -> Iterator[OfferStore]:
    """An empty, migrated offer store."""
    opened = open_offer_store(store_url)
    yield opened
    opened.close()


def test_create_stamps_audits_and_reads_back(offers: OfferStore) -> None:
    made = offers.create(spring(), "alice", now=NOW)
    assert made.id.startswith("off_") and made.revision == 1
    assert (made.created_by, made.updated_by, made.created_at) == ("alice", "alice", NOW)
    assert offer_json(offers.get(made.id)) == offer_json(made)
    assert offers.find("spring deposits").id == made.id
    [entry] = offers.history(made.id)
    assert (entry.action, entry.actor, entry.at, entry.before) == ("create", "alice", NOW, None)
    assert entry.after is not None and entry.after["segments"] == ["mass"]


def test_update_keeps_before_and_after_in_the_audit(offers: OfferStore) -> None:
    made = offers.create(spring(), "alice", now=NOW)
    later = NOW + timedelta(hours=1)
    changed = offers.update(made.id, "bob", {"priority": 5, "channels": ("web",)}, now=later)
    assert (changed.priority, changed.channels, changed.revision) == (5, ("web",), 2)
    assert (changed.updated_by, changed.updated_at, changed.created_by) == ("bob", later, "alice")
    entry = offers.history(made.id)[-1]
    assert (entry.action, entry.actor) == ("update", "bob")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["priority"], entry.after["priority"]) == (0, 5)
    assert (entry.before["channels"], entry.after["channels"]) == (["mobile", "web"], ["web"])


def test_update_rechecks_values_and_refuses_store_fields(offers: OfferStore) -> None:
    made = offers.create(spring(), "alice", now=NOW)
    with pytest.raises(OfferProblem, match="^end: "):
        offers.update(made.id, "bob", {"end_at": NOW - timedelta(days=5)})
    with pytest.raises(OfferProblem, match="^revision: "):
        offers.update(made.id, "bob", {"revision": 9})
    assert offers.get(made.id).revision == 1 and len(offers.history(made.id)) == 1


def test_a_stale_revision_is_a_conflict(offers: OfferStore) -> None:
    made = offers.create(spring(), "alice", now=NOW)
    offers.update(made.id, "bob", {"priority": 1}, expected_revision=1)
    with pytest.raises(OfferConflict, match="changed meanwhile"):
        offers.update(made.id, "carol", {"priority": 2}, expected_revision=1)
    assert offers.get(made.id).priority == 1


def test_status_moves_follow_the_allowed_transitions(offers: OfferStore) -> None:
    made = offers.create(spring(status=Status.draft), "alice", now=NOW)
    with pytest.raises(OfferConflict, match="cannot go from draft to paused"):
        offers.set_status(made.id, Status.paused, "bob")
    for status in (Status.active, Status.paused, Status.active, Status.ended):
        assert offers.set_status(made.id, status, "bob").status == status
    with pytest.raises(OfferConflict):
        offers.set_status(made.id, Status.active, "bob")
    with pytest.raises(OfferConflict, match="ended offers cannot change"):
        offers.update(made.id, "bob", {"priority": 3})
    actions = [e.action for e in offers.history(made.id)]
    assert actions == ["create", "status:active", "status:paused", "status:active", "status:ended"]


def test_same_status_is_a_conflict(offers: OfferStore) -> None:
    made = offers.create(spring(), "alice", now=NOW)
    with pytest.raises(OfferConflict, match="is active already"):
        offers.set_status(made.id, Status.active, "bob")


def test_names_are_unique_on_create_and_on_rename(offers: OfferStore) -> None:
    first = offers.create(spring(), "alice", now=NOW)
    with pytest.raises(OfferConflict, match="^name: an offer named 'spring deposits' exists"):
        offers.create(spring(), "bob", now=NOW)
    other = offers.create(spring(name="summer cards"), "bob", now=NOW)
    with pytest.raises(OfferConflict, match="^name: "):
        offers.update(other.id, "bob", {"name": first.name})
    # both made at NOW: the newest-first order ties, so compare as sets
    assert {o.name for o in offers.list()} == {"spring deposits", "summer cards"}


def test_unknown_offers_are_not_found(offers: OfferStore) -> None:
    with pytest.raises(OfferNotFound):
        offers.get("off_nothing")
    with pytest.raises(OfferNotFound, match="no offer with id or name 'nope'"):
        offers.find("nope")
    with pytest.raises(OfferNotFound):
        offers.set_status("off_nothing", Status.paused, "bob")


def test_list_filters_by_status(offers: OfferStore) -> None:
    draft = offers.create(spring(name="a", status=Status.draft), "x", now=NOW)
    active = offers.create(spring(name="b"), "x", now=NOW + timedelta(seconds=1))
    assert [o.id for o in offers.list([Status.draft])] == [draft.id]
    assert [o.id for o in offers.list()] == [active.id, draft.id]  # newest first


def test_customer_lists_are_kept_and_replaced(offers: OfferStore) -> None:
    listed = Target(customers=frozenset({"C1", "C2", "C3"}))
    made = offers.create(spring(target=listed), "alice", now=NOW)
    assert offers.get(made.id, with_customers=True).target.customers == listed.customers
    assert offers.get(made.id).target.customers == frozenset()  # "has a list", not read
    offers.update(made.id, "bob", {"target": Target(customers=frozenset({"C9"}))})
    assert offers.get(made.id, with_customers=True).target.customers == {"C9"}
    offers.update(made.id, "bob", {"target": Target()})
    assert offers.get(made.id, with_customers=True).target.customers is None


def test_reserve_keeps_a_2_per_7_days_cap(offers: OfferStore) -> None:
    made = offers.create(spring(), "alice", now=NOW)
    taken = [offers.reserve(made, "C1", f"r{i}", "mobile", NOW, HOLD) for i in range(3)]
    assert taken == [True, True, False]
    assert offers.reserve(made, "C2", "r9", "mobile", NOW, HOLD)  # the cap is per customer
    # a week later the old exposures are out of the window
    week = NOW + timedelta(days=7, seconds=1)
    assert offers.reserve(made, "C1", "r10", "web", week, HOLD)
    assert offers.deliveries(made.id) == 4


def test_reported_impressions_count_once_against_the_cap(
    store_url: str, offers: OfferStore
) -> None:
    made = offers.create(spring(), "alice", now=NOW)
    events = open_event_store(store_url)
    try:
        # the delivery's impression arrives: it counts once, not as delivery + impression
        assert offers.reserve(made, "C1", "r1", "mobile", NOW, HOLD)
        events.append([_event("C1", "impression", NOW, "r1", made.id)])
        later = NOW + timedelta(hours=1)  # past the hold: only reported impressions count
        assert offers.reserve(made, "C1", "r2", "mobile", later, HOLD)
        assert not offers.reserve(made, "C1", "r3", "mobile", later, HOLD)
    finally:
        events.close()


def test_concurrent_reservations_never_exceed_the_cap(store_url: str, offers: OfferStore) -> None:
    made = offers.create(spring(), "alice", now=NOW)
    stores = [open_offer_store(store_url) for _ in range(THREADS)]  # one engine per "process"
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def reserve(i: int) -> None:
        start.wait()
        for j in range(TRIES_PER_THREAD):
            got = stores[i].reserve(made, "C1", f"t{i}-{j}", "mobile", NOW, HOLD)
            with lock:
                results.append(got)

    threads = [threading.Thread(target=reserve, args=(i,)) for i in range(THREADS)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for s in stores:
            s.close()
    assert len(results) == THREADS * TRIES_PER_THREAD
    assert sum(results) == 2 and offers.deliveries(made.id) == 2


def test_paused_offers_reserve_nothing(offers: OfferStore) -> None:
    made = offers.create(spring(), "alice", now=NOW)
    offers.set_status(made.id, Status.paused, "bob")
    assert not offers.reserve(made, "C1", "r1", "mobile", NOW, HOLD)


def test_event_counts_attribute_by_offer_id_and_by_request_id(
    store_url: str, offers: OfferStore
) -> None:
    made = offers.create(spring(), "alice", now=NOW)
    other = offers.create(spring(name="other", product_id="P2"), "alice", now=NOW)
    assert offers.reserve(made, "C1", "req-1", "mobile", NOW, HOLD)
    assert offers.reserve(made, "C2", "req-2", "web", NOW, HOLD)
    assert offers.reserve(other, "C3", "req-3", "web", NOW, HOLD)
    events = open_event_store(store_url)
    try:
        events.append(
            [
                _event("C1", "impression", NOW, "req-1", made.id),  # tagged with the offer
                _event("C1", "click", NOW, "req-1", made.id),
                _event("C2", "impression", NOW, "req-2", None),  # untagged, same request
                _event("C2", "purchase", NOW, "req-2", None),
                _event("C2", "click", NOW, "req-2", None, product="P9"),  # other product
                _event("C4", "click", NOW, "req-zzz", None),  # no delivery of this offer
                _event("C3", "impression", NOW, "req-3", other.id, product="P2"),  # other offer
            ]
        )
    finally:
        events.close()
    got = sorted(offers.event_counts(made.id))
    assert got == [
        ("mobile", "click", 1),
        ("mobile", "impression", 1),
        ("mobile", "served", 1),
        ("web", "impression", 1),
        ("web", "purchase", 1),
        ("web", "served", 1),
    ]
    assert sorted(offers.event_counts(other.id)) == [
        ("web", "impression", 1),
        ("web", "served", 1),
    ]


def _event(
    customer: str,
    kind: str,
    at: datetime,
    request_id: str | None,
    offer_id: str | None,
    *,
    product: str = "P1",
) -> StoredEvent:
    channel = "mobile" if customer == "C1" else "web"
    return StoredEvent(customer, product, kind, at, channel, None, request_id, offer_id)
