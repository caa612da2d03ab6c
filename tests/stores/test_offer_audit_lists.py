"""Replacing an offer's customer list shows in its audit: ids when short, size + digest else."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from recsys.offers.model import Action, Offer, Status, Target
from recsys.stores.sql_offers import AUDITED_CUSTOMERS, OfferStore, open_offer_store
from serving.offers.protos import audit_to_pb

NOW = datetime(2024, 7, 1, 9, tzinfo=UTC)


def listed(customers: set[str]) -> Offer:
    return Offer(
        name="listed",
        product_id="P1",
        start_at=NOW,
        end_at=NOW + timedelta(days=30),
        action=Action.pin,
        pin=1,
        target=Target(customers=frozenset(customers)),
        status=Status.draft,
    )


@pytest.fixture
def offers(store_url: str) -> Iterator[OfferStore]:
    opened = open_offer_store(store_url)
    yield opened
    opened.close()


def test_a_short_list_is_shown_before_and_after(offers: OfferStore) -> None:
    made = offers.create(listed({"C2", "C1"}), "alice")
    offers.update(made.id, "bob", {"target": Target(customers=frozenset({"C1", "C9"}))})
    entry = offers.history(made.id)[-1]
    assert entry.before is not None and entry.after is not None
    assert (entry.before["customers"], entry.after["customers"]) == (["C1", "C2"], ["C1", "C9"])
    changes = {c.field: (c.before, c.after) for c in audit_to_pb(entry).changes}
    assert changes["target.customer_ids"] == ('["C1", "C2"]', '["C1", "C9"]')


def test_a_long_list_of_the_same_size_shows_a_new_digest(offers: OfferStore) -> None:
    first = {f"C{i}" for i in range(AUDITED_CUSTOMERS + 5)}
    second = (first - {"C0"}) | {"X0"}
    made = offers.create(listed(first), "alice")
    offers.update(made.id, "bob", {"target": Target(customers=frozenset(second))})
    entry = offers.history(made.id)[-1]
    assert entry.before is not None and entry.after is not None
    assert "customers" not in entry.after  # no ids of a long list in the audit
    assert entry.before["customer_count"] == entry.after["customer_count"] == len(first)
    digest = hashlib.sha256("\n".join(sorted(second)).encode()).hexdigest()
    assert entry.after["customers_sha256"] == digest != entry.before["customers_sha256"]
    changed = [c.field for c in audit_to_pb(entry).changes]
    assert changed == ["customers_sha256"]
