"""The ceiling of the serving benchmark: a grpcio server of the same proto that does no work.

    python bench/serve_empty.py --port P [--workers 2] [--threads 16] [--aio]

Recommend answers an empty RecommendResponse at once; `workers` processes share the port
through SO_REUSEPORT. Two kinds: grpcio's classic thread-pool server (`--threads` workers)
and, with --aio, a grpc.aio server (what `recsys serve` runs), so the benchmark can take the
faster of the two as the ceiling. Health is SERVING from the start. Runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
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
from serving.transport.server import MAX_MESSAGE_BYTES  # noqa: E402

THREADS = 16
OPTIONS = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES), ("grpc.so_reuseport", 1)]


class EmptyServicer(pb_grpc.RecommendationServiceServicer):
    """Recommend returns an empty answer; nothing else is called by the benchmark."""

    def Recommend(self, request: pb.RecommendRequest, context: object) -> object:  # noqa: N802
        """An empty RecommendResponse."""
        return pb.RecommendResponse()


class AsyncEmptyServicer(pb_grpc.RecommendationServiceServicer):
    """The same for grpc.aio."""

    async def Recommend(self, request: pb.RecommendRequest, context: object) -> object:  # noqa: N802
        """An empty RecommendResponse."""
        return pb.RecommendResponse()


def run(port: int, threads: int, use_aio: bool) -> None:
    """One server process on `port` (shared), until SIGTERM/SIGINT."""
    if use_aio:
        asyncio.run(_run_aio(port, threads))
        return
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads), options=OPTIONS)
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


async def _run_aio(port: int, threads: int) -> None:
    pool = futures.ThreadPoolExecutor(max_workers=threads)  # runs the sync health servicer
    server = grpc.aio.server(migration_thread_pool=pool, options=OPTIONS)
    pb_grpc.add_RecommendationServiceServicer_to_server(AsyncEmptyServicer(), server)
    status = health.HealthServicer()
    status.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(status, server)
    server.add_insecure_port(f"[::]:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await server.stop(1)


def main() -> None:
    """Start `--workers` server processes and wait for them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--aio", action="store_true", help="a grpc.aio server")
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=run, args=(args.port, args.threads, args.aio))
        for _ in range(args.workers)
    ]
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
