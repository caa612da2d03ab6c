"""End to end: Recommend on a real server (port 0) -> decisions table -> `recsys audit`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
import pytest
from typer.testing import CliRunner

from recsys.columns import Columns as C
from recsys.stores.sql_decisions import open_decision_store
from recsys.stores.sql_events import open_event_store
from recsys_cli.main import app
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from serving.models.holder import ModelHolder
from serving.transport.metrics import ServingMetrics
from serving.transport.server import Built, build
from tests.serving.trained import Trained


@dataclass(frozen=True)
class Served:
    built: Built
    stub: pb_grpc.RecommendationServiceStub
    url: str
    metrics: ServingMetrics


@pytest.fixture
def served(model: Trained, tmp_path: Path) -> Iterator[Served]:
    """A server on its own store file, so the decisions there are this test's only."""
    url = f"sqlite:///{tmp_path / 'recsys.db'}"
    settings = model.settings.model_copy(update={"database_url": url})
    store = open_event_store(url)
    holder = ModelHolder()
    holder.swap(model.loaded)
    metrics = ServingMetrics(settings.channels, settings.event_types)
    built = build(settings, holder=holder, store=store, metrics=metrics)
    built.server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{built.port}")
    try:
        yield Served(built, pb_grpc.RecommendationServiceStub(channel), url, metrics)
    finally:
        channel.close()
        built.server.stop(None).wait()
        if built.decision_log is not None:
            built.decision_log.close()
        store.close()


def holder_of_a_product(model: Trained) -> tuple[str, set[str]]:
    """A customer holding non-repeatable products, and those products (the held rule's)."""
    snap = model.loaded.engine.snapshot
    repeatable = snap.products[C.repeatable].to_numpy()
    held = snap.held.tocsr()
    for row in range(held.shape[0]):
        cols = held.indices[held.indptr[row] : held.indptr[row + 1]]
        qty = held.data[held.indptr[row] : held.indptr[row + 1]]
        blocked = cols[(qty > 0) & ~repeatable[cols]]
        if len(blocked):
            ids = np.asarray(snap.product_map.ids)
            return str(snap.customer_map.ids[row]), {str(p) for p in ids[blocked]}
    raise AssertionError("the generated bank has no customer holding a product")


def test_every_answer_is_logged_and_audit_shows_it(
    served: Served, model: Trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer, held = holder_of_a_product(model)
    excluded = str(model.loaded.engine.snapshot.product_map.ids[0])
    first = served.stub.Recommend(
        pb.RecommendRequest(
            customer_id=customer,
            channel="mobile",
            request_id="audit-1",
            exclude_product_ids=[excluded],
        )
    )
    atm = served.stub.Recommend(
        pb.RecommendRequest(customer_id=customer, channel="atm", request_id="audit-2")
    )
    batch = served.stub.RecommendBatch(
        pb.RecommendBatchRequest(
            customer_ids=[customer, "NEW-audit"], channel="web", request_id="audit-3"
        )
    )
    served.built.server.stop(5).wait()
    assert served.built.decision_log is not None and served.built.decision_log.close(5)
    assert served.metrics.value("recsys_decisions_logged_total") == 4

    reader = open_decision_store(served.url)
    rows = reader.for_customer(customer)
    assert [d.request_id for d in rows] == ["audit-3", "audit-2", "audit-1"]
    assert [d.channel for d in rows] == ["web", "atm", "mobile"]
    assert {d.model_version for d in rows} == {first.model_version}
    for row, answer in zip(rows, [batch.results[0], atm, first], strict=True):
        assert row.items == [
            {
                "rank": i.rank,
                "product_id": i.product_id,
                "name": i.name,
                "score": pytest.approx(i.score),
                "reasons": [{"code": r.code, "text": r.text} for r in i.reasons],
                "offer_id": i.offer_id or None,
                # a calibrated bundle's items carry their value too (recsys.ranking)
                **(
                    {
                        "probability": pytest.approx(i.probability),
                        "value": pytest.approx(i.value),
                        "lever": pytest.approx(i.lever),
                    }
                    if "probability" in row.items[0]
                    else {}
                ),
            }
            for i in answer.items
        ]
        assert set(row.removed["held"]) == held
        shown = {i["product_id"] for i in row.items}
        assert not shown & {p for ids in row.removed.values() for p in ids}
    assert rows[2].removed["excluded"] == [excluded]
    atm_excluded = set(model.settings.channels["atm"].excluded_categories)
    products = model.loaded.engine.snapshot.products
    categories = dict(zip(products[C.product_id], products[C.category], strict=True))
    assert rows[1].removed["category"]
    assert {categories[p] for p in rows[1].removed["category"]} <= atm_excluded
    assert [d.request_id for d in reader.for_customer("NEW-audit")] == ["audit-3"]
    reader.close()

    monkeypatch.setenv("RECSYS_DATABASE_URL", served.url)
    runner = CliRunner()
    shown = runner.invoke(app, ["audit", customer], terminal_width=250)
    assert shown.exit_code == 0, shown.output
    for text in ("audit-1", "audit-2", "audit-3", "held", "excluded", first.items[0].product_id):
        assert text in shown.output
    assert f"3 decision(s) for customer '{customer}'" in shown.output

    as_json = runner.invoke(app, ["audit", customer, "--json", "--limit", "2"])
    assert as_json.exit_code == 0, as_json.output
    assert [d["request_id"] for d in json.loads(as_json.output)] == ["audit-3", "audit-2"]

    later = runner.invoke(app, ["audit", "--since", "2999-01-01", customer])
    assert later.exit_code == 1 and "no decisions logged" in later.output

    purged = runner.invoke(app, ["audit", "purge", "--older-than-days", "0"])
    assert purged.exit_code == 0, purged.output
    assert "purged 4 decision(s)" in purged.output


def test_a_cache_hit_is_logged_as_the_answer_worked_out(served: Served, model: Trained) -> None:
    """A repeated Recommend is answered from the answer cache; its decision row holds the
    same items and removals as the row of the answer worked out (a batch call's, rendered
    by the writer), under its own request id."""
    customer, _ = holder_of_a_product(model)
    hits = ("recsys_answer_cache_lookups_total", {"result": "hit"})
    before = served.metrics.value(*hits)
    ask = {"customer_id": customer, "channel": "branch", "k": 4}
    batch = served.stub.RecommendBatch(
        pb.RecommendBatchRequest(customer_ids=[customer], channel="branch", k=4, request_id="b")
    )
    first = served.stub.Recommend(pb.RecommendRequest(request_id="first", **ask))
    again = served.stub.Recommend(pb.RecommendRequest(request_id="again", **ask))
    assert served.metrics.value(*hits) == before + 1, "the second ask is a hit"
    assert list(again.items) == list(first.items) == list(batch.results[0].items)
    served.built.server.stop(5).wait()
    assert served.built.decision_log is not None and served.built.decision_log.close(5)
    reader = open_decision_store(served.url)
    rows = reader.for_customer(customer)
    reader.close()
    assert [d.request_id for d in rows] == ["again", "first", "b"]
    assert rows[0].items == rows[1].items == rows[2].items and rows[0].items
    assert rows[0].removed == rows[1].removed == rows[2].removed and rows[0].removed["held"]
    assert {(d.customer_id, d.channel, d.model_version) for d in rows} == {
        (customer, "branch", first.model_version)
    }


def test_an_unknown_customer_is_said_so_on_the_wire_in_the_log_and_in_audit(
    served: Served, model: Trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recommend (worked out, then a cache hit) and RecommendBatch flag the customer the
    model does not know; the decision log keeps it, `recsys audit` shows it."""
    known, _ = holder_of_a_product(model)
    hits = ("recsys_answer_cache_lookups_total", {"result": "hit"})
    before = served.metrics.value(*hits)
    ask = {"customer_id": "NEW-unknown", "channel": "web"}
    first = served.stub.Recommend(pb.RecommendRequest(request_id="u-1", **ask))
    again = served.stub.Recommend(pb.RecommendRequest(request_id="u-2", **ask))
    assert served.metrics.value(*hits) == before + 1, "the second ask is a hit"
    mine = served.stub.Recommend(pb.RecommendRequest(customer_id=known, channel="web"))
    batch = served.stub.RecommendBatch(
        pb.RecommendBatchRequest(customer_ids=[known, "NEW-unknown"], channel="web")
    )
    assert first.unknown_customer and again.unknown_customer and first.items
    assert again.SerializeToString() != b"" and list(again.items) == list(first.items)
    assert not mine.unknown_customer
    assert [r.unknown_customer for r in batch.results] == [False, True]
    served.built.server.stop(5).wait()
    assert served.built.decision_log is not None and served.built.decision_log.close(5)
    reader = open_decision_store(served.url)
    assert [d.known for d in reader.for_customer("NEW-unknown")] == [False, False, False]
    assert {d.known for d in reader.for_customer(known)} == {True}
    reader.close()

    monkeypatch.setenv("RECSYS_DATABASE_URL", served.url)
    runner = CliRunner()
    shown = runner.invoke(app, ["audit", "NEW-unknown"], terminal_width=250)
    assert shown.exit_code == 0 and "unknown customer" in shown.output, shown.output
    as_json = runner.invoke(app, ["audit", "NEW-unknown", "--json"])
    assert [d["known"] for d in json.loads(as_json.output)] == [False, False, False]
    nobody = runner.invoke(app, ["audit", "NOBODY"])
    assert nobody.exit_code == 1 and "no decisions logged for customer 'NOBODY'" in nobody.output
