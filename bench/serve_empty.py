"""The ceiling of the serving benchmark: a grpcio server of the same proto that does no work.

    python bench/serve_empty.py --port P [--workers 2] [--threads 16]

Recommend answers an empty RecommendResponse at once; `workers` processes share the port
through SO_REUSEPORT with the thread pool size of `recsys serve`, exactly as the real server
is set up, so the difference between the two is the work of our handler. Health is SERVING
from the start. Runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import sys
import threading
from concurrent import futures
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import grpc  # noqa: E402
from grpc_health.v1 import health, health_pb2, health_pb2_grpc  # noqa: E402

from serving._proto.recsys.v1 import recommendation_pb2 as pb  # noqa: E402
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc  # noqa: E402
from serving.server import DEFAULT_THREADS, MAX_MESSAGE_BYTES  # noqa: E402


class EmptyServicer(pb_grpc.RecommendationServiceServicer):
    """Recommend returns an empty answer; nothing else is called by the benchmark."""

    def Recommend(self, request: pb.RecommendRequest, context: grpc.ServicerContext) -> object:  # noqa: N802
        """An empty RecommendResponse."""
        return pb.RecommendResponse()


def run(port: int, threads: int) -> None:
    """One server process on `port` (shared), until SIGTERM/SIGINT."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=threads),
        options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES), ("grpc.so_reuseport", 1)],
    )
    pb_grpc.add_RecommendationServiceServicer_to_server(EmptyServicer(), server)
    status = health.HealthServicer()
    status.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(status, server)
    server.add_insecure_port(f"[::]:{port}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    stop.wait()
    server.stop(1).wait()


def main() -> None:
    """Start `--workers` server processes and wait for them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=run, args=(args.port, args.threads)) for _ in range(args.workers)]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for p in procs:
        p.start()
    while not stop.wait(0.5) and all(p.is_alive() for p in procs):
        pass
    for p in procs:
        p.terminate()
        p.join(5)


if __name__ == "__main__":
    main()
