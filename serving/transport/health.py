"""gRPC health on the server's event loop: SERVING while a model is loaded, set from any thread.

grpc's synchronous HealthServicer runs each Watch stream as a blocking generator on a pool
thread of the grpc.aio server: eight watchers (a load balancer per node, say) held all eight
threads, and RecordEvents and RecommendBatch, which wait in the same pool, hung; and a
watcher still open at SIGTERM kept its thread blocked, so the process never exited. The
asyncio servicer watches with a coroutine on the loop, cancelled when the server stops.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine, Iterable
from concurrent.futures import Future
from typing import Any

from grpc_health.v1 import health, health_pb2

log = logging.getLogger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SET_TIMEOUT_S = 5.0


class LoopHealth:
    """An asyncio HealthServicer for `services` (and ""), driven from any thread."""

    def __init__(self, services: Iterable[str], status: int) -> None:
        self.servicer = health.aio.HealthServicer()
        self._names = ("", *services)
        self._status = status
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve from `loop` (the server's); the status set so far takes effect now."""
        with self._lock:
            self._loop = loop
            done = self._on_loop(self._set_all(self._status))
        _wait(done)

    def set_all(self, status: int) -> None:
        """Every service's status; returns once watchers have been told (when attached)."""
        with self._lock:  # scheduled in call order: the loop runs them first in, first out
            self._status = status
            done = self._on_loop(self._set_all(status))
        _wait(done)

    def enter_graceful_shutdown(self) -> None:
        """NOT_SERVING for good (watchers are told); later set_all calls change nothing."""
        with self._lock:
            done = self._on_loop(self.servicer.enter_graceful_shutdown())
        _wait(done)

    async def _set_all(self, status: int) -> None:
        for name in self._names:
            await self.servicer.set(name, status)

    def _on_loop(self, work: Coroutine[Any, Any, None]) -> Future | None:
        """`work` scheduled on the loop; None when there is no running loop to run it."""
        if self._loop is None or not self._loop.is_running():
            work.close()
            return None
        return asyncio.run_coroutine_threadsafe(work, self._loop)


def _wait(done: Future | None) -> None:
    """Wait for scheduled work, unless on the loop itself (it runs once this call returns)."""
    if done is None:
        return
    try:
        asyncio.get_running_loop()
        return
    except RuntimeError:
        pass
    try:
        done.result(SET_TIMEOUT_S)
    except TimeoutError:
        log.warning("health status not set within %.0f s: the server loop is stuck", SET_TIMEOUT_S)
