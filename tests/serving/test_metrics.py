"""ServingMetrics exposition and HTTP endpoint; the interceptor on a real grpc.aio server."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from concurrent import futures
from types import SimpleNamespace

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from serving.transport.loop_server import LoopServer
from serving.transport.metrics import OTHER, AioMetricsInterceptor, ServingMetrics

SERVICE = "test.Echo"


def samples(metrics: ServingMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the text exposition, parsed back: (name, sorted labels) -> value."""
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_observe_counts_by_method_channel_code_and_times_by_method() -> None:
    metrics = ServingMetrics()
    metrics.observe("Recommend", "mobile", "OK", 0.0007)
    metrics.observe("Recommend", "mobile", "OK", 0.004)
    metrics.observe("Recommend", "atm", "INVALID_ARGUMENT", 0.0002)
    got = samples(metrics)
    ok = ("recsys_requests_total", (("channel", "mobile"), ("code", "OK"), ("method", "Recommend")))
    assert got[ok] == 2
    bad = (("channel", "atm"), ("code", "INVALID_ARGUMENT"), ("method", "Recommend"))
    assert got[("recsys_requests_total", bad)] == 1
    bucket = "recsys_request_latency_seconds_bucket"
    assert got[(bucket, (("le", "0.0005"), ("method", "Recommend")))] == 1
    assert got[(bucket, (("le", "0.001"), ("method", "Recommend")))] == 2
    assert got[(bucket, (("le", "0.005"), ("method", "Recommend")))] == 3
    assert got[("recsys_request_latency_seconds_count", (("method", "Recommend"),))] == 3


def test_unconfigured_channels_and_event_types_share_one_label() -> None:
    metrics = ServingMetrics(channels=["mobile"], event_types=["click"])
    for hostile in ("x" * 500, "web", "Mobile"):
        metrics.observe("Recommend", hostile, "INVALID_ARGUMENT", 0.001)
    metrics.events_recorded("click", "mobile", 3)
    metrics.events_recorded("teleport", "", 1)
    labels = {"method": "Recommend", "channel": OTHER, "code": "INVALID_ARGUMENT"}
    assert metrics.value("recsys_requests_total", labels) == 3
    channels = {
        dict(lbls)["channel"] for name, lbls in samples(metrics) if name == "recsys_requests_total"
    }
    assert channels == {OTHER}
    events = "recsys_events_recorded_total"
    assert metrics.value(events, {"type": "click", "channel": "mobile"}) == 3
    assert metrics.value(events, {"type": OTHER, "channel": ""}) == 1


def test_repeated_observations_land_in_the_registrys_own_series() -> None:
    """observe() keeps each call's series bound; they must be the ones the registry exports."""
    metrics = ServingMetrics(channels=["mobile"])
    for i in range(3):
        metrics.observe("Recommend", "mobile", "OK", 0.001 * (i + 1))
        metrics.observe("Recommend", f"hostile-{i}", "OK", 0.001)
    metrics.requests.labels("Recommend", "mobile", "OK").inc()  # the same series, not a copy
    labels = {"method": "Recommend", "channel": "mobile", "code": "OK"}
    assert metrics.value("recsys_requests_total", labels) == 4
    assert metrics.value("recsys_requests_total", {**labels, "channel": OTHER}) == 3
    count = metrics.value("recsys_request_latency_seconds_count", {"method": "Recommend"})
    assert count == 6
    total = metrics.value("recsys_request_latency_seconds_sum", {"method": "Recommend"})
    assert total == pytest.approx(0.009)


def test_model_gauges_and_counters() -> None:
    metrics = ServingMetrics()
    metrics.model_loaded("1", "als", replaced=False)
    metrics.model_loaded("2", "itemknn", replaced=True)
    metrics.model_refused()
    metrics.registry_error()
    metrics.registry_error()
    assert metrics.value("recsys_model_info", {"version": "2", "family": "itemknn"}) == 1
    old = ("recsys_model_info", (("family", "als"), ("version", "1")))
    assert old not in samples(metrics)
    assert metrics.value("recsys_model_swaps_total") == 1
    assert metrics.value("recsys_models_refused_total") == 1
    assert metrics.value("recsys_registry_errors_total") == 2
    assert metrics.value("recsys_model_loaded_timestamp_seconds") > 1.6e9


def test_metrics_are_served_over_http_on_a_free_port() -> None:
    metrics = ServingMetrics()
    metrics.observe("SimilarProducts", "", "NOT_FOUND", 0.01)
    port = metrics.start_http(0, addr="127.0.0.1")
    try:
        assert port > 0
        with pytest.raises(RuntimeError, match="already running"):
            metrics.start_http(0)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            body = resp.read().decode()
        line = 'recsys_requests_total{channel="",code="NOT_FOUND",method="SimilarProducts"} 1.0'
        assert line in body
        assert "recsys_models_refused_total 0.0" in body
    finally:
        metrics.stop_http()
    assert ServingMetrics().exposition() != b""  # registries are per instance: no collisions


async def echo(request: SimpleNamespace, context: grpc.aio.ServicerContext) -> bytes:
    """Answers by the request's channel: "bad" aborts, "boom" raises, "gone" sets a code."""
    if request.channel == "bad":
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "channel is bad")
    if request.channel == "boom":
        raise RuntimeError("a bug")
    if request.channel == "gone":
        context.set_code(grpc.StatusCode.NOT_FOUND)
        return b""
    return request.channel.encode()


@pytest.fixture
def served() -> Iterator[tuple[grpc.Channel, ServingMetrics]]:
    """A real grpc.aio server on a free port (on its loop thread, as `serve` runs it) with the
    async echo method, grpcio's sync health servicer, and the interceptor."""
    metrics = ServingMetrics(channels=["mobile", "bad", "boom", "gone"])
    method = grpc.unary_unary_rpc_method_handler(
        echo,
        request_deserializer=lambda b: SimpleNamespace(channel=b.decode()),
        response_serializer=lambda b: b,
    )

    def setup(server: grpc.aio.Server) -> int:
        server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(SERVICE, {"Say": method})]
        )
        health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
        return server.add_insecure_port("127.0.0.1:0")

    server = LoopServer(
        setup,
        interceptors=[AioMetricsInterceptor(metrics)],
        options=[],
        executor=futures.ThreadPoolExecutor(2),
    )
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield channel, metrics
    finally:
        assert server.stop(None).wait(10)


def test_the_interceptor_records_every_outcome_of_real_calls(
    served: tuple[grpc.Channel, ServingMetrics],
) -> None:
    channel, metrics = served
    say = channel.unary_unary(
        f"/{SERVICE}/Say", request_serializer=str.encode, response_deserializer=bytes
    )
    assert say("mobile") == b"mobile"
    assert say("mobile") == b"mobile"  # the second call reuses the handler wrapped on the first
    for request, code in [
        ("bad", grpc.StatusCode.INVALID_ARGUMENT),
        ("boom", grpc.StatusCode.UNKNOWN),
        ("gone", grpc.StatusCode.NOT_FOUND),
    ]:
        with pytest.raises(grpc.RpcError) as caught:
            say(request)
        assert caught.value.code() == code
    check = health_pb2_grpc.HealthStub(channel).Check
    assert check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING

    def count(method: str, channel: str, code: str) -> float:
        labels = {"method": method, "channel": channel, "code": code}
        return metrics.value("recsys_requests_total", labels)

    assert count("Say", "mobile", "OK") == 2
    assert count("Say", "bad", "INVALID_ARGUMENT") == 1
    assert count("Say", "boom", "UNKNOWN") == 1
    assert count("Say", "gone", "NOT_FOUND") == 1
    assert count("Check", "", "OK") == 1  # a message without a channel field
    assert metrics.value("recsys_request_latency_seconds_count", {"method": "Say"}) == 5
    assert metrics.value("recsys_request_latency_seconds_sum", {"method": "Say"}) > 0


def test_metrics_bind_to_this_host_unless_told() -> None:
    from recsys.settings import Settings

    assert Settings().metrics_host == "127.0.0.1"
    metrics = ServingMetrics(Settings().channels, Settings().event_types)
    metrics.start_http(0)
    try:
        assert metrics._http is not None and metrics._http.server_address[0] == "127.0.0.1"
    finally:
        metrics.stop_http()


def test_bind_addresses_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from recsys.settings import Settings

    monkeypatch.setenv("RECSYS_GRPC_HOST", "127.0.0.1")
    monkeypatch.setenv("RECSYS_METRICS_HOST", "0.0.0.0")
    settings = Settings()
    assert (settings.grpc_host, settings.metrics_host) == ("127.0.0.1", "0.0.0.0")
