"""gRPC OfferManager: offer messages -> OfferManager calls -> messages; errors -> status codes.

Every call waits on the offer store, so each runs in the `blocking` executor: the loop thread
keeps answering Recommend meanwhile.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any, Final, TypeVar

import grpc

from recsys.offers.model import OfferProblem, Status
from recsys.stores.sql_offers import OfferConflict, OfferNotFound
from recsys.stores.tables import ID_LENGTH
from serving._proto.recsys.v1 import offers_pb2 as pb
from serving._proto.recsys.v1 import offers_pb2_grpc as pb_grpc
from serving.blocking import off_loop
from serving.offers.manage import OfferEdit, OfferManager
from serving.offers.protos import (
    api_field,
    api_message,
    audit_to_pb,
    offer_to_pb,
    preview_to_pb,
    stats_to_pb,
    status_from_pb,
)
from serving.offers.requests import changes_from_pb, draft_from_pb
from serving.transport.auth import CALLER
from serving.transport.status import common_status, with_status

Resp = TypeVar("Resp")
ACTOR_HEADER: Final = "x-actor"
_ACTOR_SPECIAL: Final = re.compile(r"[\\()\x00-\x1f\x7f-\x9f]")
UNKNOWN_ACTOR: Final = "unknown"


def offer_status(exc: Exception) -> tuple[grpc.StatusCode, str] | None:
    """Offer errors -> codes (a taken name is ALREADY_EXISTS), then the common ones.

    Several problems of one request go out together, one "field: problem" line each.
    """
    if isinstance(exc, OfferProblem):
        lines = [f"{api_field(p.field)}: {p.problem}" for p in exc.each]
        return grpc.StatusCode.INVALID_ARGUMENT, "\n".join(lines)
    if isinstance(exc, OfferNotFound):
        return grpc.StatusCode.NOT_FOUND, str(exc)
    if isinstance(exc, OfferConflict):
        # the store says which conflict it is only in the message: "name: ..." for a name clash
        taken = str(exc).startswith("name:")
        code = grpc.StatusCode.ALREADY_EXISTS if taken else grpc.StatusCode.FAILED_PRECONDITION
        return code, str(exc)
    return common_status(exc)


_status = with_status(offer_status)


def escaped_actor(declared: str) -> str:
    """A declared actor that cannot pass for another: backslashes, brackets and control
    characters escaped, so `x-actor: bob) (key:admin` stays one bracketed name."""
    return _ACTOR_SPECIAL.sub(_escape_char, declared)


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    return f"\\{char}" if char in "\\()" else f"\\x{ord(char):02x}"


def actor_of(metadata: Sequence[tuple[str, Any]] | None) -> str:
    """Who makes a change, for created_by/updated_by and the audit trail.

    With auth on, the verified API key's name comes first ("key:<name>"); the `x-actor` the
    caller declares (the CLI's --actor, by default $USER) follows in brackets, since one
    marketing key may be shared by a team. With auth off only the declared name is known.
    """
    declared = UNKNOWN_ACTOR
    for name, value in metadata or ():
        if name.lower() == ACTOR_HEADER and isinstance(value, str) and value.strip():
            declared = escaped_actor(value.strip())
            break
    key = CALLER.get()
    if key is None:
        return declared[:ID_LENGTH]
    verified = f"key:{key.name}"
    actor = verified if declared == UNKNOWN_ACTOR else f"{verified} ({declared})"
    return actor[:ID_LENGTH]  # what the store keeps


class OfferServicer(pb_grpc.OfferServiceServicer):
    """The OfferManager of recsys.v1 over an OfferManager domain object."""

    def __init__(self, service: OfferManager, blocking: Executor | None = None) -> None:
        self.service = service
        self.blocking = blocking

    async def _run(self, call: Callable[..., Resp], *args: Any, **kwargs: Any) -> Resp:
        """`call` in the blocking executor (inline when there is none), same context."""
        return await off_loop(self.blocking, call, *args, **kwargs)

    @_status
    async def CreateOffer(  # noqa: N802 - gRPC method names
        self, request: pb.CreateOfferRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        draft = draft_from_pb(request.offer)
        actor = actor_of(context.invocation_metadata())
        return _change(await self._run(self.service.create, draft, actor))

    @_status
    async def UpdateOffer(  # noqa: N802 - gRPC method names
        self, request: pb.UpdateOfferRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        changes, target = changes_from_pb(request.offer, request.update_mask.paths)
        revision = request.expected_revision if request.HasField("expected_revision") else None
        out = await self._run(
            self.service.update,
            request.offer_ref,
            actor_of(context.invocation_metadata()),
            changes,
            target,
            expected_revision=revision,
        )
        return _change(out)

    @_status
    async def GetOffer(  # noqa: N802 - gRPC method names
        self, request: pb.GetOfferRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        detail = await self._run(
            self.service.get, request.offer_ref, with_history=request.include_history
        )
        return pb.GetOfferResponse(
            offer=offer_to_pb(detail.offer), history=[audit_to_pb(e) for e in detail.history]
        )

    @_status
    async def ListOffers(  # noqa: N802 - gRPC method names
        self, request: pb.ListOffersRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        statuses = [status_from_pb(s, "statuses") for s in request.statuses]
        offers = await self._run(self.service.list, statuses)
        out = pb.ListOffersResponse(offers=[offer_to_pb(o) for o in offers])
        if request.include_stats:
            found = await self._run(self.service.stats_of, offers)
            out.stats.extend(stats_to_pb(o, s) for o, s in zip(offers, found, strict=True))
        return out

    @_status
    async def PauseOffer(  # noqa: N802 - gRPC method names
        self, request: pb.OfferStatusRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        return await self._move(request, context, Status.paused)

    @_status
    async def ResumeOffer(  # noqa: N802 - gRPC method names
        self, request: pb.OfferStatusRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        return await self._move(request, context, Status.active)

    @_status
    async def EndOffer(  # noqa: N802 - gRPC method names
        self, request: pb.OfferStatusRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        return await self._move(request, context, Status.ended)

    @_status
    async def GetOfferStats(  # noqa: N802 - gRPC method names
        self, request: pb.GetOfferStatsRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        report = await self._run(
            self.service.stats, request.offer_ref, with_days=request.include_days
        )
        return stats_to_pb(report.offer, report.stats, report.days, report.caps)

    @_status
    async def PreviewOffer(  # noqa: N802 - gRPC method names
        self, request: pb.CreateOfferRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        found = await self._run(self.service.preview, draft_from_pb(request.offer))
        return preview_to_pb(found)

    async def _move(
        self, request: pb.OfferStatusRequest, context: grpc.aio.ServicerContext, status: Status
    ) -> pb.OfferChange:
        revision = request.expected_revision if request.HasField("expected_revision") else None
        actor = actor_of(context.invocation_metadata())
        out = await self._run(
            self.service.set_status, request.offer_ref, status, actor, expected_revision=revision
        )
        return _change(out)


def _change(out: OfferEdit) -> pb.OfferChange:
    return pb.OfferChange(
        offer=offer_to_pb(out.offer), warnings=[api_message(w) for w in out.warnings]
    )
