"""`recsys campaign run` as its own process beside a real gRPC server sharing the store: a
customer shown the offer on mobile today is not emailed it within the policy window, the
others in its target are; `recsys campaign stats` counts the contacts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from batch.files import read_contacts
from recsys.offers.model import Action, FrequencyCap, Offer, Status, Target
from recsys.stores.sql_offers import open_offer_store
from recsys_cli.main import app
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from tests.serving.conftest import Running, model, offers_running  # noqa: F401 - fixtures
from tests.serving.processes import ROOT
from tests.serving.test_offers_processes import _eligible_customers
from tests.serving.trained import Trained

REFRESH_WITHIN_S = 15.0


def _offered(running: Running, customer: str, offer_id: str) -> bool:
    reply = running.stub.Recommend(
        pb.RecommendRequest(customer_id=customer, channel="mobile"), timeout=10
    )
    return any(i.offer_id == offer_id for i in reply.items)


def test_shown_on_mobile_today_is_not_emailed_it(
    offers_running: Running,  # noqa: F811
    model: Trained,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = model.loaded.engine
    cat = engine.catalog
    ok = (cat.risk_rating <= 1) & (cat.min_age <= 18) & ~cat.repeatable
    ok &= cat.sold_in[:, cat.channel_index("mobile")]
    product = str(engine.snapshot.product_map.ids[int(np.flatnonzero(ok)[0])])
    segment = engine.snapshot.customers["segment"].drop_nulls().mode()[0]
    customers = _eligible_customers(model, product, segment)
    assert len(customers) >= 4
    store = open_offer_store(offers_running.database_url)
    now = datetime.now(UTC)
    offer = store.create(
        Offer(
            name="spring card",
            product_id=product,
            start_at=now - timedelta(hours=1),
            end_at=now + timedelta(days=30),
            action=Action.pin,
            pin=1,
            channels=("mobile", "email"),
            target=Target(segments=(segment,)),
            cap=FrequencyCap(1, 7),
        ),
        "tester",
    )
    store.set_status(offer.id, Status.active, "tester")
    store.close()
    shown = customers[0]
    deadline = time.monotonic() + REFRESH_WITHIN_S
    while not _offered(offers_running, shown, offer.id):
        assert time.monotonic() < deadline, "the server never placed the offer"
        time.sleep(0.25)

    out = tmp_path / "spring.parquet"
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "MLFLOW_TRACKING_URI": model.settings.resolved_tracking_uri,
        "RECSYS_DATABASE_URL": offers_running.database_url,
        "RECSYS_HOME": str(tmp_path / "home"),
    }
    command = [
        sys.executable,
        "-m",
        "recsys_cli.main",
        "campaign",
        "run",
        "--name",
        "spring",
        "--channel",
        "email",
        "--offer",
        offer.id,
        "--out",
        str(out),
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reached" in done.stdout and "blocked by rule: consent" in done.stdout
    sent = read_contacts(out)
    assert shown not in sent["customer_id"].to_list()
    assert set(customers[1:]) <= set(sent["customer_id"]), "the others in its target"
    assert set(sent["offer_id"]) == {offer.id} and set(sent["product_id"]) == {product}

    monkeypatch.setenv("RECSYS_DATABASE_URL", offers_running.database_url)
    stats = CliRunner().invoke(app, ["campaign", "stats", "spring"])
    assert stats.exit_code == 0, stats.output
    assert f"│ email   │ {sent.height:>9}" in stats.output or str(sent.height) in stats.output
    missing = CliRunner().invoke(app, ["campaign", "stats", "nothing"])
    assert missing.exit_code == 1 and "no contacts" in missing.output
