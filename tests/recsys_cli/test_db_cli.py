"""`recsys db`: current / upgrade / downgrade the store named by RECSYS_DATABASE_URL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from recsys.stores.migrate import head_revision
from recsys_cli.main import app


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["db", *args], terminal_width=200)
    return result.exit_code, result.output


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "recsys.db"
    monkeypatch.setenv("RECSYS_DATABASE_URL", f"sqlite:///{path}")
    return path


def _tables(path: Path) -> set[str]:
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_then_downgrade_moves_the_schema(db: Path) -> None:
    code, out = run("current")
    assert code == 0 and "empty store" in out
    code, out = run("upgrade")
    assert code == 0 and f"at {head_revision()}" in out
    assert {"events", "offers", "api_keys", "decisions"} <= _tables(db)
    code, out = run("downgrade", "0001")
    assert code == 2 and "--yes" in out  # refuses without confirmation
    assert "offers" in _tables(db)
    code, out = run("downgrade", "0001", "--yes")
    assert code == 0 and "at 0001" in out
    assert "offers" not in _tables(db) and "events" in _tables(db)


def test_an_unknown_revision_is_named(db: Path) -> None:
    code, out = run("upgrade", "nope")
    assert code == 2 and "nope" in out
