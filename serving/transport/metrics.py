"""Prometheus metrics of the server, and the gRPC interceptor that times every unary call."""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import start_http_server as _start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from recsys.columns import DEFAULT_CHANNELS, Events
from serving.transport.unary_wrap import UnaryWrapInterceptor, rewrapped

# The buckets resolve 0.5 ms .. 1 s: a cache hit up to a call that waited on a store in trouble.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)
# Labels come from requests: anything outside the configured sets is counted under OTHER,
# so a hostile client cannot create unbounded time series.
OTHER = "other"


class CacheCounts(Protocol):
    """What the answer cache reports (see serving.recommend.answer_cache)."""

    hits: int
    misses: int

    def __len__(self) -> int: ...


class _AnswerCacheCollector(Collector):
    """The answer cache's own counts, read when scraped: nothing to update per call."""

    def __init__(self, cache: CacheCounts) -> None:
        self.cache = cache

    def collect(self) -> Iterable[Metric]:
        lookups = CounterMetricFamily(
            "recsys_answer_cache_lookups",
            "Recommend answers looked up in the answer cache, by result",
            labels=["result"],
        )
        lookups.add_metric(["hit"], self.cache.hits)
        lookups.add_metric(["miss"], self.cache.misses)
        yield lookups
        yield GaugeMetricFamily(
            "recsys_answer_cache_entries", "Answers kept in the answer cache", len(self.cache)
        )


class ServingMetrics:
    """The server's metrics in their own CollectorRegistry (one per server, or per test)."""

    def __init__(
        self,
        channels: Iterable[str] = DEFAULT_CHANNELS,
        event_types: Iterable[str] = Events.all,
    ) -> None:
        self.registry = CollectorRegistry()
        self._channels = frozenset(channels)
        self._event_types = frozenset(event_types)
        self._http: Any = None
        r = self.registry
        self.requests = Counter(
            "recsys_requests", "gRPC calls by method, channel and status code",
            ["method", "channel", "code"], registry=r,
        )
        self.latency = Histogram(
            "recsys_request_latency_seconds", "gRPC call latency in the server",
            ["method"], buckets=LATENCY_BUCKETS, registry=r,
        )
        # (method, channel label, code) -> (counter, histogram) series: labels() takes a lock
        # and str() of every value on each call; the keys are few (methods, configured
        # channels and OTHER, status codes), so a call's series are found by one dict lookup
        self._call_series: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self.model_info = Gauge(
            "recsys_model_info", "The model serving now (value 1)", ["version", "family"],
            registry=r,
        )
        self.model_loaded_at = Gauge(
            "recsys_model_loaded_timestamp_seconds", "When the serving model was loaded",
            registry=r,
        )
        self.swaps = Counter("recsys_model_swaps", "Models swapped in for another", registry=r)
        self.refused = Counter(
            "recsys_models_refused", "Model versions that failed the load check", registry=r
        )
        self.registry_errors = Counter(
            "recsys_registry_errors", "Failed calls to the model registry", registry=r
        )
        self.events = Counter(
            "recsys_events_recorded", "Feedback events stored, by type and channel",
            ["type", "channel"], registry=r,
        )
        self.store_read_failures = Counter(
            "recsys_store_read_failures",
            "Recommend calls served from the model snapshot: the event store could not be read",
            registry=r,
        )
        self.decision_writes = Counter(
            "recsys_decisions_logged", "Recommend answers written to the decision log", registry=r
        )
        self.decision_drops = Counter(
            "recsys_decisions_dropped",
            "Recommend answers the decision log lost (queue full, store down at shutdown)",
            registry=r,
        )
        # experiments: answers and their latency by arm (experiment ids come from the store,
        # arms are champion | challenger | control: few series)
        self.experiment_answers = Counter(
            "recsys_experiment_answers", "Recommend answers of an experiment, by arm",
            ["experiment", "arm"], registry=r,
        )
        self.experiment_latency = Histogram(
            "recsys_experiment_latency_seconds", "Recommend latency in the server, by arm",
            ["experiment", "arm"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self.decision_queue = Gauge(
            "recsys_decision_queue_depth", "Answers waiting for the decision log writer",
            registry=r,
        )

    def experiment_answer(self, experiment_id: str, arm: str, seconds: float) -> None:
        """Count one answer of `arm` in `experiment_id`, and its time in the server."""
        self.experiment_answers.labels(experiment_id, arm).inc()
        self.experiment_latency.labels(experiment_id, arm).observe(seconds)

    def channel_label(self, channel: object) -> str:
        """The channel as a label value: "" when absent, OTHER when not configured."""
        if not channel:
            return ""
        return channel if isinstance(channel, str) and channel in self._channels else OTHER

    def observe(self, method: str, channel: object, code: str, seconds: float) -> None:
        """Count one call and its latency."""
        key = (method, self.channel_label(channel), code)
        series = self._call_series.get(key)
        if series is None:
            series = (self.requests.labels(*key), self.latency.labels(method))
            self._call_series[key] = series
        series[0].inc()
        series[1].observe(seconds)

    def model_loaded(self, version: str, family: str, *, replaced: bool) -> None:
        """A model went into service; `replaced` when it took over from another one."""
        self.model_info.clear()
        self.model_info.labels(version, family).set(1)
        self.model_loaded_at.set_to_current_time()
        if replaced:
            self.swaps.inc()

    def model_refused(self) -> None:
        """A model version failed its check and was not put into service."""
        self.refused.inc()

    def registry_error(self) -> None:
        """The registry or its artifact store did not answer."""
        self.registry_errors.inc()

    def events_recorded(self, event_type: str, channel: object, n: int = 1) -> None:
        """`n` feedback events of one type and channel were stored."""
        kind = event_type if event_type in self._event_types else OTHER
        self.events.labels(kind, self.channel_label(channel)).inc(n)

    def decisions_logged(self, n: int) -> None:
        """`n` answers were written to the decision log."""
        self.decision_writes.inc(n)

    def decisions_dropped(self, n: int) -> None:
        """`n` answers were lost by the decision log."""
        self.decision_drops.inc(n)

    def watch_decision_queue(self, depth: Callable[[], int]) -> None:
        """Report the decision log's queue depth, read at scrape time."""
        self.decision_queue.set_function(depth)

    def watch_answer_cache(self, cache: CacheCounts) -> None:
        """Report the answer cache's hits, misses and size, read at scrape time."""
        self.registry.register(_AnswerCacheCollector(cache))

    def store_read_failed(self) -> None:
        """A Recommend call could not read the event store and was served without it."""
        self.store_read_failures.inc()

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """A sample's current value (0.0 when it has not been recorded yet)."""
        found = self.registry.get_sample_value(name, labels or {})
        return 0.0 if found is None else found

    def exposition(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)

    def start_http(self, port: int, addr: str = "127.0.0.1") -> int:
        """Serve /metrics over HTTP on `port` (0 = any free port); returns the bound port."""
        if self._http is not None:
            raise RuntimeError(f"metrics HTTP server already running on {self._http.server_port}")
        self._http, _thread = _start_http_server(port, addr=addr, registry=self.registry)
        return int(self._http.server_port)

    def stop_http(self) -> None:
        """Stop the /metrics HTTP server if it runs."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None


class AioMetricsInterceptor(UnaryWrapInterceptor):
    """Times every unary-unary call of a grpc.aio server and counts it by method, channel and
    status code: async and sync handlers alike."""

    def __init__(self, metrics: ServingMetrics) -> None:
        super().__init__()
        self._metrics = metrics

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        """The handler timed and counted; sync ones (health) run in the server's thread pool."""
        behavior, short = handler.unary_unary, method.rsplit("/", 1)[-1]
        timed = _timed_async if inspect.iscoroutinefunction(behavior) else _timed_sync
        return rewrapped(handler, timed(self._metrics, behavior, short))


def _timed_sync(
    metrics: ServingMetrics, behavior: Callable[[Any, Any], Any], method: str
) -> Callable[[Any, Any], Any]:
    def timed(request: Any, context: grpc.ServicerContext) -> Any:
        start, failed = time.perf_counter(), True
        try:
            out = behavior(request, context)
            failed = False
            return out
        finally:
            _observe(metrics, method, request, context, failed, start)

    return timed


def _timed_async(
    metrics: ServingMetrics, behavior: Callable[[Any, Any], Awaitable[Any]], method: str
) -> Callable[[Any, Any], Awaitable[Any]]:
    async def timed(request: Any, context: grpc.aio.ServicerContext) -> Any:
        start, failed = time.perf_counter(), True
        try:
            out = await behavior(request, context)
            failed = False
            return out
        finally:
            _observe(metrics, method, request, context, failed, start)

    return timed


def _observe(
    metrics: ServingMetrics, method: str, request: Any, context: Any, failed: bool, start: float
) -> None:
    """Count and time one finished call (`failed`: it raised)."""
    elapsed = time.perf_counter() - start
    metrics.observe(method, getattr(request, "channel", ""), status_name(context, failed), elapsed)


def status_name(context: grpc.ServicerContext, failed: bool) -> str:
    """The call's status code name: as set on the context (abort, set_code), else OK/UNKNOWN."""
    code = getattr(context, "code", None)
    value = code() if callable(code) else None
    if isinstance(value, grpc.StatusCode):
        return value.name
    # grpc answers UNKNOWN for an exception raised without a code set on the context.
    return "UNKNOWN" if failed else "OK"
