"""Requests whose bytes are not the method's protobuf message -> INVALID_ARGUMENT.

grpc.aio deserializes a request before any handler runs, and answers UNKNOWN (logging a
traceback) when the bytes do not parse: a client's mistake would read as a server fault, and
a hostile client could fill the logs. This interceptor gives every unary-unary method a
deserializer that never raises, then answers the stand-in it returns with INVALID_ARGUMENT.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc

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


class UndecodableInterceptor(grpc.aio.ServerInterceptor):
    """INVALID_ARGUMENT for unparseable unary-unary requests; other kinds pass through."""

    def __init__(self) -> None:
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}  # per method, built once

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        """The handler with a tolerant deserializer and a behaviour that refuses stand-ins."""
        name = handler_call_details.method
        wrapped = self._wrapped.get(name)
        if wrapped is not None:
            return wrapped
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None or handler.request_deserializer is None:
            return handler
        wrapped = grpc.unary_unary_rpc_method_handler(
            _checked(handler.unary_unary, name),
            request_deserializer=tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )
        self._wrapped[name] = wrapped
        return wrapped


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
