"""SQLAlchemy engines for the operational stores: SQLite (embedded default) or PostgreSQL.

SQLite is tuned for several server processes sharing one file: WAL lets readers run beside the
one writer, `synchronous=FULL` fsyncs the WAL on every commit so an acknowledged write survives
a crash or `kill -9`, and `busy_timeout` makes a writer wait for the lock instead of failing at
once. PostgreSQL goes through psycopg2 with a connect timeout, a lock timeout and a TCP user
timeout, so a store that cannot be reached, stays locked or vanishes mid-statement fails within
about `timeout_s` rather than hanging a request.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
DEFAULT_TIMEOUT_S = 5.0
KEEPALIVE_IDLE_S = 30  # an idle pooled PostgreSQL connection is probed after this long...
KEEPALIVE_INTERVAL_S = 5  # ...every this often...
KEEPALIVE_COUNT = 3  # ...and dropped after this many probes go unanswered


def make_engine(
    url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, fsync_each_commit: bool = True
) -> sa.Engine:
    """An engine for `url` (sqlite:///FILE or postgresql://...); ValueError for other schemes.

    `fsync_each_commit=False` (SQLite only) keeps WAL's `synchronous=NORMAL`: a commit still
    survives the process being killed, only an OS crash or power loss may take the last ones.
    For high-rate bookkeeping that may be lost that way (offer slot reservations), not events.
    """
    if not (timeout_s > 0 and math.isfinite(timeout_s)):
        raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s}")
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == SQLITE:
        return _sqlite_engine(parsed, timeout_s, "FULL" if fsync_each_commit else "NORMAL")
    if backend == POSTGRESQL:
        return _postgresql_engine(parsed, timeout_s)
    raise ValueError(
        f"database URL {parsed.render_as_string(hide_password=True)!r}: unsupported backend "
        f"{backend!r}; use sqlite:///PATH or postgresql://USER@HOST/DB"
    )


def _sqlite_engine(url: sa.URL, timeout_s: float, synchronous: str) -> sa.Engine:
    if url.database and url.database != ":memory:":
        # a fresh checkout has no var/ yet; SQLite would fail with "unable to open database file"
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": timeout_s})
    # Many rows go in as multi-row INSERT statements, not sqlite3's executemany: that binds
    # each row with the GIL held and steps it without, so a decision-log batch took the GIL
    # back twice a row from the serving loop and held the database's write lock far longer
    # than one statement does (figures in bench/README.md)
    engine.dialect.use_insertmanyvalues_wo_returning = True
    busy_ms = int(timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        # busy_timeout first: switching to WAL needs a lock another process may hold
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    return engine


def _postgresql_engine(url: sa.URL, timeout_s: float) -> sa.Engine:
    if url.drivername == POSTGRESQL:
        url = url.set(drivername=f"{POSTGRESQL}+psycopg2")
    timeout_ms = int(timeout_s * 1000)
    engine = sa.create_engine(
        url,
        pool_pre_ping=True,  # a restarted database leaves dead pooled connections behind
        connect_args={
            "connect_timeout": max(1, math.ceil(timeout_s)),
            # A host that vanishes mid-statement (partition, crash) never answers and never
            # resets: the kernel retransmits for ~15 minutes while the call waits. Sent data
            # unacknowledged for timeout_s now drops the connection (the statement fails,
            # nothing is committed), and keepalives find dead idle connections in the pool.
            "tcp_user_timeout": timeout_ms,
            "keepalives": 1,
            "keepalives_idle": KEEPALIVE_IDLE_S,
            "keepalives_interval": KEEPALIVE_INTERVAL_S,
            "keepalives_count": KEEPALIVE_COUNT,
        },
    )

    @event.listens_for(engine, "connect")
    def _session(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.execute(f"SET lock_timeout = {timeout_ms}")
        cursor.close()
        dbapi_conn.commit()  # psycopg2 opened a transaction; keep the settings past reset

    return engine
