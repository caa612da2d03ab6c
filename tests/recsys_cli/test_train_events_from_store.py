"""`recsys train --events-from-store`: the stored feedback is validated and joins the training."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import mlflow
import polars as pl
import pytest
from typer.testing import CliRunner

from recsys.columns import Columns as C
from recsys.stores.base import StoredEvent
from recsys.stores.sql_events import open_event_store
from recsys_cli.main import app
from tests.training.trained import fresh_sqlite_store, generated_dataset
from training.store_events import UNKNOWN_CUSTOMER, UNKNOWN_PRODUCT


@pytest.fixture
def env(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
        monkeypatch: pytest.MonkeyPatch) -> str:
    """Fresh MLflow and event stores, selected through the environment as operators do."""
    uri = fresh_sqlite_store(tmp_path_factory.getbasetemp(), tmp_path / "mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("RECSYS_HOME", str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'events.db'}"
    monkeypatch.setenv("RECSYS_DATABASE_URL", url)
    return url


@pytest.fixture
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_dataset(tmp_path_factory.getbasetemp())


def record(url: str, events: list[StoredEvent]) -> None:
    store = open_event_store(url)
    store.append(events)
    store.engine.dispose()


def feedback(dataset: Path, product: str) -> list[StoredEvent]:
    """Views by the first three customers, after the dataset's last event."""
    last = pl.read_parquet(dataset / "events.parquet")[C.timestamp].max()
    ids = pl.read_parquet(dataset / "customers.parquet")[C.customer_id].head(3).to_list()
    return [StoredEvent(c, product, "view", last + timedelta(minutes=i + 1), "web")
            for i, c in enumerate(ids)]


def runs() -> list:
    # the environment's store: an earlier test in this process may have set mlflow's global
    # tracking URI, and a training refused before it configures mlflow leaves that one set
    client = mlflow.MlflowClient(tracking_uri=os.environ["MLFLOW_TRACKING_URI"])
    return client.search_runs([e.experiment_id for e in client.search_experiments()])


def train(dataset: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["train", "--data", str(dataset), "--model", "popularity",
                                      "--events-from-store"], terminal_width=200)
    return result.exit_code, " ".join(result.output.split())  # rich wraps long lines


def test_bad_store_events_stop_training_and_name_the_store(env: str, dataset: Path) -> None:
    """Events RecordEvents would refuse (written to the store some other way)."""
    product = pl.read_parquet(dataset / "products.parquet")[C.product_id][0]
    record(env, [replace(e, amount=-1e308) for e in feedback(dataset, product)])
    code, output = train(dataset)
    assert code == 2, output
    assert "event store, column amount, rows 1, 2, 3: negative amount" in output
    assert "nothing trained or registered" in output
    assert runs() == []


def test_events_of_new_customers_and_retired_products_are_left_out_and_said(
    env: str, dataset: Path
) -> None:
    product = pl.read_parquet(dataset / "products.parquet")[C.product_id][0]
    new = [replace(e, customer_id=f"NEW-{i}") for i, e in enumerate(feedback(dataset, product))]
    record(env, new[:2] + feedback(dataset, "RETIRED-PRODUCT")[:1])
    code, output = train(dataset)
    assert code == 0, output
    assert f"2 event(s) from the event store {UNKNOWN_CUSTOMER}: left out" in output
    assert f"1 event(s) from the event store {UNKNOWN_PRODUCT}: left out" in output


def test_store_events_join_the_training_run(env: str, dataset: Path) -> None:
    product = pl.read_parquet(dataset / "products.parquet")[C.product_id][0]
    record(env, feedback(dataset, product))
    code, output = train(dataset)
    assert code == 0, output
    assert "read 3 events from the event store" in output
    (run,) = runs()
    in_dataset = pl.read_parquet(dataset / "events.parquet").height
    assert run.data.metrics["rows_events"] == in_dataset + 3
