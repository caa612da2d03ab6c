"""API-key authentication and role checks for every gRPC call (a grpc.aio interceptor).

A call carries `authorization: Bearer rk_<id>_<secret>`. Keys verified against the store are
trusted for `ttl_s` seconds in memory (keyed by the key's SHA-256, never the clear key), so a
revoke reaches every server process within that time while a busy channel costs one store
read per key per `ttl_s`, not one per call.

The interceptor wraps each method's behaviour once and decides per call, inside the call: the
metrics interceptor around it caches handlers per method and counts the refused calls by code.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Final

import grpc

from recsys.security import keys, roles
from recsys.security.keys import ApiKey
from recsys.settings import Settings
from recsys.stores.base import StoreUnavailable
from recsys.stores.sql_keys import open_key_store
from serving.transport.unary_wrap import UnaryWrapInterceptor, rewrapped

# The verified key of the call being handled (None with auth off): set by the interceptor in
# the call's own context, so a handler can name its caller (e.g. the actor of an offer change).
CALLER: ContextVar[ApiKey | None] = ContextVar("recsys_caller", default=None)

log = logging.getLogger(__name__)
AUTH_OFF_WARNING: Final = (
    "authentication is OFF (RECSYS_AUTH_REQUIRED=false): any client may call every method"
)
PLAINTEXT_KEYS_WARNING: Final = (
    "authentication is on without TLS: API keys travel in clear text; set RECSYS_TLS_CERT_FILE "
    "and RECSYS_TLS_KEY_FILE, or terminate TLS in front of the server on a trusted network"
)
HEADER: Final = "authorization"
SCHEME: Final = "bearer"
MAX_CACHED: Final = 10_000  # distinct keys (good and bad) remembered at once


@dataclass(frozen=True)
class Refusal:
    """Why a call may not proceed: the status code and a message that never holds the key."""

    code: grpc.StatusCode
    message: str


class KeyCache:
    """Presented key -> its live ApiKey (or None), remembered for `ttl_s` seconds.

    Unknown keys are remembered too, so a client retrying a bad key does not hit the store on
    every call. `lookup` is the store's `authenticate` (blocking).
    """

    def __init__(
        self,
        lookup: Callable[[str], ApiKey | None],
        ttl_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_CACHED,
    ) -> None:
        self._lookup = lookup
        self._ttl = ttl_s
        self._clock = clock
        self._max = max_entries
        self._entries: dict[str, tuple[float, ApiKey | None]] = {}

    def cached(self, digest: str) -> tuple[bool, ApiKey | None]:
        """(True, key or None) when `digest` was checked less than ttl ago, else (False, None)."""
        entry = self._entries.get(digest)
        if entry is None or entry[0] <= self._clock():
            return False, None
        return True, entry[1]

    def resolve(self, presented: str, digest: str) -> ApiKey | None:
        """Ask the store about `presented` and remember the answer (blocking)."""
        found = self._lookup(presented)
        if self._ttl > 0:
            now = self._clock()
            if len(self._entries) >= self._max:
                self._evict(now)
            self._entries[digest] = (now + self._ttl, found)
        return found

    def __len__(self) -> int:
        return len(self._entries)

    def _evict(self, now: float) -> None:
        live = {d: e for d, e in self._entries.items() if e[0] > now}
        # still full of live entries (a flood of distinct keys): start over rather than grow
        self._entries = live if len(live) < self._max else {}


def bearer(metadata: Sequence[tuple[str, Any]] | None) -> str | Refusal:
    """The key from `authorization: Bearer <key>` metadata, or why there is none usable."""
    given = [value for name, value in metadata or () if name.lower() == HEADER]
    if len(given) > 1:
        # which one a proxy or a server honours differs: an ambiguous caller is no caller
        return Refusal(
            grpc.StatusCode.UNAUTHENTICATED,
            f"{len(given)} authorization headers: send exactly one 'Bearer <API key>'",
        )
    for value in given:
        scheme, _, token = (value if isinstance(value, str) else "").strip().partition(" ")
        if scheme.lower() != SCHEME or not token.strip():
            return Refusal(
                grpc.StatusCode.UNAUTHENTICATED, "authorization metadata must be 'Bearer <API key>'"
            )
        return token.strip()
    return Refusal(
        grpc.StatusCode.UNAUTHENTICATED,
        "missing API key: send metadata 'authorization: Bearer <API key>'",
    )


class AuthInterceptor(UnaryWrapInterceptor):
    """Refuses calls without a live key (UNAUTHENTICATED) or with a role that may not call the
    method (PERMISSION_DENIED); health and reflection pass untouched."""

    def __init__(self, cache: KeyCache, blocking: Executor | None = None) -> None:
        super().__init__()
        self._cache = cache
        self._blocking = blocking  # where store reads on a cache miss run, off the loop

    def passes(self, method: str) -> bool:
        """Health and reflection: open to anyone."""
        return roles.is_open(method)

    def wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        """The handler, run only for a caller whose key and role may call `method`."""
        return rewrapped(handler, self._guard(handler.unary_unary, method))

    async def other(
        self, handler: grpc.RpcMethodHandler | None, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        """Open and unknown methods untouched (UNIMPLEMENTED tells nothing about keys);
        streaming ones checked for this call only."""
        method = handler_call_details.method
        if handler is None or roles.is_open(method):
            return handler
        refusal = await self._check(handler_call_details.invocation_metadata, method)
        return handler if refusal is None else _refusing(handler, refusal)

    def _guard(self, behavior: Callable[..., Any], method: str) -> Callable[..., Any]:
        if not inspect.iscoroutinefunction(behavior):  # sync handlers run in the thread pool

            def guarded_sync(request: Any, context: grpc.ServicerContext) -> Any:
                refusal = self.check_blocking(context.invocation_metadata(), method)
                return behavior(request, context) if refusal is None else _refuse(context, refusal)

            return guarded_sync

        async def guarded(request: Any, context: grpc.aio.ServicerContext) -> Any:
            refusal = await self._check(context.invocation_metadata(), method)
            if refusal is not None:
                return _refuse(context, refusal)
            return await behavior(request, context)

        return guarded

    async def _check(
        self, metadata: Sequence[tuple[str, Any]] | None, method: str
    ) -> Refusal | None:
        """None when the call may go on; cache hits are answered on the loop, misses off it."""
        found = self._from_cache(metadata)
        if isinstance(found, _Miss):
            resolve = functools.partial(self._resolve, found.presented, found.digest)
            found = await asyncio.get_running_loop().run_in_executor(self._blocking, resolve)
        return _admit(found, method)

    def check_blocking(
        self, metadata: Sequence[tuple[str, Any]] | None, method: str
    ) -> Refusal | None:
        """`_check` for synchronous handlers (already on a pool thread)."""
        found = self._from_cache(metadata)
        if isinstance(found, _Miss):
            found = self._resolve(found.presented, found.digest)
        return _admit(found, method)

    def _from_cache(
        self, metadata: Sequence[tuple[str, Any]] | None
    ) -> ApiKey | None | Refusal | _Miss:
        """The key as the cache knows it (None: known bad), a refusal, or a miss to resolve."""
        presented = bearer(metadata)
        if isinstance(presented, Refusal):
            return presented
        digest = keys.fingerprint(presented)
        hit, key = self._cache.cached(digest)
        return key if hit else _Miss(presented, digest)

    def _resolve(self, presented: str, digest: str) -> ApiKey | None | Refusal:
        try:
            return self._cache.resolve(presented, digest)
        except StoreUnavailable as exc:
            log.warning("cannot check an API key: %s", exc)
            return Refusal(grpc.StatusCode.UNAVAILABLE, "cannot check the API key now: " + str(exc))


@dataclass(frozen=True)
class _Miss:
    """A key the cache does not know yet: to be resolved against the store."""

    presented: str = field(repr=False)  # the clear key: never in a repr or a log
    digest: str


def _admit(found: ApiKey | None | Refusal, method: str) -> Refusal | None:
    """None when `found` may call `method` (and it becomes the call's CALLER)."""
    if isinstance(found, Refusal):
        return found
    refusal = _decide(found, method)
    if refusal is None:
        CALLER.set(found)  # this call's context only: the handler reads who is calling
    return refusal


def _decide(key: ApiKey | None, method: str) -> Refusal | None:
    if key is None:
        return Refusal(
            grpc.StatusCode.UNAUTHENTICATED,
            "invalid API key: malformed, unknown, revoked or wrong secret",
        )
    if roles.allowed(key.role, method):
        return None
    who = " or ".join(roles.roles_allowed(method))
    return Refusal(
        grpc.StatusCode.PERMISSION_DENIED,
        f"API key {key.name!r} (id {key.id}) has role {key.role!r}, which may not call "
        f"{method}; that needs role {who}",
    )


def _refuse(context: grpc.ServicerContext, refusal: Refusal) -> None:
    # set, not abort: the status goes out after the metrics interceptor has counted the call
    context.set_code(refusal.code)
    context.set_details(refusal.message)


def _refusing(handler: grpc.RpcMethodHandler, refusal: Refusal) -> grpc.RpcMethodHandler:
    """A handler of the same kind as `handler` that only refuses."""

    async def refuse(_request: Any, context: grpc.aio.ServicerContext) -> None:
        _refuse(context, refusal)

    kinds = {
        "unary_stream": grpc.unary_stream_rpc_method_handler,
        "stream_unary": grpc.stream_unary_rpc_method_handler,
        "stream_stream": grpc.stream_stream_rpc_method_handler,
    }
    make = next(make for kind, make in kinds.items() if getattr(handler, kind) is not None)
    return make(
        refuse,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def auth_interceptors(settings: Settings, blocking: Executor | None = None) -> list[Any]:
    """[AuthInterceptor] on the settings' key store when auth is required, else [] (logged)."""
    if not settings.auth_required:
        log.warning(AUTH_OFF_WARNING)
        return []
    if settings.tls_cert_file is None:
        log.warning(PLAINTEXT_KEYS_WARNING)
    store = open_key_store(settings.resolved_database_url)
    cache = KeyCache(store.authenticate, settings.auth_cache_seconds)
    return [AuthInterceptor(cache, blocking)]
