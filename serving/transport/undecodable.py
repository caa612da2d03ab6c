"""Requests whose bytes are not the method's protobuf message -> INVALID_ARGUMENT.

grpc.aio deserializes a request before any handler runs, and answers UNKNOWN (logging a
traceback) when the bytes do not parse: a client's mistake would read as a server fault, and
a hostile client could fill the logs. This interceptor gives every unary-unary method a
deserializer that never raises, then answers the stand-in it returns with INVALID_ARGUMENT.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from serving.transport.unary_wrap import UnaryWrapInterceptor, rewrapped

MAX_DETAIL_CHARS = 200  # parser messages are short; never echo request bytes at length


@dataclass(frozen=True)
class Undecodable:
    """Stands in for a request that did not parse; `problem` says why."""

    problem: str


def tolerant(deserializer: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """`deserializer`, returning Undecodable instead of raising."""

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as exc:  # DecodeError, bad UTF-8, recursion limit: all the client's
            return Undecodable(f"{type(exc).__name__}: {exc}"[:MAX_DETAIL_CHARS])

    return deserialize


def _refuse(request: Undecodable, context: grpc.ServicerContext, method: str) -> None:
    context.set_code(grpc.StatusCode.INVALID_ARGUMENT)
    context.set_details(f"request to {method} does not parse: {request.problem}")


class UndecodableInterceptor(UnaryWrapInterceptor):
    """INVALID_ARGUMENT for unparseable unary-unary requests; other kinds pass through."""

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        """The handler with a tolerant deserializer and a behaviour that refuses stand-ins."""
        if handler.request_deserializer is None:  # raw bytes in: nothing can fail to parse
            return handler
        return rewrapped(
            handler, _checked(handler.unary_unary, method), tolerant(handler.request_deserializer)
        )


def _checked(behavior: Callable[[Any, Any], Any], method: str) -> Callable[[Any, Any], Any]:
    """`behavior`, except that an Undecodable request is refused without calling it."""
    if inspect.iscoroutinefunction(behavior):

        async def checked_async(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if isinstance(request, Undecodable):
                return _refuse(request, context, method)
            return await behavior(request, context)

        return checked_async

    def checked(request: Any, context: grpc.ServicerContext) -> Any:  # sync (health) handlers
        if isinstance(request, Undecodable):
            return _refuse(request, context, method)
        return behavior(request, context)

    return checked
