"""`recsys events export`: the stored event log to Parquet or CSV, from RECSYS_DATABASE_URL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.schema import EVENTS
from recsys.data.validate import validate_dataset
from recsys.data.write import write_dataset
from recsys.stores.base import StoredEvent
from recsys.stores.sql_events import EVENT_LOG_SCHEMA, open_event_store
from recsys.stores.tables import REQUEST_ID
from recsys_cli import events as events_cli

T0 = datetime(2024, 7, 1, 9, 30, tzinfo=UTC)


def cli() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(events_cli.app, name="events")  # as recsys_cli.main wires it
    return root


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli(), ["events", "export", *args], terminal_width=200)
    return result.exit_code, result.output


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'recsys.db'}"
    monkeypatch.setenv("RECSYS_DATABASE_URL", url)
    return url


def record(url: str, events: list[StoredEvent]) -> None:
    store = open_event_store(url)
    store.append(events)
    store.engine.dispose()


def sample() -> list[StoredEvent]:
    return [
        StoredEvent("c1", "p5", "purchase", T0, "mobile", 10.0, "req-1", None),
        StoredEvent("c4", "p3", "view", T0 + timedelta(hours=1), "web", None, None, "o-1"),
    ]


def test_export_parquet_writes_every_event(db_url: str, tmp_path: Path) -> None:
    record(db_url, sample())
    out = tmp_path / "dump" / "events.parquet"
    code, output = run("--out", str(out))
    assert code == 0, output
    assert "exported 2 events" in output
    frame = pl.read_parquet(out)
    assert frame.schema == pl.Schema(EVENT_LOG_SCHEMA)
    assert frame[C.customer_id].to_list() == ["c1", "c4"]
    assert frame[REQUEST_ID].to_list() == ["req-1", None]


def test_export_since_and_csv_by_suffix(db_url: str, tmp_path: Path) -> None:
    record(db_url, sample())
    out = tmp_path / "later.csv"
    code, output = run("--out", str(out), "--since", "2024-07-01T09:30:00")
    assert code == 0, output
    assert "exported 1 events" in output
    assert pl.read_csv(out)[C.customer_id].to_list() == ["c4"]


def test_a_canonical_csv_export_is_a_valid_events_file(db_url: str, tmp_path: Path,
                                                       tiny_bank_data: BankData) -> None:
    record(db_url, sample())
    folder = write_dataset(tiny_bank_data, tmp_path / "ds", fmt="csv")
    code, output = run("--out", str(folder / "events.csv"), "--format", "csv", "--canonical")
    assert code == 0, output
    data, problems = validate_dataset(folder, now=T0 + timedelta(days=1))
    assert problems == []
    assert data.events.columns == list(EVENTS.names)
    assert data.events[C.product_id].to_list() == ["p5", "p3"]


def test_an_empty_store_exports_an_empty_file(db_url: str, tmp_path: Path) -> None:
    code, output = run("--out", str(tmp_path / "none.parquet"))
    assert code == 0, output
    assert "exported 0 events" in output
    assert pl.read_parquet(tmp_path / "none.parquet").schema == pl.Schema(EVENT_LOG_SCHEMA)


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--format", "json"], "must be one of parquet, csv"),
     (["--since", "last tuesday"], "not an ISO date/time")],
)
def test_bad_options_are_usage_errors(db_url: str, tmp_path: Path, args: list[str],
                                      message: str) -> None:
    code, output = run("--out", str(tmp_path / "x.parquet"), *args)
    assert code == 2
    assert message in output


def test_an_unreachable_store_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a-folder.db").mkdir()  # SQLite cannot open a folder as a database
    monkeypatch.setenv("RECSYS_DATABASE_URL", f"sqlite:///{tmp_path / 'a-folder.db'}")
    code, output = run("--out", str(tmp_path / "x.parquet"))
    assert code == 1
    assert "event store: cannot migrate the store" in output
    assert not (tmp_path / "x.parquet").exists()


def test_an_unsupported_url_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECSYS_DATABASE_URL", "mysql://root@localhost/db")
    code, output = run("--out", str(tmp_path / "x.parquet"))
    assert code == 2
    assert "unsupported backend 'mysql'" in output
