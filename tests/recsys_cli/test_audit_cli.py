"""`recsys audit` on a store with no decisions for the customer asked about."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from recsys_cli.main import app


@pytest.fixture(autouse=True)
def empty_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh SQLite store (created and migrated by the command itself)."""
    monkeypatch.setenv("RECSYS_DATABASE_URL", f"sqlite:///{tmp_path / 'recsys.db'}")


def test_a_customer_without_decisions_is_said_so_with_exit_1() -> None:
    result = CliRunner().invoke(app, ["audit", "NOBODY"])
    assert result.exit_code == 1, result.output
    assert "no decisions logged for customer 'NOBODY'" in result.output


def test_json_of_no_decisions_is_an_empty_array_with_exit_1() -> None:
    result = CliRunner().invoke(app, ["audit", "NOBODY", "--json"])
    assert result.exit_code == 1 and result.output.strip() == "[]", result.output
