"""UnaryWrapInterceptor: each unary-unary method wrapped once; the rest through `other` per call."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import grpc

from serving.transport.unary_wrap import UnaryWrapInterceptor, rewrapped


class _Details(grpc.HandlerCallDetails):
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


def _serializer(x: Any) -> bytes:
    return b""


def _deserializer(b: bytes) -> str:
    return "request"


async def _behavior(request: Any, context: Any) -> str:
    return "answer"


HANDLERS = {
    "/s/Unary": grpc.unary_unary_rpc_method_handler(
        _behavior, request_deserializer=_deserializer, response_serializer=_serializer
    ),
    "/s/Open": grpc.unary_unary_rpc_method_handler(_behavior),
    "/s/Stream": grpc.unary_stream_rpc_method_handler(_behavior),
}


class Recording(UnaryWrapInterceptor):
    """Counts what it wraps and what goes through `other`."""

    def __init__(self) -> None:
        super().__init__()
        self.wrapped: Counter[str] = Counter()
        self.others: Counter[str] = Counter()

    def passes(self, method: str) -> bool:
        return method == "/s/Open"

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        self.wrapped[method] += 1

        async def tagged(request: Any, context: Any) -> str:
            return "wrapped " + await handler.unary_unary(request, context)

        return rewrapped(handler, tagged)

    async def other(
        self, handler: grpc.RpcMethodHandler | None, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        self.others[handler_call_details.method] += 1
        return handler


def test_unary_methods_are_wrapped_once_and_the_rest_go_through_other_each_call() -> None:
    interceptor = Recording()
    asked: Counter[str] = Counter()

    async def continuation(details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        asked[details.method] += 1
        return HANDLERS.get(details.method)

    async def calls() -> dict[str, list[Any]]:
        got: dict[str, list[Any]] = {}
        for method in ["/s/Unary", "/s/Open", "/s/Stream", "/s/Missing"] * 3:
            handler = await interceptor.intercept_service(continuation, _Details(method))
            got.setdefault(method, []).append(handler)
        return got

    got = asyncio.run(calls())
    assert interceptor.wrapped == {"/s/Unary": 1}
    assert asked["/s/Unary"] == 1  # later calls never reach the continuation
    assert len({id(h) for h in got["/s/Unary"]}) == 1
    unary = got["/s/Unary"][0]
    assert unary is not HANDLERS["/s/Unary"]
    assert asyncio.run(unary.unary_unary("request", None)) == "wrapped answer"
    # the (de)serializers are the original handler's
    assert unary.request_deserializer is _deserializer
    assert unary.response_serializer is _serializer
    assert interceptor.others == {"/s/Open": 3, "/s/Stream": 3, "/s/Missing": 3}
    assert got["/s/Open"] == [HANDLERS["/s/Open"]] * 3
    assert got["/s/Stream"] == [HANDLERS["/s/Stream"]] * 3
    assert got["/s/Missing"] == [None] * 3
