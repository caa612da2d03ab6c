"""Schema migrations of the operational store (Alembic), run in-process by every store opener.

Several server processes may open a fresh store at once, so an upgrade runs under a lock:
an advisory lock on PostgreSQL, a lock file beside the database on SQLite. A store already
at head costs one small SELECT.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from recsys.stores.db import POSTGRESQL, SQLITE

MIGRATIONS: Final = Path(__file__).parent / "migrations"
HEAD: Final = "head"
BASE: Final = "base"
_PG_LOCK_KEY: Final = 0x7265637379730001  # "recsys" + 1: one advisory lock for migrations


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the store is at (None: never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = HEAD) -> None:
    """Bring the store up to `revision` (default: head); a no-op when it is there already."""
    if revision == HEAD and current_revision(engine) == head_revision():
        return
    _run(engine, lambda config: command.upgrade(config, revision))


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Take the store down to `revision` ("base" drops every table)."""
    _run(engine, lambda config: command.downgrade(config, revision))


def _run(engine: sa.Engine, step: object) -> None:
    config = _config()
    with _migration_lock(engine), engine.begin() as conn:
        config.attributes["connection"] = conn
        step(config)  # type: ignore[operator]


@contextmanager
def _migration_lock(engine: sa.Engine) -> Iterator[None]:
    backend = engine.dialect.name
    if backend == POSTGRESQL:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
        return
    database = engine.url.database if backend == SQLITE else None
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).expanduser().with_suffix(".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
