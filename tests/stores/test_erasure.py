"""Erasure and retention on a real store (SQLite and PostgreSQL): nothing of the customer left."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.erased import without_erased
from recsys.stores.db import make_engine
from recsys.stores.erasure import (
    ERASED,
    erase_customer,
    erased_subjects,
    prune,
    subject_digest,
)
from recsys.stores.migrate import upgrade
from recsys.stores.tables import metadata

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
GONE, KEPT = "C00000042", "C00000043"


def _filler(column: sa.Column, customer: str, serial: int) -> Any:
    """A valid value for a required column of any table (the customer in its id column)."""
    if column.name == C.customer_id:
        return customer
    if column.foreign_keys:
        return "O1"
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return NOW - timedelta(days=serial)
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer | sa.Double | sa.Float | sa.Numeric):
        return serial
    return f"{column.name}-{serial}"


def _row(table: sa.Table, customer: str, serial: int) -> dict[str, Any]:
    return {
        c.name: _filler(c, customer, serial)
        for c in table.c
        if not (c.primary_key and c.autoincrement is True)
        and not (c.primary_key and isinstance(c.type, sa.Integer) and c.name == "id")
    }


@pytest.fixture
def engine(store_url: str) -> sa.Engine:
    made = make_engine(store_url)
    upgrade(made)
    offers = metadata.tables["offers"]
    with made.begin() as conn:
        conn.execute(offers.insert().values(_row(offers, "", 0) | {"id": "O1", "name": "n"}))
        for table in metadata.sorted_tables:
            if C.customer_id not in table.c:
                continue
            for serial, customer in enumerate([GONE, KEPT, GONE, KEPT]):
                if table.name in ("offer_customers", "contact_locks") and serial > 1:
                    continue  # (offer, customer) and customer are their keys
                conn.execute(table.insert().values(_row(table, customer, serial)))
        audit = metadata.tables["offer_audit"]
        listed = json.dumps({"customers": [GONE, KEPT, GONE + "0"]})
        conn.execute(audit.insert().values(_row(audit, "", 0) | {"after": listed}))
    yield made
    made.dispose()


def _mentions(engine: sa.Engine, customer: str) -> dict[str, int]:
    """Rows of every table with a text column that is the id or quotes it in JSON."""
    found: dict[str, int] = {}
    with engine.connect() as conn:
        reflected = sa.MetaData()
        reflected.reflect(bind=conn)
        for table in reflected.sorted_tables:
            texts = [c for c in table.c if isinstance(c.type, sa.String | sa.Text)]
            if not texts:
                continue
            hit = sa.or_(
                *(c == customer for c in texts), *(c.like(f'%"{customer}"%') for c in texts)
            )
            n = conn.execute(sa.select(sa.func.count()).select_from(table).where(hit)).scalar_one()
            if n:
                found[table.name] = n
    return found


def test_erasure_leaves_nothing_of_the_customer_in_any_table(engine: sa.Engine) -> None:
    before = _mentions(engine, GONE)
    assert {"events", "decisions", "offer_deliveries", "offer_customers", "offer_audit"} <= set(
        before
    )
    done = erase_customer(engine, GONE, actor="dpo", now=NOW)
    assert not done.repeated
    assert done.counts["events"] == 2 and done.counts["offer_customers"] == 1
    assert done.counts["offer_audit"] == 1  # scrubbed, not deleted
    assert _mentions(engine, GONE) == {}
    with engine.connect() as conn:
        after = conn.execute(sa.select(metadata.tables["offer_audit"].c.after)).scalars().all()
        log = conn.execute(sa.select(metadata.tables["erasures"])).mappings().one()
    assert json.loads(after[0])["customers"] == [ERASED, KEPT, GONE + "0"]  # a longer id stays
    assert log["subject"] == subject_digest(GONE) and log["actor"] == "dpo"
    assert GONE not in json.dumps({k: str(v) for k, v in log.items()})
    assert erased_subjects(engine) == {subject_digest(GONE)}


def test_the_other_customers_rows_are_untouched(engine: sa.Engine) -> None:
    kept = _mentions(engine, KEPT)
    erase_customer(engine, GONE, actor="dpo", now=NOW)
    assert _mentions(engine, KEPT) == kept


def test_a_second_erasure_finds_nothing_and_says_it_is_a_repeat(engine: sa.Engine) -> None:
    erase_customer(engine, GONE, actor="dpo", now=NOW)
    again = erase_customer(engine, GONE, actor="dpo", now=NOW)
    assert again.repeated and again.total == 0
    assert erased_subjects(engine) == {subject_digest(GONE)}


def test_an_empty_id_is_refused(engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="empty"):
        erase_customer(engine, " ", actor="dpo")


def test_prune_removes_events_and_decisions_older_than_the_cutoffs(engine: sa.Engine) -> None:
    # the fixture's rows are 0..3 days old
    removed = prune(engine, events_before=NOW - timedelta(days=1, hours=12), decisions_before=None)
    assert removed == {"events": 2}
    with engine.connect() as conn:
        left = conn.execute(sa.select(sa.func.count()).select_from(metadata.tables["events"]))
        assert left.scalar_one() == 2
        decisions = metadata.tables["decisions"]
        assert conn.execute(sa.select(sa.func.count()).select_from(decisions)).scalar_one() == 4


ids = st.lists(st.from_regex(r"C[0-9]{3}", fullmatch=True), min_size=1, max_size=12, unique=True)


@settings(max_examples=50, deadline=None)
@given(ids, st.data())
def test_training_data_drops_exactly_the_erased_customers(customers: list[str], data) -> None:
    erased = data.draw(st.lists(st.sampled_from(customers), unique=True))
    frame = pl.DataFrame({C.customer_id: customers})
    events = pl.DataFrame(
        {C.customer_id: customers * 2, C.product_id: ["P"] * (2 * len(customers))}
    )
    kept, n = without_erased(
        BankData(frame, pl.DataFrame({C.product_id: ["P"]}), events),
        {subject_digest(c) for c in erased} | {subject_digest("nobody")},
    )
    assert n == len(erased)
    assert set(kept.customers[C.customer_id]) == set(customers) - set(erased)
    assert set(kept.events[C.customer_id]) == set(customers) - set(erased)
    assert kept.events.height == 2 * (len(customers) - len(erased))
