"""make_engine: SQLite tuned for durable, multi-process use; PostgreSQL through psycopg2."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from recsys.stores.db import make_engine

SQLITE_SYNCHRONOUS_FULL = 2


def test_sqlite_is_wal_fsynced_and_waits_for_locks(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "there.db"
    engine = make_engine(f"sqlite:///{path}", timeout_s=1.5)
    with engine.connect() as conn:
        pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == SQLITE_SYNCHRONOUS_FULL
        assert pragma("busy_timeout") == 1500
    assert path.exists()  # the missing folders were created
    engine.dispose()


@pytest.mark.postgres
def test_postgresql_uses_psycopg2_and_utc(pg_url: str) -> None:
    engine = make_engine(pg_url.replace("postgresql+psycopg2://", "postgresql://"), timeout_s=2)
    assert engine.dialect.driver == "psycopg2"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW TIME ZONE")).scalar() == "UTC"
        assert conn.execute(sa.text("SHOW lock_timeout")).scalar() == "2s"
        # what libpq was given: a vanished host fails a statement after 2 s of silence
        libpq = conn.connection.dbapi_connection.get_dsn_parameters()
    assert libpq["tcp_user_timeout"] == "2000"
    assert (libpq["keepalives"], libpq["keepalives_idle"]) == ("1", "30")
    engine.dispose()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/db", "unsupported backend 'mysql'"),
        ("oracle://scott:tiger@db/x", r"oracle://scott:\*\*\*@db/x"),  # password never shown
    ],
)
def test_other_backends_are_refused_by_name(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_engine(url)


@pytest.mark.parametrize("timeout", [0, -1, float("nan")])
def test_timeout_must_be_positive(tmp_path: Path, timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout_s must be a positive number"):
        make_engine(f"sqlite:///{tmp_path / 'x.db'}", timeout_s=timeout)
