"""LoopServer: a grpc.aio server on its own loop thread, used like a grpc.Server by callers."""

from __future__ import annotations

import threading
from concurrent import futures

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from serving.transport.loop_server import LoopServer

SERVING = health_pb2.HealthCheckResponse.SERVING


def health_server(port: int = 0) -> LoopServer:
    servicer = health.HealthServicer()
    servicer.set("", SERVING)

    def setup(server: grpc.aio.Server) -> int:
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)  # sync: runs in the pool
        return server.add_insecure_port(f"127.0.0.1:{port}")

    return LoopServer(setup, interceptors=[], options=[], executor=futures.ThreadPoolExecutor(2))


def loop_threads() -> int:
    return sum(t.name == "grpc-loop" for t in threading.enumerate())


def test_serves_after_start_and_stops_when_asked() -> None:
    before = loop_threads()
    server = health_server()
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        assert stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status == SERVING
        assert not server.wait_for_termination(timeout=0.01)
        stopped = server.stop(1.0)
        assert stopped.wait(10)
        assert server.stop(None) is stopped  # stopping again is harmless
        with pytest.raises(grpc.RpcError):
            stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
    assert server.wait_for_termination(timeout=0)
    assert loop_threads() == before


def test_a_failing_setup_raises_and_leaves_no_loop_thread() -> None:
    before = loop_threads()

    def setup(server: grpc.aio.Server) -> int:
        raise OSError("port taken")

    with pytest.raises(OSError, match="port taken"):
        LoopServer(setup, interceptors=[], options=[], executor=futures.ThreadPoolExecutor(1))
    assert loop_threads() == before
