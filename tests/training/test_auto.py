"""`recsys train --model auto`: the protocol per data shape, and a choice blind to the holdout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.dataset import BankData
from recsys.data.generate import generate
from recsys.data.write import write_dataset
from recsys.settings import Settings
from recsys_cli.train_auto import parse_budget
from training.auto import data_half_life, run_auto
from training.config import TrainConfig
from training.protocol import choose_protocol, data_shape

from .trained import fresh_sqlite_store

FAMILIES = ("popularity", "transition", "itemknn")
MIN_CUSTOMERS = 100


def events(rows: list[tuple[str, str, datetime]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            C.customer_id: [r[0] for r in rows],
            C.product_id: [r[1] for r in rows],
            C.event: [Events.purchase] * len(rows),
            C.timestamp: [r[2] for r in rows],
        }
    )


def day(n: int) -> datetime:
    return datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=n)


def test_the_data_shape_is_read_from_the_purchase_dates() -> None:
    one_date = events([(f"c{i}", p, day(i)) for i in range(50) for p in ("a", "b")])
    assert data_shape(one_date) == "snapshot"
    months = events(
        [(f"c{i}", p, day(31 * m)) for i in range(20) for m, p in enumerate("abcdefghijkl")]
    )
    assert data_shape(months) == "monthly"
    daily = events([(f"c{i}", p, day(i + 3 * j)) for i in range(60) for j, p in enumerate("abc")])
    assert data_shape(daily) == "timestamped"


def test_budgets_and_half_lives() -> None:
    assert parse_budget("15m") == 900 and parse_budget("90s") == 90 and parse_budget("2") == 2
    with pytest.raises(ValueError, match="--budget"):
        parse_budget("soon")
    gaps = events([("c1", "a", day(0)), ("c1", "b", day(20)), ("c2", "a", day(0))])
    assert data_half_life(gaps, 365.0) == 20.0
    assert data_half_life(gaps.head(1), 365.0) == 365.0  # no gap: the default


def holdout_cutoff(data: BankData) -> datetime:
    protocol = choose_protocol(data, 0, MIN_CUSTOMERS)
    assert protocol.kind == "next_period", protocol.statement
    return protocol.holdout[0].cutoff


@pytest.fixture(scope="module")
def bank() -> BankData:
    """A generated bank without closes in the holdout period (a shuffled purchase could
    leave a close with nothing to close)."""
    data = generate(1500, seed=3)
    late_close = (pl.col(C.timestamp) >= holdout_cutoff(data)) & (pl.col(C.event) == Events.close)
    return BankData(data.customers, data.products, data.events.filter(~late_close))


def shuffled_holdout(data: BankData) -> BankData:
    """The same data with the products of the holdout period's purchases permuted."""
    cutoff = holdout_cutoff(data)
    ev = data.events
    inside = (pl.col(C.timestamp) >= cutoff) & (pl.col(C.event) == Events.purchase)
    picked = ev.filter(inside)
    permuted = np.random.default_rng(0).permutation(picked[C.product_id].to_numpy())
    shuffled = picked.with_columns(pl.Series(C.product_id, permuted))
    return BankData(data.customers, data.products, pl.concat([ev.filter(~inside), shuffled]))


def test_the_choice_is_the_same_when_the_holdout_labels_are_shuffled(
    bank: BankData, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path / "home"
    uri = fresh_sqlite_store(tmp_path_factory.getbasetemp(), home / "mlflow.db")
    settings = Settings(home=home, mlflow_tracking_uri=uri)
    config = TrainConfig.model_validate({"split": {"min_holdout_customers": MIN_CUSTOMERS}})
    outcomes = []
    for name, data in (("real", bank), ("shuffled", shuffled_holdout(bank))):
        folder = write_dataset(data, tmp_path / name, fmt="parquet")
        outcomes.append(
            run_auto(folder, config, settings, budget_s=600, families=FAMILIES, max_trials=3)
        )
    real, shuffled = outcomes
    # the same protocol (its customer count is the labels': held products leave the truth)
    assert "next-period" in real.protocol
    assert real.protocol.split("(")[0] == shuffled.protocol.split("(")[0]
    assert (real.family, real.params) == (shuffled.family, shuffled.params)
    val = "validation_ndcg_at_5"
    assert real.table[val].to_list() == shuffled.table[val].to_list()
    # the holdout did change: its figures are the shuffled labels'
    assert (
        real.table["holdout_ndcg_at_5"].to_list() != shuffled.table["holdout_ndcg_at_5"].to_list()
    )
    # every family and the baselines are in the table, with the trials each got
    names = real.table["candidate"].to_list()
    assert set(FAMILIES) <= set(names) and "baseline popularity_recent" in names
    assert real.table.filter(pl.col("candidate") == "itemknn")["trials"].item() <= 3
    assert real.train.strongest in real.train.baselines
