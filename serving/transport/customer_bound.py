"""Customer-bound calls and enumeration alerts: which customers a key asks about.

`CustomerTokenInterceptor` (RECSYS_CUSTOMER_TOKENS=required): Recommend and RecommendBatch for
customer X go on only with a token naming X in `x-customer-token` metadata (one per customer of
a batch; recsys.security.customer_tokens), else PERMISSION_DENIED (a bad or expired token:
UNAUTHENTICATED).

`DistinctCustomers`: per key, the distinct customers asked about in the current window, as the
gauge `recsys_key_distinct_customers{key}`; a key past the alert threshold in one window
counts once in `recsys_key_enumeration_alerts_total{key}`, which an alert rule watches.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge

from recsys.security.customer_tokens import TokenRefused, verified_customer
from serving.transport.auth import CALLER
from serving.transport.unary_wrap import UnaryWrapInterceptor, rewrapped

TOKEN_HEADER: Final = "x-customer-token"
WATCHED: Final = ("/Recommend", "/RecommendBatch")  # methods that name customers
ANONYMOUS: Final = "(no key)"


def customers_of(request: Any) -> list[str]:
    """The customer ids a Recommend or RecommendBatch request asks about."""
    if hasattr(request, "customer_ids"):
        return list(request.customer_ids)
    customer = getattr(request, "customer_id", "")
    return [customer] if customer else []


class DistinctCustomers:
    """Distinct customers per key per window (at most threshold + 1 kept per key)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        threshold: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold, self.window_s, self._clock = threshold, window_s, clock
        self._seen: dict[str, set[str]] = {}
        self._started = clock()
        self._lock = threading.Lock()
        self.gauge = Gauge(
            "recsys_key_distinct_customers",
            "Distinct customers a key asked about in the current window (capped at the alert)",
            ["key"],
            registry=registry,
        )
        self.alerts = Counter(
            "recsys_key_enumeration_alerts",
            "Windows in which a key asked about more distinct customers than the alert allows",
            ["key"],
            registry=registry,
        )

    def saw(self, key: str, customers: Sequence[str]) -> None:
        """Note the customers one call of `key` asked about."""
        with self._lock:
            if self._clock() - self._started >= self.window_s:
                self._seen.clear()
                self.gauge.clear()
                self._started = self._clock()
            seen = self._seen.setdefault(key, set())
            if len(seen) > self.threshold:
                return  # alerted already this window; keeping more would only cost memory
            seen.update(customers[: self.threshold + 1 - len(seen)])
            self.gauge.labels(key).set(len(seen))
            if len(seen) > self.threshold:
                self.alerts.labels(key).inc()


class CustomerInterceptor(UnaryWrapInterceptor):
    """Counts the customers each key asks about; with a token key, requires customer tokens."""

    def __init__(
        self,
        watch: DistinctCustomers | None,
        token_key: bytes | None = None,
        max_age_s: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._watch, self._key, self._max_age_s, self._clock = watch, token_key, max_age_s, clock

    def passes(self, method: str) -> bool:
        """Only the methods that name customers."""
        return not method.endswith(WATCHED)

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        """The handler, after the customers are noted (and their tokens checked)."""
        behavior = handler.unary_unary
        assert inspect.iscoroutinefunction(behavior), "the recommendation service is async"

        async def bound(request: Any, context: grpc.aio.ServicerContext) -> Any:
            customers = customers_of(request)
            if self._watch is not None:
                key = CALLER.get()
                self._watch.saw(key.name if key is not None else ANONYMOUS, customers)
            if self._key is not None:
                refusal = self._refusal(customers, context.invocation_metadata())
                if refusal is not None:
                    context.set_code(refusal[0])
                    context.set_details(refusal[1])
                    return None
            return await behavior(request, context)

        return rewrapped(handler, bound)

    def _refusal(self, customers: list[str], metadata: Any) -> tuple[grpc.StatusCode, str] | None:
        assert self._key is not None
        tokens = [v for n, v in metadata or () if n.lower() == TOKEN_HEADER and isinstance(v, str)]
        vouched: set[str] = set()
        for token in tokens:
            try:
                vouched.add(
                    verified_customer(
                        token, self._key, now=self._clock(), max_age_s=self._max_age_s
                    )
                )
            except TokenRefused as exc:
                return grpc.StatusCode.UNAUTHENTICATED, str(exc)
        missing = [c for c in dict.fromkeys(customers) if c not in vouched]
        if missing:
            return (
                grpc.StatusCode.PERMISSION_DENIED,
                f"customer tokens are required: no {TOKEN_HEADER} names customer "
                f"{missing[0][:40]!r}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
            )
        return None
