"""The decision-log burst of issue 22 part 4 against `recsys serve`: does the audit lose answers?

    python bench/decision_burst.py [--calls 45] [--ids 300] [--workers 2] [--queue 10000]

--calls RecommendBatch calls of --ids customers each are sent at once (one thread each) to a
server on a fresh store, with the decision queue at --queue answers (RECSYS_DECISION_QUEUE_SIZE;
a small one stands for a slow store). Then the decisions table is counted until it holds every
answer served (or 120 s pass). Printed: answers served, decisions stored, lost, and how long
the store took to catch up. Target: nothing lost.
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


def main() -> None:
    """Serve, burst, count; exit 1 when an answer is missing from the decision log."""
    import grpc
    import sqlalchemy as sa

    from serving._proto.recsys.v1 import recommendation_pb2 as pb
    from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc

    args = _parse()
    model = ensure_model(args.customers, "itemknn")
    ids = model.customer_ids(args.ids)
    out = BENCH_HOME / "decision-burst" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(out / 'store.db').resolve()}"
    env = {
        **model.env(),
        "RECSYS_DATABASE_URL": url,
        "RECSYS_HOME": str(out / "home"),
        "RECSYS_DECISION_QUEUE_SIZE": str(args.queue),
    }
    served = [0] * args.calls
    with recsys_serve(env, args.workers, out / "logs") as server:
        channels = [grpc.insecure_channel(server.address) for _ in range(args.calls)]
        for c in channels:  # connected first: a client learns the server's stream limit then
            grpc.channel_ready_future(c).result(timeout=30)

        def call(i: int) -> None:
            stub = pb_grpc.RecommendationServiceStub(channels[i])
            request = pb.RecommendBatchRequest(
                customer_ids=ids, channel="call_center", k=10, request_id=f"burst-{i}"
            )
            for _ in range(5):  # RESOURCE_EXHAUSTED is retried with backoff, as clients do
                try:
                    served[i] = len(stub.RecommendBatch(request, timeout=120).results)
                    return
                except grpc.RpcError as exc:
                    if exc.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                        raise
                    time.sleep(0.2)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(args.calls)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        burst_s = time.perf_counter() - started
        engine = sa.create_engine(url)
        answered = sum(served)
        stored, caught_up = 0, None
        while time.perf_counter() - started < burst_s + 120:
            with engine.connect() as conn:
                stored = conn.execute(sa.text("SELECT count(*) FROM decisions")).scalar_one()
            if stored >= answered:
                caught_up = round(time.perf_counter() - started, 1)
                break
            time.sleep(0.5)
        for c in channels:
            c.close()
    spilled = sorted((out / "home" / "decision-spill").glob("*.jsonl"))
    figures = {
        "calls": args.calls,
        "ids": args.ids,
        "workers": args.workers,
        "queue": args.queue,
        "answers_served": answered,
        "decisions_stored": stored,
        "lost": answered - stored,
        "burst_s": round(burst_s, 1),
        "stored_all_after_s": caught_up,
        "spill_files_left": len(spilled),
    }
    say(json.dumps(figures))
    (out / "summary.json").write_text(json.dumps(figures, indent=2))
    say("PASS" if answered and stored == answered else "MISS")
    sys.exit(0 if stored == answered else 1)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=45)
    parser.add_argument("--ids", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queue", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=5000)
    return parser.parse_args()


if __name__ == "__main__":
    main()
