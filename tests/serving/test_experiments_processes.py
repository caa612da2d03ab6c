"""Experiments across two `recsys serve` processes on one store: a customer keeps one arm
whichever process answers (and after a restart), made and read with `recsys experiments`."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from typer.testing import CliRunner

from recsys_cli.main import app
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from tests.serving.processes import start_serve, wait_serving
from tests.serving.trained import Trained

FAST = {"RECSYS_EXPERIMENT_REFRESH_SECONDS": "0.3"}


def _tagged(stub: pb_grpc.RecommendationServiceStub, experiment_id: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = stub.Recommend(pb.RecommendRequest(customer_id="C-probe", channel="web"), timeout=10)
        if r.experiment_id == experiment_id:
            return
        time.sleep(0.1)
    raise AssertionError(f"the process never routed to {experiment_id}")


def test_arms_are_sticky_across_two_processes_and_a_restart(model: Trained, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    started = [start_serve(model, tmp_path, f"p{i}", url, **FAST) for i in range(2)]
    try:
        channels = [wait_serving(*s) for s in started]
        stubs = [pb_grpc.RecommendationServiceStub(c) for c in channels]
        address = f"127.0.0.1:{started[0][1]}"
        runner = CliRunner()
        made = runner.invoke(
            app,
            [
                "experiments",
                "create",
                "--server",
                address,
                "--name",
                "two",
                "--arm",
                "champion=0.5",
                "--arm",
                "control=0.5",
                "--json",
            ],
        )
        assert made.exit_code == 0, made.output
        experiment_id = json.loads(made.stdout)["id"]
        for stub in stubs:
            _tagged(stub, experiment_id)
        ids = [str(c) for c in model.loaded.engine.snapshot.customer_map.ids[:40]]
        arms = [
            {
                c: s.Recommend(pb.RecommendRequest(customer_id=c, channel="web"), timeout=10).arm
                for c in ids
            }
            for s in stubs
        ]
        assert arms[0] == arms[1] and set(arms[0].values()) == {"champion", "control"}
        # a restarted process assigns the same arms
        proc, _, log = started[1]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()[-3000:]
        channels[1].close()
        started[1] = start_serve(model, tmp_path, "p1-again", url, **FAST)
        again = pb_grpc.RecommendationServiceStub(wait_serving(*started[1]))
        _tagged(again, experiment_id)
        after = {
            c: again.Recommend(pb.RecommendRequest(customer_id=c, channel="web"), timeout=10).arm
            for c in ids
        }
        assert after == arms[0]
        time.sleep(1.0)  # the decision logs' writers flush every 0.2 s
        plot = tmp_path / "report.png"
        report = runner.invoke(
            app,
            [
                "experiments",
                "report",
                experiment_id,
                "--server",
                address,
                "--json",
                "--plot",
                str(plot),
            ],
        )
        assert report.exit_code == 0, report.output
        doc = json.loads(report.stdout)
        assigned = {a["arm"]: a["assigned"] for a in doc["arms"]}
        expected = {arm: sum(a == arm for a in arms[0].values()) for arm in ("champion", "control")}
        # + the probe customer, in one arm
        assert sum(assigned.values()) == len(ids) + 1
        assert all(assigned[a] >= expected[a] for a in expected)
        assert plot.stat().st_size > 1000
        shown = runner.invoke(app, ["experiments", "report", experiment_id, "--server", address])
        assert shown.exit_code == 0 and "sample ratio" in shown.stdout
    finally:
        for proc, _, _ in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
