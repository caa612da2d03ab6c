"""The console's one channel to `recsys serve`, and calls made with the signed-in user's key.

Every call carries `authorization: Bearer <the user's key>` and `x-actor: console`, so the
server checks the role and records the key's name as who made a change, as for the CLI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import grpc

from serving._proto.recsys.v1 import admin_pb2_grpc, experiments_pb2_grpc, offers_pb2_grpc

ACTOR: Final = "console"
TIMEOUT_S: Final = 15.0
Resp = TypeVar("Resp")


class BackendError(Exception):
    """A call the server refused or could not answer: its status code and message."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message

    @property
    def lines(self) -> list[str]:
        """The message a line each (several problems of one request come as several lines)."""
        return [line for line in self.message.splitlines() if line.strip()]


@dataclass(frozen=True)
class Stubs:
    """The services the console calls."""

    offers: offers_pb2_grpc.OfferServiceStub
    admin: admin_pb2_grpc.AdminServiceStub
    experiments: experiments_pb2_grpc.ExperimentServiceStub


class Backend:
    """A grpc.aio channel to the server (opened on the console's event loop) and its stubs."""

    def __init__(self, target: str, credentials: grpc.ChannelCredentials | None = None) -> None:
        self.target = target
        self.credentials = credentials
        self._channel: grpc.aio.Channel | None = None
        self._stubs: Stubs | None = None

    def open(self) -> None:
        """Open the channel (call on the loop that serves the pages)."""
        if self.credentials is None:
            self._channel = grpc.aio.insecure_channel(self.target)
        else:
            self._channel = grpc.aio.secure_channel(self.target, self.credentials)
        self._stubs = Stubs(
            offers_pb2_grpc.OfferServiceStub(self._channel),
            admin_pb2_grpc.AdminServiceStub(self._channel),
            experiments_pb2_grpc.ExperimentServiceStub(self._channel),
        )

    async def close(self) -> None:
        """Close the channel."""
        if self._channel is not None:
            await self._channel.close()

    @property
    def stubs(self) -> Stubs:
        """The stubs on the open channel."""
        if self._stubs is None:
            raise RuntimeError("Backend.open() first")
        return self._stubs

    async def call(
        self, api_key: str, method: Callable[..., Awaitable[Resp]], request: Any
    ) -> Resp:
        """`method(request)` with the key's metadata; grpc errors -> BackendError."""
        metadata = (("authorization", f"Bearer {api_key}"), ("x-actor", ACTOR))
        try:
            return await method(request, metadata=metadata, timeout=TIMEOUT_S)
        except grpc.aio.AioRpcError as exc:
            raise BackendError(exc.code(), exc.details() or "") from exc
