"""A grpc.aio interceptor that wraps each unary-unary method's handler once and reuses it.

grpc.aio asks every interceptor for the handler of every call. Building a wrapped handler
per call costs a few microseconds per interceptor on the loop thread; the handlers of a
server's methods never change, so each is wrapped on its first call and kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]]


class UnaryWrapInterceptor(grpc.aio.ServerInterceptor):
    """Subclasses say how to wrap a unary-unary handler (`wrap`); the result is kept per method.

    Methods for which `passes(method)` is true, unknown methods and streaming ones are not
    kept: they go through `other` on every call (by default, untouched).
    """

    def __init__(self) -> None:
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}  # per method, built once

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        """The method's wrapped handler, built on its first call."""
        method = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is not None:
            return wrapped
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None or self.passes(method):
            return await self.other(handler, handler_call_details)
        wrapped = self.wrap(handler, method)
        self._wrapped[method] = wrapped
        return wrapped

    def passes(self, method: str) -> bool:
        """Whether the unary-unary `method` (full name) is left as it is."""
        return False

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        """The handler the unary-unary `method` (full name) is served by from now on."""
        raise NotImplementedError

    async def other(
        self, handler: grpc.RpcMethodHandler | None, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        """The handler of one call that is not wrapped (passed, unknown or streaming)."""
        return handler


def rewrapped(
    handler: grpc.RpcMethodHandler,
    behavior: Callable[[Any, Any], Any],
    deserializer: Callable[[bytes], Any] | None = None,
) -> grpc.RpcMethodHandler:
    """A unary-unary handler running `behavior`, with `handler`'s (de)serializers."""
    return grpc.unary_unary_rpc_method_handler(
        behavior,
        request_deserializer=deserializer or handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
