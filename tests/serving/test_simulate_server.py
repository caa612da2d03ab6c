"""`recsys simulate` against a real `recsys serve` process: every event lands in the store, and
what a simulated customer bought is held: the server stops suggesting it."""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.generate.catalog import build_catalog
from recsys.data.generate.generator import generate_with_truth
from recsys.data.generate.truth import write_truth
from recsys.data.write import write_dataset
from recsys.stores.sql_events import open_event_store
from recsys_cli.main import app
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from tests.serving.processes import start_serve, wait_serving
from tests.serving.trained import N_CUSTOMERS, SEED, Trained

VISITS = 400


def test_simulated_visits_reach_the_store_and_purchases_become_holdings(
    model: Trained, tmp_path: Path
) -> None:
    # the served model's own bank, now with its ground truth beside it
    data, truth = generate_with_truth(N_CUSTOMERS, SEED)
    bank = write_dataset(data, tmp_path / "bank")
    write_truth(truth, bank)
    url = f"sqlite:///{tmp_path / 'simulated.db'}"  # not the session store: many customers
    proc, port, log = start_serve(model, tmp_path, "sim", url)
    try:
        channel = wait_serving(proc, port, log)
        args = ["simulate", "--data", str(bank), "--server", f"127.0.0.1:{port}"]
        args += ["--visits", str(VISITS), "--seed", "5", "--batch", "50", "--json"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        [arm] = summary["arms"]
        assert arm["visits"] == VISITS and arm["model_versions"] == [str(model.outcome.version)]
        stored = open_event_store(url).export()
        counts = Counter(stored[C.event].to_list())
        assert counts[Events.impression] == arm["impressions"] > 0
        assert counts[Events.click] == arm["clicks"] > 0
        assert counts[Events.purchase] == arm["purchases"] > 0
        assert sum(counts.values()) == summary["events"]
        _bought_products_are_no_longer_suggested(pb_grpc.RecommendationServiceStub(channel),
                                                 stored)
        channel.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _bought_products_are_no_longer_suggested(
    stub: pb_grpc.RecommendationServiceStub, stored: pl.DataFrame
) -> None:
    catalog = build_catalog()
    once = set(catalog.ids[~catalog.repeatable].tolist())
    bought = stored.filter(
        (pl.col(C.event) == Events.purchase) & pl.col(C.product_id).is_in(list(once))
    )
    assert bought.height > 0
    for customer, product, chan in bought.select(C.customer_id, C.product_id, C.channel).rows():
        request = pb.RecommendRequest(customer_id=customer, channel=chan, k=10)
        shown = {i.product_id for i in stub.Recommend(request, timeout=10).items}
        assert product not in shown, (customer, product)
