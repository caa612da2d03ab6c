"""Experiments on a real server (port 0): sticky arms tagged in the answer and the decision
log, the control within the rules, the report over gRPC, SRM flagged by the test hook."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from recsys.experiments.assign import assign, cumulative
from recsys.stores.sql_decisions import open_decision_store
from recsys.stores.sql_events import open_event_store
from serving._proto.recsys.v1 import experiments_pb2 as xpb
from serving._proto.recsys.v1 import experiments_pb2_grpc as xpb_grpc
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from serving.models.holder import ModelHolder
from serving.transport.metrics import ServingMetrics
from serving.transport.server import Built, build
from tests.serving.trained import Trained

CHANNEL = "web"


@dataclass(frozen=True)
class Served:
    built: Built
    stub: pb_grpc.RecommendationServiceStub
    experiments: xpb_grpc.ExperimentServiceStub
    url: str
    metrics: ServingMetrics


def _serve(model: Trained, tmp_path: Path, **settings: object) -> Iterator[Served]:
    url = f"sqlite:///{tmp_path / 'recsys.db'}"
    s = model.settings.model_copy(
        update={"database_url": url, "experiment_refresh_seconds": 0.2, **settings}
    )
    store = open_event_store(url)
    holder = ModelHolder()
    holder.swap(model.loaded)
    metrics = ServingMetrics(s.channels, s.event_types)
    built = build(s, holder=holder, store=store, metrics=metrics)
    built.server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{built.port}")
    try:
        yield Served(
            built,
            pb_grpc.RecommendationServiceStub(channel),
            xpb_grpc.ExperimentServiceStub(channel),
            url,
            metrics,
        )
    finally:
        channel.close()
        built.server.stop(None).wait()
        if built.decision_log is not None:
            built.decision_log.close()
        if built.experiments is not None:
            built.experiments.stop()
        store.close()


@pytest.fixture
def served(model: Trained, tmp_path: Path) -> Iterator[Served]:
    """A server on its own store file: its experiments and decisions are this test's only."""
    yield from _serve(model, tmp_path)


def create(served: Served, name: str, arms: dict[str, float], **fields: object) -> xpb.Experiment:
    """An experiment made over gRPC, once the server routes requests to it."""
    request = xpb.CreateExperimentRequest(
        name=name, arms=[xpb.ArmShare(name=a, share=s) for a, s in arms.items()], **fields
    )
    made = served.experiments.Create(request, timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the book re-reads the store every 0.2 s
        if served.built.experiments.book.running:
            return made
        time.sleep(0.05)
    raise AssertionError("the server never picked the experiment up")


def customers(model: Trained, n: int) -> list[str]:
    """The first `n` customers of the served snapshot."""
    return [str(c) for c in model.loaded.engine.snapshot.customer_map.ids[:n]]


def test_arms_are_sticky_tagged_and_logged(served: Served, model: Trained) -> None:
    made = create(served, "sticky", {"champion": 0.5, "control": 0.5})
    ends = cumulative([0.5, 0.5])
    seen: dict[str, str] = {}
    for c in customers(model, 60):
        for _ in range(2):
            r = served.stub.Recommend(pb.RecommendRequest(customer_id=c, channel=CHANNEL))
            assert r.experiment_id == made.id
            assert seen.setdefault(c, r.arm) == r.arm  # the same arm on every visit
            assert r.arm == ("champion", "control")[assign(made.id, c, ends)]
            if r.arm == "control":
                assert r.model_version == f"control-popularity/{model.outcome.version}"
            else:
                assert r.model_version == str(model.outcome.version)
    assert set(seen.values()) == {"champion", "control"}
    # a batch answers each customer by their own arm's model
    ids = list(seen)[:20]
    batch = served.stub.RecommendBatch(pb.RecommendBatchRequest(customer_ids=ids, channel=CHANNEL))
    assert [r.customer_id for r in batch.results] == ids
    assert [r.arm for r in batch.results] == [seen[c] for c in ids]
    assert {r.experiment_id for r in batch.results} == {made.id}
    assert all(
        r.model_version.startswith("control-") == (r.arm == "control") for r in batch.results
    )
    # no channels given: every channel is in the experiment, and so is a customer the
    # snapshot does not know
    other = served.stub.Recommend(pb.RecommendRequest(customer_id="C-new", channel="mobile"))
    assert other.experiment_id == made.id
    served.built.decision_log.close()
    decisions = open_decision_store(served.url)
    for c, arm in list(seen.items())[:10]:
        logged = decisions.for_customer(c)
        single = [d for d in logged if d.latency_ms is not None]  # the batch's have none
        assert len(single) == 2 and all(d.latency_ms > 0 for d in single)
        assert {(d.experiment_id, d.arm) for d in logged} == {(made.id, arm)}
    decisions.close()
    samples = served.metrics.registry.get_sample_value(
        "recsys_experiment_answers_total", {"experiment": made.id, "arm": "control"}
    )
    assert samples == 2 * sum(a == "control" for a in seen.values()) + (other.arm == "control")


def test_the_report_counts_each_arm_and_one_experiment_a_channel(
    served: Served, model: Trained
) -> None:
    made = create(served, "report", {"champion": 1, "control": 1}, channels=[CHANNEL])
    arms = {}
    for c in customers(model, 80):
        arms[c] = served.stub.Recommend(pb.RecommendRequest(customer_id=c, channel=CHANNEL)).arm
    outside = served.stub.Recommend(pb.RecommendRequest(customer_id="C-x", channel="mobile"))
    assert outside.experiment_id == "" and outside.arm == ""
    with pytest.raises(grpc.RpcError) as taken:
        served.experiments.Create(
            xpb.CreateExperimentRequest(
                name="second",
                arms=[
                    xpb.ArmShare(name="champion", share=1),
                    xpb.ArmShare(name="control", share=1),
                ],
                channels=[CHANNEL, "mobile"],
            )
        )
    assert taken.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert made.id in taken.value.details()
    deadline = time.monotonic() + 10
    while served.built.decision_log.logged < len(arms) and time.monotonic() < deadline:
        time.sleep(0.05)
    report = served.experiments.Report(xpb.ExperimentRef(experiment_ref="report"))
    by_arm = {a.arm: a for a in report.arms}
    for arm in ("champion", "control"):
        assert by_arm[arm].assigned == sum(a == arm for a in arms.values())
        assert by_arm[arm].suitability_violations == 0
    assert not by_arm["champion"].HasField("lift") and by_arm["control"].HasField("lift")
    assert not report.srm.flagged
    # nobody bought: the relative lift is undefined, so unset (not a 0% that reads as a result)
    assert not by_arm["control"].lift.HasField("relative")
    assert by_arm["control"].lift.HasField("ci_low")  # both arms have customers
    # what Conclude would say, on the report itself (the console shows it)
    assert list(report.promotion_problems) == ["the experiment has no challenger arm"]
    stopped = served.experiments.Stop(xpb.ExperimentRef(experiment_ref=made.id))
    assert stopped.status == "stopped"
    deadline = time.monotonic() + 10
    while served.built.experiments.book.running and time.monotonic() < deadline:
        time.sleep(0.05)
    after = served.stub.Recommend(pb.RecommendRequest(customer_id="C-y", channel=CHANNEL))
    assert after.arm == ""
    history = served.experiments.Get(xpb.ExperimentRef(experiment_ref=made.id)).history
    assert [h.action for h in history] == ["create", "stop"]


def test_a_bad_experiment_gets_every_problem_at_once(served: Served) -> None:
    request = xpb.CreateExperimentRequest(
        name="",
        arms=[xpb.ArmShare(name="winner", share=-1)],
        channels=["fax"],
        control_policy="coin",
    )
    with pytest.raises(grpc.RpcError) as bad:
        served.experiments.Create(request)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    lines = bad.value.details().splitlines()
    for start in (
        "name:",
        "arms: unknown arm 'winner'",
        "arms: arm 'winner': share",
        "arms: needs a champion",
        "channels: unknown channel 'fax'",
        "control_policy:",
    ):
        assert any(line.startswith(start) for line in lines), (start, lines)


def test_a_skewed_assignment_is_flagged_as_srm(model: Trained, tmp_path: Path) -> None:
    # the test-only hook pushes customers towards the first arm: 71/29 for a 50/50 split
    for served in _serve(model, tmp_path, experiment_test_skew=0.3):
        create(served, "skewed", {"champion": 0.5, "control": 0.5})
        ids = customers(model, 400)
        for c in ids:
            served.stub.Recommend(pb.RecommendRequest(customer_id=c, channel=CHANNEL))
        deadline = time.monotonic() + 10
        while served.built.decision_log.logged < len(ids) and time.monotonic() < deadline:
            time.sleep(0.05)
        report = served.experiments.Report(xpb.ExperimentRef(experiment_ref="skewed"))
        assert report.srm.flagged and report.srm.p_value < 0.001
        counts = {a.arm: a.assigned for a in report.arms}
        assert counts["champion"] > counts["control"]
