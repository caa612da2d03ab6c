"""`recsys serve` as a real subprocess for the tests that need whole processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from serving.transport.server import SERVICE_NAME
from tests.serving.free_port import free_port
from tests.serving.trained import Trained

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 120.0
SERVING = health_pb2.HealthCheckResponse.SERVING


def start_serve(
    model: Trained, base: Path, name: str, database_url: str | None = None, **env: str
) -> tuple[subprocess.Popen, int, Path]:
    """`recsys serve` on a free port with the session's registry; (process, port, log file).

    `database_url` defaults to the session's store; each process gets its own model cache.
    """
    port = free_port()
    environment = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "MLFLOW_TRACKING_URI": model.settings.resolved_tracking_uri,
        "RECSYS_DATABASE_URL": database_url or model.settings.resolved_database_url,
        "RECSYS_HOME": str(base / name),
        **env,
    }
    log = base / f"{name}.log"
    command = [sys.executable, "-m", "recsys_cli.main", "serve", "--port", str(port)]
    command += ["--metrics-port", "0"]
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT
        )
    return proc, port, log


def health_of(channel: grpc.Channel, service: str) -> int:
    """The health status the server reports for `service`."""
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def wait_serving(proc: subprocess.Popen, port: int, log: Path) -> grpc.Channel:
    """A channel to the process once its health says SERVING; the test fails with its log."""
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if health_of(channel, SERVICE_NAME) == SERVING:
                return channel
        except grpc.RpcError:
            pass
        time.sleep(0.3)
    tail = log.read_text()[-3000:]
    pytest.fail(f"server on {port} not SERVING within {STARTUP_TIMEOUT_S} s:\n{tail}")


@contextmanager
def serving_processes(
    model: Trained, base: Path, names: list[str], database_url: str | None = None
) -> Iterator[list[pb_grpc.RecommendationServiceStub]]:
    """Several `recsys serve` processes, SERVING; stopped with SIGTERM (must exit 0) after."""
    started = [start_serve(model, base, name, database_url) for name in names]
    channels: list[grpc.Channel] = []
    try:
        channels = [wait_serving(*s) for s in started]
        yield [pb_grpc.RecommendationServiceStub(c) for c in channels]
        for proc, _, log in started:  # SIGTERM: drain and exit cleanly
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, log.read_text()[-3000:]
    finally:
        for c in channels:
            c.close()
        for proc, _, _ in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
