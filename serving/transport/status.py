"""Domain errors -> gRPC status codes, shared by the servicers (one decorator per servicer).

Each servicer passes a `classify` function: exception -> (code, message), or None for "not
mine"; `common_status` covers the errors every service can raise.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from recsys.stores.base import StoreUnavailable
from serving.recommend import domain as d
from serving.recommend.validation import ValidationError

log = logging.getLogger(__name__)
Req = TypeVar("Req")
Resp = TypeVar("Resp")
Handler = Callable[[Any, Req, grpc.aio.ServicerContext], Awaitable[Resp]]
Classify = Callable[[Exception], "tuple[grpc.StatusCode, str] | None"]


def common_status(exc: Exception) -> tuple[grpc.StatusCode, str] | None:
    """The code of an error any service may raise (bad request, no model, store down)."""
    if isinstance(exc, ValidationError):
        return grpc.StatusCode.INVALID_ARGUMENT, str(exc)
    if isinstance(exc, d.UnknownProduct):
        return grpc.StatusCode.NOT_FOUND, str(exc)
    if isinstance(exc, d.NoModelLoaded):
        return grpc.StatusCode.UNAVAILABLE, str(exc)
    if isinstance(exc, StoreUnavailable):
        return grpc.StatusCode.UNAVAILABLE, public_store_message(exc)
    return None


def public_store_message(exc: StoreUnavailable) -> str:
    """What a client is told of a store outage: which store and what failed, not the driver's
    words (they name hosts, roles and files; the server's log keeps them)."""
    store, _, rest = str(exc).partition(": ")
    action = rest.partition(": ")[0] if rest else ""
    return f"{store}: {action} (unavailable, retry later)" if action else f"{store}: unavailable"


def with_status(classify: Classify = common_status) -> Callable[[Handler], Handler]:
    """A decorator turning what `classify` knows into codes; anything else is logged, INTERNAL.

    The code is set on the context and the handler returns: grpc.aio sends the status after
    the handler and the interceptors are done (context.abort would send it at once, before
    the metrics interceptor has counted the call).
    """

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(
            self: Any, request: Req, context: grpc.aio.ServicerContext
        ) -> Resp | None:
            remaining = context.time_remaining()
            if remaining is not None and remaining <= 0:  # the caller has given up: no work
                late = "deadline passed before the call ran"
                return fail(context, grpc.StatusCode.DEADLINE_EXCEEDED, late)
            try:
                return await handler(self, request, context)
            except Exception as exc:
                known = classify(exc)
                if known is None:
                    log.exception("%s failed", handler.__name__)
                    known = grpc.StatusCode.INTERNAL, "internal server error (logged)"
                return fail(context, *known)

        return wrapped

    return decorate


def fail(context: grpc.aio.ServicerContext, code: grpc.StatusCode, message: str) -> None:
    """Set the call's status (sent when the handler returns); long messages are cut."""
    context.set_code(code)
    context.set_details(capped(message))


# Details travel percent-encoded in the trailers, which clients drop past 8 kB (and then see
# RESOURCE_EXHAUSTED instead of the error): a message echoing a huge request value is cut.
MAX_DETAIL_BYTES = 2000


def capped(message: str) -> str:
    """`message`, cut to MAX_DETAIL_BYTES of UTF-8 (marked with "...") when longer."""
    raw = message.encode()
    if len(raw) <= MAX_DETAIL_BYTES:
        return message
    return raw[: MAX_DETAIL_BYTES - 3].decode(errors="ignore") + "..."
