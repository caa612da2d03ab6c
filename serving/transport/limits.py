"""What one caller may take from a server: calls per second per key, bytes of waiting answers.

Two limits beside the transport's own (streams per connection, concurrent calls; see
serving.transport.server), all answering RESOURCE_EXHAUSTED, which clients retry with backoff:

- a token bucket per API key, its rate and burst set per role (Settings.server.rate), so one
  channel app cannot take a server's whole capacity or scrape the customer base at full speed;
- a budget of bytes for big answers (RecommendBatch): an answer is charged before it is
  computed and released when its call is done in Python, i.e. handed to the transport. It
  bounds how many big answers are built at once (their memory, and the allocator's high-water
  mark); past it a call is refused at once instead of queueing.

What the transport holds for a client that never reads (a receive window of 0) is bounded by
the streams one connection may have open (Settings.server.max_streams_per_connection): gRPC
finishes a call once its answer is queued, so no handler can see that it still waits.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge

from recsys.settings import RateLimit
from serving.transport.auth import CALLER
from serving.transport.unary_wrap import UnaryWrapInterceptor, rewrapped

MAX_KEYS: Final = 10_000  # buckets kept at once (keys are few; this bounds a flood of them)
# what one item of a batch answer costs while it waits: its ~190 serialized bytes, and
# the copies the transport keeps of them (measured: bench/slow_client.py)
BYTES_PER_ITEM: Final = 320


class TokenBucket:
    """`rate` tokens a second up to `burst`; `take()` spends one when there is one."""

    __slots__ = ("_burst", "_clock", "_rate", "_stamp", "_tokens")

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        self._rate, self._burst, self._clock = rate, burst, clock
        self._tokens, self._stamp = burst, clock()

    def take(self) -> bool:
        """Spend a token if one is there (refilled for the time since the last call)."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class RateLimiter:
    """A token bucket per key id, rated by the key's role; roles not configured are unlimited."""

    def __init__(
        self,
        rates: Mapping[str, RateLimit],
        *,
        share: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # each of N processes sharing a port takes 1/N of the configured rate
        self._rates = {
            role: (r.per_second * share, max(1.0, r.burst * share))
            for role, r in rates.items()
            if r.per_second > 0
        }
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def allow(self, key_id: str, role: str) -> bool:
        """Whether this key may make one more call now."""
        rate = self._rates.get(role)
        if rate is None:
            return True
        with self._lock:  # the loop thread and the pool's sync handlers both call
            bucket = self._buckets.get(key_id)
            if bucket is None:
                if len(self._buckets) >= MAX_KEYS:
                    self._buckets.clear()  # a flood of keys: start over rather than grow
                bucket = self._buckets[key_id] = TokenBucket(*rate, self._clock)
            return bucket.take()


class ResponseBudget:
    """Bytes of answers that may wait to be sent at once, charged per call until it ends."""

    def __init__(self, max_bytes: int, metrics: LimitMetrics | None = None) -> None:
        self.max_bytes = max_bytes
        self._used = 0
        self._lock = threading.Lock()
        self._metrics = metrics

    @property
    def used(self) -> int:
        """Bytes charged now."""
        return self._used

    def charge(self, n_bytes: int) -> bool:
        """Charge `n_bytes` if they fit (an answer alone larger than the budget always fits
        when nothing else waits: it is within the request limits already)."""
        with self._lock:
            if self._used and self._used + n_bytes > self.max_bytes:
                if self._metrics is not None:
                    self._metrics.budget_refused.inc()
                return False
            self._used += n_bytes
            if self._metrics is not None:
                self._metrics.budget_bytes.set(self._used)
        return True

    def release(self, n_bytes: int) -> None:
        """Give back what `charge` took."""
        with self._lock:
            self._used -= n_bytes
            if self._metrics is not None:
                self._metrics.budget_bytes.set(self._used)


class LimitMetrics:
    """The limits' counts in a server's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.rate_limited = Counter(
            "recsys_rate_limited",
            "Calls refused by a key's rate limit, by the key's role",
            ["role"],
            registry=registry,
        )
        self.budget_refused = Counter(
            "recsys_response_budget_refused",
            "RecommendBatch calls refused because waiting answers filled the budget",
            registry=registry,
        )
        self.budget_bytes = Gauge(
            "recsys_response_budget_bytes",
            "Bytes of RecommendBatch answers computed or waiting to be sent",
            registry=registry,
        )


class RateLimitInterceptor(UnaryWrapInterceptor):
    """RESOURCE_EXHAUSTED for a key past its role's rate; runs inside auth (CALLER is set)."""

    def __init__(self, limiter: RateLimiter, metrics: LimitMetrics | None = None) -> None:
        super().__init__()
        self._limiter = limiter
        self._metrics = metrics

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        """The handler, run only while the caller's key has tokens left."""
        behavior = handler.unary_unary
        if not inspect.iscoroutinefunction(behavior):

            def limited_sync(request: Any, context: grpc.ServicerContext) -> Any:
                if self._refused(context):
                    return None
                return behavior(request, context)

            return rewrapped(handler, limited_sync)

        async def limited(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if self._refused(context):
                return None
            return await behavior(request, context)

        return rewrapped(handler, limited)

    def _refused(self, context: Any) -> bool:
        key = CALLER.get()
        if key is None or self._limiter.allow(key.id, key.role):
            return False
        if self._metrics is not None:
            self._metrics.rate_limited.labels(key.role).inc()
        context.set_code(grpc.StatusCode.RESOURCE_EXHAUSTED)
        context.set_details(
            f"rate limit of API key {key.name!r} (role {key.role}) reached: retry with backoff"
        )
        return True
