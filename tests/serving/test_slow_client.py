"""The slow-client attack of issue 22 part 1, scaled to 1,000 streams, on a real `recsys serve`.

One HTTP/2 connection with a receive window of 0 sends 1,000 RecommendBatch calls (300 ids,
k=50) and never reads. The worker must stay within +20% of its RSS before the attack, answer
other clients all the while, refuse what it cannot hold with a status clients retry, and take
batch calls again once the slow connection is gone.
"""

from __future__ import annotations

import time
from pathlib import Path

import grpc

from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from tests.serving.h2_raw import SlowClient
from tests.serving.processes import start_serve, wait_serving
from tests.serving.trained import Trained

N_STREAMS = 1000
PATH = "/recsys.v1.RecommendationService/RecommendBatch"
MAX_GROWTH = 1.20


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def wait_until(condition, timeout_s: float) -> bool:  # noqa: ANN001 - a predicate
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_a_slow_reader_neither_grows_the_worker_nor_starves_others(
    model: Trained, tmp_path: Path
) -> None:
    proc, port, log = start_serve(model, tmp_path, "slow")
    try:
        channel = wait_serving(proc, port, log)
        stub = pb_grpc.RecommendationServiceStub(channel)
        ids = [str(c) for c in model.loaded.engine.snapshot.customer_map.ids[:300]]
        batch = pb.RecommendBatchRequest(customer_ids=ids, channel="call_center", k=50)
        for _ in range(5):  # what serving batches allocates anyway, before the attack
            assert len(stub.RecommendBatch(batch, timeout=60).results) == 300
        before = rss_mb(proc.pid)

        attacker = SlowClient("127.0.0.1", port)
        message = batch.SerializeToString()
        for _ in range(N_STREAMS):
            attacker.call(PATH, message)
        seen = attacker.tally
        # every stream either waits with its headers sent, or has ended (refused or reset)
        assert wait_until(lambda: len(seen.headers | seen.ended) >= N_STREAMS, 120), (
            f"{len(seen.headers | seen.ended)} of {N_STREAMS} streams answered"
        )
        during = [
            stub.Recommend(pb.RecommendRequest(customer_id=c, channel="web"), timeout=10)
            for c in ids[:20]
        ]
        assert all(r.items for r in during), "other clients are still answered"
        after = rss_mb(proc.pid)
        waiting = len(seen.headers - seen.ended)
        assert after <= before * MAX_GROWTH, (
            f"RSS {before:.0f} -> {after:.0f} MB with {waiting} answers waiting"
        )
        assert len(seen.ended) >= N_STREAMS - 100, "the server refused what it cannot hold"
        assert seen.data_bytes == 0  # the window stayed shut: nothing was read

        attacker.close()

        # the slow connection's answers are released: batches are taken again
        def batch_answered() -> bool:
            try:
                return len(stub.RecommendBatch(batch, timeout=30).results) == 300
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, exc
                return False

        assert wait_until(batch_answered, 30)
        channel.close()
        # the answers the gone client never read: one INFO line each, no ERROR traceback
        lines = log.read_text().splitlines()
        assert not [line for line in lines if '"level": "ERROR"' in line]
        assert any("client disconnected before its answer was sent" in line for line in lines)
    finally:
        proc.kill()
        proc.wait()
        print(log.read_text()[-2000:])
