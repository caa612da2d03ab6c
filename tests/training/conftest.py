"""Fixtures for MLflow tests: a fresh registry per test on SQLite, or on the local PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from recsys.settings import Settings
from training.tracking import configure_mlflow

PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def postgres_available() -> bool:
    """Whether the local PostgreSQL answers (CI machines run one; a laptop may not)."""
    try:
        with sa.create_engine(PG_ADMIN_URL).connect() as conn:
            conn.execute(sa.text("select 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings whose MLflow store is a fresh SQLite file under tmp_path."""
    settings = Settings(home=tmp_path / "home", mlflow_tracking_uri=None)
    configure_mlflow(settings)
    yield settings


@pytest.fixture
def postgres_settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings whose MLflow store is a fresh database on the local PostgreSQL, dropped after."""
    if not postgres_available():
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    name = f"mlflow_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    settings = Settings(
        home=tmp_path / "home",
        mlflow_tracking_uri=f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}",
    )
    configure_mlflow(settings)
    try:
        yield settings
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def registry_settings(request: pytest.FixtureRequest) -> Settings:
    """The same registry behaviour tests against every supported backend."""
    return request.getfixturevalue(f"{request.param}_settings")
