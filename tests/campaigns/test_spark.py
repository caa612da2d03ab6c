"""The Spark paths on local Spark (`local[2]`, one session for the module): a campaign's file
equals the single-machine path's, and the interaction weights equal polars'."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from batch.campaign import Stores, run_campaign
from batch.files import read_contacts
from batch.scoring import Campaign
from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.idmap import IdMap
from recsys.data.interactions import build_interactions, interaction_weights
from recsys.engine.engine import Engine
from recsys.settings import Settings
from recsys.stores.base import StoredEvent
from recsys.stores.sql_contacts import ContactItem, Message, open_contact_store
from recsys.stores.sql_decisions import open_decision_store
from recsys.stores.sql_events import open_event_store

pyspark = pytest.importorskip("pyspark")


@pytest.fixture(scope="module")
def spark() -> Iterator:
    from batch.spark_session import spark_session

    session = spark_session("local[2]", "recsys-tests")
    yield session
    session.stop()


def _stores(url: str, engine: Engine, at: datetime, settings: Settings) -> Stores:
    """A store with the same history each time: earlier emails, a reject, a purchase."""
    made = Stores(open_contact_store(url), open_event_store(url), None, open_decision_store(url))
    ids = engine.snapshot.customer_map.ids.tolist()
    made.contacts.reserve(
        campaign="old",
        run_id="old",
        channel="email",
        messages=[Message(c, f"old-{c}", (ContactItem("X", 1),)) for c in ids[:30]],
        policy=settings.contact_policy,
        now=at - timedelta(days=3),
    )
    product = engine.snapshot.product_map.ids.tolist()
    made.events.append(
        [
            StoredEvent(ids[40 + i], product[i % len(product)], kind, at - timedelta(hours=2))
            for i, kind in enumerate(["reject", "purchase", "click", "impression"] * 5)
        ]
    )
    return made


def test_the_spark_campaign_equals_the_local_one(
    spark, engine: Engine, settings: Settings, as_of: datetime, tmp_path: Path
) -> None:
    from batch.spark_campaign import run_campaign_spark

    small = settings.model_copy(update={"campaign_chunk_size": 300})  # several batches
    at = as_of + timedelta(hours=1)
    campaign = Campaign("spring", "run1", "email", 2, at)
    results = {}
    for name in ("local", "spark"):
        stores = _stores(f"sqlite:///{tmp_path / name}.db", engine, at, small)
        out = tmp_path / f"{name}.parquet"
        if name == "local":
            results[name] = run_campaign(engine, campaign, small, stores, out, model_version="3")
        else:
            results[name] = run_campaign_spark(
                spark, engine, campaign, small, stores, out, model_version="3"
            )
        results[name + "-logged"] = stores.decisions.count()
        results[name + "-contacts"] = stores.contacts.count("spring")
    local, remote = (
        read_contacts(tmp_path / "local.parquet"),
        read_contacts(tmp_path / "spark.parquet"),
    )
    assert local.height > 100 and local["rank"].max() == 2
    assert remote.equals(local)
    assert results["spark"].tally.rows() == results["local"].tally.rows()
    assert results["spark-logged"] == results["local-logged"] == local["request_id"].n_unique()
    assert results["spark-contacts"] == results["local-contacts"] == local.height


def test_spark_interaction_weights_equal_polars(
    spark, bank: BankData, as_of: datetime, settings: Settings, tmp_path: Path
) -> None:
    from batch.spark_prepare import spark_interaction_weights

    path = tmp_path / "events.parquet"
    bank.events.write_parquet(path)
    w = settings.weights
    options = {
        "weights": w.as_dict(),
        "half_life_days": w.half_life_days,
        "as_of": as_of - timedelta(days=30),
    }
    expected = interaction_weights(bank.events, **options)
    got = pl.from_arrow(spark_interaction_weights(spark, str(path), **options).toArrow())
    assert got.select(C.customer_id, C.product_id).equals(
        expected.select(C.customer_id, C.product_id)
    )
    np.testing.assert_allclose(got[C.weight].to_numpy(), expected[C.weight].to_numpy(), rtol=1e-12)
    # and they are the matrix training builds
    customers, products = (
        IdMap.from_values(bank.customers[C.customer_id]),
        IdMap.from_values(bank.products[C.product_id]),
    )
    matrix = build_interactions(
        bank.events, customers=customers, products=products, **options
    ).matrix
    rows = customers.to_internal(got[C.customer_id].to_list())
    cols = products.to_internal(got[C.product_id].to_list())
    np.testing.assert_allclose(
        np.asarray(matrix[rows, cols]).ravel(), got[C.weight].to_numpy(), rtol=1e-6
    )
    assert matrix.nnz == got.height
