"""Migrations up and down on SQLite and PostgreSQL; the migrated schema matches tables.py."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from recsys.stores.db import make_engine
from recsys.stores.migrate import BASE, current_revision, downgrade, head_revision, upgrade
from recsys.stores.sql_events import SqlEventStore
from recsys.stores.tables import events, metadata

ALL_TABLES = set(metadata.tables)


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_creates_every_table_and_downgrade_removes_them(store_url: str) -> None:
    engine = make_engine(store_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert _tables(engine) == ALL_TABLES
    downgrade(engine, "0001")
    assert _tables(engine) == {"events"}
    downgrade(engine, BASE)
    assert _tables(engine) == set()
    upgrade(engine)  # and up again from nothing
    assert _tables(engine) == ALL_TABLES
    engine.dispose()


def test_migrated_schema_matches_the_table_definitions(store_url: str) -> None:
    engine = make_engine(store_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == [], f"tables.py and the migrations disagree: {diff}"


def test_a_store_made_before_migrations_keeps_its_events(store_url: str) -> None:
    engine = make_engine(store_url)
    metadata.create_all(engine, tables=[events])  # how stores were created before Alembic
    with engine.begin() as conn:  # ... when events had one index only, and no client ids
        conn.execute(sa.text("DROP INDEX ix_events_request_id"))
        conn.execute(sa.text("DROP INDEX ux_events_source_event_id"))
        conn.execute(sa.text("DROP INDEX ix_events_product_timestamp"))
        conn.execute(sa.text("ALTER TABLE events DROP COLUMN event_id"))
        conn.execute(sa.text("ALTER TABLE events DROP COLUMN source"))
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        conn.execute(
            sa.text(
                "INSERT INTO events (customer_id, product_id, event, timestamp, recorded_at) "
                "VALUES ('c1', 'p1', 'purchase', :t, :t)"
            ),
            {"t": moment},
        )
    old = SqlEventStore(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert old.count() == 1
    assert _tables(engine) == ALL_TABLES
    engine.dispose()


def test_concurrent_upgrades_of_a_fresh_store_do_not_collide(store_url: str) -> None:
    engines = [make_engine(store_url) for _ in range(4)]
    errors: list[BaseException] = []

    def run(engine: sa.Engine) -> None:
        try:
            upgrade(engine)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert current_revision(engines[0]) == head_revision()
    for e in engines:
        e.dispose()
