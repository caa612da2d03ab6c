"""`recsys customers erase|prune`: erased in the store, left out of the next training."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import sqlalchemy as sa
from typer.testing import CliRunner

from recsys.columns import Columns as C
from recsys.stores.base import StoredEvent
from recsys.stores.tables import events as events_table
from recsys_cli.main import app
from tests.recsys_cli import test_train_events_from_store as from_store
from tests.recsys_cli.test_train_events_from_store import feedback, record, runs, train

# the training tests' fixtures: fresh MLflow and event stores, and a generated dataset
env = from_store.env
dataset = from_store.dataset

runner = CliRunner()


def _stored(url: str, customer: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        where = events_table.c[C.customer_id] == customer
        n = conn.execute(sa.select(sa.func.count()).where(where)).scalar_one()
    engine.dispose()
    return n


def test_erase_needs_yes(env: str) -> None:
    result = runner.invoke(app, ["customers", "erase", "C1"])
    assert result.exit_code == 2
    assert "--yes" in result.output


def test_erase_removes_the_store_rows_and_the_next_training_leaves_the_customer_out(
    env: str, dataset: Path
) -> None:
    product = pl.read_parquet(dataset / "products.parquet")[C.product_id][0]
    stored = feedback(dataset, product)
    record(env, stored)
    gone, kept = stored[0].customer_id, stored[1].customer_id
    result = runner.invoke(app, ["customers", "erase", gone, "--yes", "--actor", "dpo"])
    assert result.exit_code == 0, result.output
    assert "events 1" in result.output and "no registered model versions" in result.output
    assert _stored(env, gone) == 0 and _stored(env, kept) == 1
    again = runner.invoke(app, ["customers", "erase", gone, "--yes"])
    assert again.exit_code == 0 and "erased before: nothing was left" in again.output
    code, output = train(dataset)
    assert code == 0, output
    (run,) = runs()
    customers = pl.read_parquet(dataset / "customers.parquet").height
    assert run.data.metrics["rows_customers"] == customers - 1
    in_dataset = pl.read_parquet(dataset / "events.parquet")
    theirs = in_dataset.filter(pl.col(C.customer_id) == gone).height
    assert run.data.metrics["rows_events"] == in_dataset.height - theirs + 2  # the others' views


def test_prune_keeps_events_by_default_and_removes_old_ones_when_asked(env: str) -> None:
    now = datetime.now(UTC)
    record(
        env,
        [StoredEvent(f"C{i}", "P1", "view", now - timedelta(days=400 - i), "web") for i in range(3)]
        + [StoredEvent("C9", "P1", "view", now, "web")],
    )
    keep = runner.invoke(app, ["customers", "prune"])
    assert keep.exit_code == 0 and "events: kept forever" in keep.output
    cut = runner.invoke(app, ["customers", "prune", "--events-days", "365"])
    assert cut.exit_code == 0, cut.output
    assert "events: 3 older than 365 days removed" in cut.output
    assert _stored(env, "C9") == 1
    assert runner.invoke(app, ["customers", "prune", "--events-days", "-1"]).exit_code == 2
