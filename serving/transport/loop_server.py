"""A grpc.aio server on its own event-loop thread, started and stopped like a grpc.Server.

Why asyncio: a call's work is Python under the GIL. With grpcio's thread-pool server every
call in flight is a thread, and at each point where numpy, scipy, polars or SQLite let go of
the GIL another call's thread takes it, and each hand-over is a context switch: on the
Recommend path many times an empty handler's, and CPU with them (bench/README.md). Here every
call runs on the one loop thread, one after the other; what has to wait (store writes, large
batches) goes to a small thread pool (see RecommendationServicer), as do grpcio's own
synchronous servicers (health).

The loop runs in a daemon thread, so callers (tests, `serve`) keep the synchronous
grpc.Server interface: `start()`, `stop(grace)` returning an event, `wait_for_termination()`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

import grpc

T = TypeVar("T")


class LoopServer:
    """grpc.aio.Server plus the thread running its event loop."""

    def __init__(
        self,
        setup: Callable[[grpc.aio.Server], int],
        *,
        interceptors: list[Any],
        options: list[tuple[str, Any]],
        executor: Executor,
        maximum_concurrent_rpcs: int | None = None,
    ) -> None:
        """Create the server on a new loop thread; `setup` adds services and returns the port.

        Raises what `setup` raises (the loop thread is stopped first).
        """
        self.executor = executor
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="grpc-loop", daemon=True
        )
        self._thread.start()
        self._lock = threading.Lock()
        self._stopping = False
        self._stopped = threading.Event()

        async def create() -> tuple[grpc.aio.Server, int]:
            # created inside the loop: grpc.aio binds a server to the loop it is made in
            server = grpc.aio.server(
                migration_thread_pool=executor,
                interceptors=interceptors,
                options=options,
                # past it grpc.aio answers RESOURCE_EXHAUSTED at once, without running the call
                maximum_concurrent_rpcs=maximum_concurrent_rpcs,
            )
            return server, setup(server)

        try:
            self.server, self.port = self._run(create())
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._close_loop()
            raise

    def start(self) -> None:
        """Start serving (returns once the server accepts calls)."""
        self._run(self.server.start())

    def stop(self, grace: float | None) -> threading.Event:
        """Stop: calls in flight get `grace` seconds (None: cancelled now); an event when done."""
        with self._lock:
            if self._stopping:
                return self._stopped
            self._stopping = True

        async def stop_then_end_loop() -> None:
            try:
                await self.server.stop(grace)
            finally:
                asyncio.get_running_loop().stop()

        asyncio.run_coroutine_threadsafe(stop_then_end_loop(), self._loop)
        threading.Thread(target=self._close_loop, name="grpc-loop-close", daemon=True).start()
        return self._stopped

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        """Block until stopped (True) or `timeout` seconds pass (False)."""
        return self._stopped.wait(timeout)

    def _run(self, coroutine: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()  # type: ignore[arg-type]

    def _close_loop(self) -> None:
        """Wait for the loop thread to end, then release the loop and the executor."""
        self._thread.join()
        self._loop.close()
        self.executor.shutdown(wait=False)
        self._stopped.set()
