"""JSON log lines: fields, request id binding across threads, no context maps."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from datetime import datetime

import pytest

from serving.transport.logs import bind_request_id, configure_json_logging, request_id_var


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """JSON logging to a buffer; the root logger's handlers and level restored after."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_json_logging("debug", stream=buffer)
    yield buffer
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_json_object_per_line_with_the_standard_fields(stream: io.StringIO) -> None:
    log = logging.getLogger("serving.test")
    log.info("served %s items\nto %s", 3, "C1", extra={"customer_id": "C1", "latency_ms": 1.5})
    log.debug("quiet")
    first, second = lines(stream)
    assert first["level"] == "INFO" and first["logger"] == "serving.test"
    assert first["msg"] == "served 3 items\nto C1"  # escaped inside the one line
    assert (first["customer_id"], first["latency_ms"]) == ("C1", 1.5)
    assert datetime.fromisoformat(first["ts"]).utcoffset().total_seconds() == 0
    assert "request_id" not in first
    assert (second["level"], second["msg"]) == ("DEBUG", "quiet")
    assert set(first) == {"ts", "level", "logger", "msg", "customer_id", "latency_ms"}


def test_the_bound_request_id_tags_lines_and_is_unbound_after(stream: io.StringIO) -> None:
    log = logging.getLogger("serving.test")
    with bind_request_id("req-1") as rid:
        assert rid == "req-1" == request_id_var.get()
        log.warning("inside")
        with bind_request_id("req-2"):
            log.warning("nested")
        log.warning("inside again")
    log.warning("outside")
    got = [(d["msg"], d.get("request_id")) for d in lines(stream)]
    assert got == [
        ("inside", "req-1"),
        ("nested", "req-2"),
        ("inside again", "req-1"),
        ("outside", None),
    ]


def test_request_ids_do_not_leak_between_threads(stream: io.StringIO) -> None:
    log = logging.getLogger("serving.test")
    barrier = threading.Barrier(2)

    def handle(rid: str) -> None:
        with bind_request_id(rid):
            barrier.wait()  # both requests are bound at the same time
            log.info(rid)

    threads = [threading.Thread(target=handle, args=(r,)) for r in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {(d["msg"], d["request_id"]) for d in lines(stream)} == {("a", "a"), ("b", "b")}


def test_context_maps_are_never_logged_and_exceptions_are(stream: io.StringIO) -> None:
    log = logging.getLogger("serving.test")
    try:
        raise ValueError("bad k")
    except ValueError:
        log.exception("failed", extra={"context": {"income_band": "high"}, "customer_id": "C9"})
    (doc,) = lines(stream)
    assert "context" not in doc and "high" not in stream.getvalue()
    assert doc["customer_id"] == "C9"
    assert "ValueError: bad k" in doc["exc"]


def test_configure_replaces_handlers_instead_of_adding(stream: io.StringIO) -> None:
    again = io.StringIO()
    configure_json_logging(logging.INFO, stream=again)
    logging.getLogger("serving.test").info("once")
    assert stream.getvalue() == ""
    assert [d["msg"] for d in lines(again)] == ["once"]
    assert logging.getLogger().level == logging.INFO


def test_a_client_gone_mid_answer_is_one_info_line() -> None:
    import io
    import logging

    from serving.transport.logs import configure_json_logging

    stream = io.StringIO()
    configure_json_logging(stream=stream)
    core = logging.getLogger("grpc._cython.cygrpc")
    try:
        raise RuntimeError("ExecuteBatchError")
    except RuntimeError:
        core.exception(
            "ExecuteBatchError raised in core by servicer method [%s]",
            "/recsys.v1.RecommendationService/RecommendBatch",
        )
    (line,) = stream.getvalue().splitlines()
    doc = json.loads(line)
    assert doc["level"] == "INFO" and "exc" not in doc
    assert doc["msg"] == "client disconnected before its answer was sent"
    assert doc["method"] == "/recsys.v1.RecommendationService/RecommendBatch"
