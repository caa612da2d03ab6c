"""Backends for the store tests: a fresh SQLite file, and a fresh schema on the local PostgreSQL.

Every store test that takes `store_url` (or `store`) runs once per backend. PostgreSQL is the
server at 127.0.0.1:5432 (user postgres, database test, trust auth); when it cannot be reached
those runs are skipped with the reason, the SQLite runs still go ahead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from recsys.stores.sql_events import SqlEventStore, open_event_store

PG_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def _pg_admin() -> sa.Engine:
    engine = sa.create_engine(PG_SERVER, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 (database test) not reachable: {exc.orig}")
    return engine


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose connections land in a fresh schema, dropped afterwards."""
    admin = _pg_admin()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL of a SQLite file that does not exist yet."""
    return f"sqlite:///{tmp_path / 'store' / 'recsys.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """The same behaviour suite runs against each backend."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return request.getfixturevalue(name)


@pytest.fixture
def store(store_url: str) -> Iterator[SqlEventStore]:
    """An empty event store with its tables created."""
    opened = open_event_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[SqlEventStore]:
    """An empty SQLite event store (for property tests: one store for all their examples)."""
    opened = open_event_store(sqlite_url)
    yield opened
    opened.close()
