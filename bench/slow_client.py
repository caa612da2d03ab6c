"""The slow-client attack of issue 22 part 1 against `recsys serve`, with its figures.

    python bench/slow_client.py [--streams 1000] [--customers 5000] [--workers 2] [--ids 300]

One HTTP/2 connection with a receive window of 0 (tests/serving/h2_raw.py) sends --streams
RecommendBatch calls (--ids customers, k=50) and never reads. Meanwhile another client keeps
calling Recommend. Printed: every worker's RSS before, during and after the attack (the one
the connection landed on grows, if any does), what became of the streams (waiting with their
answer computed, refused with RESOURCE_EXHAUSTED or reset by the transport), the other
client's answers and failures, and whether batches are answered again after the connection
closes. Target (the issue): the worker's RSS within +20% of its start; others answered.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from serve_model import BENCH_HOME, ensure_model  # noqa: E402
from serve_servers import recsys_serve  # noqa: E402
from tables import say  # noqa: E402

PATH = "/recsys.v1.RecommendationService/RecommendBatch"


def main() -> None:
    """Serve, warm up, attack, measure; exit 1 when the RSS target is missed."""
    import grpc

    from serving._proto.recsys.v1 import recommendation_pb2 as pb
    from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
    from tests.serving.h2_raw import SlowClient

    args = _parse()
    model = ensure_model(args.customers, "itemknn")
    ids = model.customer_ids(args.ids)
    out = BENCH_HOME / "slow-client"
    out.mkdir(parents=True, exist_ok=True)
    with recsys_serve(model.env(), args.workers, out / "logs") as server:
        channel = grpc.insecure_channel(server.address)
        stub = pb_grpc.RecommendationServiceStub(channel)
        batch = pb.RecommendBatchRequest(customer_ids=ids, channel="call_center", k=50)
        for _ in range(10):  # every worker's ordinary allocations, before the attack
            stub.RecommendBatch(batch, timeout=60)
        _, before = server.rss_bytes()
        host, port = server.address.split(":")
        attacker = SlowClient(host, int(port))
        probe = _Probe(stub, ids)
        probe.start()
        started = time.perf_counter()
        message = batch.SerializeToString()
        for _ in range(args.streams):
            attacker.call(PATH, message)
        seen = attacker.tally
        while len(seen.headers | seen.ended) < args.streams and time.perf_counter() - started < 120:
            time.sleep(0.2)
        settled_s = time.perf_counter() - started
        time.sleep(2.0)
        _, during = server.rss_bytes()
        probe.stop()
        attacker.close()
        again = _batch_again(stub, batch)
        _, after = server.rss_bytes()
        channel.close()
    growth = max((d / b for b, d in zip(before, during, strict=True)), default=1.0)
    figures = {
        "streams": args.streams,
        "workers": args.workers,
        "rss_mb_before": [round(b / 2**20) for b in before],
        "rss_mb_during": [round(d / 2**20) for d in during],
        "rss_mb_after_close": [round(a / 2**20) for a in after],
        "max_growth": round(growth, 3),
        "waiting": len(seen.headers - seen.ended),
        "ended": len(seen.ended - seen.reset),
        "reset": len(seen.reset),
        "settled_s": round(settled_s, 1),
        "others_answered": probe.ok,
        "others_failed": probe.failed,
        "batch_again_s": again,
    }
    say(json.dumps(figures))
    (out / "summary.json").write_text(json.dumps(figures, indent=2))
    target = growth <= 1.2 and probe.failed == 0 and probe.ok > 0 and again is not None
    say("PASS" if target else "MISS")
    sys.exit(0 if target else 1)


class _Probe:
    """Another client calling Recommend in a loop while the attack runs."""

    def __init__(self, stub: object, ids: list[str]) -> None:
        self.stub, self.ids = stub, ids
        self.ok = self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import grpc

        from serving._proto.recsys.v1 import recommendation_pb2 as pb

        i = 0
        while not self._stop.is_set():
            request = pb.RecommendRequest(customer_id=self.ids[i % len(self.ids)], channel="web")
            try:
                self.stub.Recommend(request, timeout=5)  # type: ignore[attr-defined]
                self.ok += 1
            except grpc.RpcError:
                self.failed += 1
            i += 1
            time.sleep(0.01)


def _batch_again(stub: object, batch: object) -> float | None:
    """Seconds until a batch is answered again after the slow connection closed."""
    import grpc

    started = time.perf_counter()
    while time.perf_counter() - started < 30:
        try:
            stub.RecommendBatch(batch, timeout=30)  # type: ignore[attr-defined]
            return round(time.perf_counter() - started, 2)
        except grpc.RpcError:
            time.sleep(0.2)
    return None


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ids", type=int, default=300)
    return parser.parse_args()


if __name__ == "__main__":
    main()
