"""gRPC ExperimentService: messages -> ExperimentManager calls -> messages; errors -> codes.

Every call waits on the store (or the registry), so each runs in the `blocking` executor.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

import grpc

from recsys.experiments.model import ExperimentProblem, Status
from recsys.experiments.report import Report
from recsys.stores.sql_experiments import ExperimentConflict, ExperimentNotFound
from serving._proto.recsys.v1 import experiments_pb2 as pb
from serving._proto.recsys.v1 import experiments_pb2_grpc as pb_grpc
from serving.blocking import off_loop
from serving.experiments.manage import ExperimentManager, NotAllowed
from serving.experiments.protos import (
    audit_to_pb,
    draft_from_pb,
    experiment_to_pb,
    report_to_pb,
)
from serving.offers.servicer import actor_of
from serving.transport.status import common_status, with_status

Resp = TypeVar("Resp")


def experiment_status(exc: Exception) -> tuple[grpc.StatusCode, str] | None:
    """Experiment errors -> codes (every problem of a request together), then the common ones."""
    if isinstance(exc, ExperimentProblem):
        return grpc.StatusCode.INVALID_ARGUMENT, "\n".join(
            f"{p.field}: {p.problem}" for p in exc.each
        )
    if isinstance(exc, ExperimentNotFound):
        return grpc.StatusCode.NOT_FOUND, str(exc)
    if isinstance(exc, ExperimentConflict):
        taken = str(exc).startswith("name:")
        code = grpc.StatusCode.ALREADY_EXISTS if taken else grpc.StatusCode.FAILED_PRECONDITION
        return code, str(exc)
    if isinstance(exc, NotAllowed):
        return grpc.StatusCode.FAILED_PRECONDITION, str(exc)
    if isinstance(exc, ValueError) and str(exc).startswith(("promote:", "statuses:")):
        return grpc.StatusCode.INVALID_ARGUMENT, str(exc)
    return common_status(exc)


_status = with_status(experiment_status)


class ExperimentServicer(pb_grpc.ExperimentServiceServicer):
    """The ExperimentService of recsys.v1 over an ExperimentManager."""

    def __init__(self, manager: ExperimentManager, blocking: Executor | None = None) -> None:
        self.manager = manager
        self.blocking = blocking

    async def _run(self, call: Callable[..., Resp], *args: Any, **kwargs: Any) -> Resp:
        return await off_loop(self.blocking, call, *args, **kwargs)

    @_status
    async def Create(  # noqa: N802 - gRPC method names
        self, request: pb.CreateExperimentRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        actor = actor_of(context.invocation_metadata())
        made = await self._run(self.manager.create, draft_from_pb(request), actor)
        return experiment_to_pb(made)

    @_status
    async def Get(  # noqa: N802 - gRPC method names
        self, request: pb.ExperimentRef, context: grpc.aio.ServicerContext
    ) -> Any:
        experiment, history = await self._run(self.manager.get, request.experiment_ref)
        return pb.GetExperimentResponse(
            experiment=experiment_to_pb(experiment), history=[audit_to_pb(a) for a in history]
        )

    @_status
    async def List(  # noqa: N802 - gRPC method names
        self, request: pb.ListExperimentsRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        statuses = []
        for s in request.statuses:
            try:
                statuses.append(Status(s))
            except ValueError as exc:
                known = ", ".join(str(x) for x in Status)
                raise ValueError(f"statuses: unknown status {s!r}; known: {known}") from exc
        found = await self._run(self.manager.list, statuses)
        return pb.ListExperimentsResponse(experiments=[experiment_to_pb(e) for e in found])

    @_status
    async def Stop(  # noqa: N802 - gRPC method names
        self, request: pb.ExperimentRef, context: grpc.aio.ServicerContext
    ) -> Any:
        actor = actor_of(context.invocation_metadata())
        return experiment_to_pb(await self._run(self.manager.stop, request.experiment_ref, actor))

    @_status
    async def Report(  # noqa: N802 - gRPC method names
        self, request: pb.ExperimentRef, context: grpc.aio.ServicerContext
    ) -> Any:
        return _with_problems(await self._run(self.manager.report, request.experiment_ref))

    @_status
    async def Conclude(  # noqa: N802 - gRPC method names
        self, request: pb.ConcludeExperimentRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        actor = actor_of(context.invocation_metadata())
        done = await self._run(
            self.manager.conclude,
            request.experiment_ref,
            actor,
            promote=request.promote,
            force=request.force,
            note=request.note,
        )
        return pb.ConcludeExperimentResponse(
            experiment=experiment_to_pb(done.experiment),
            promoted=done.promoted,
            champion_version=done.champion_version,
            reasons=list(done.reasons),
            report=_with_problems(done.report),
        )


def _with_problems(report: Report) -> pb.ExperimentReport:
    """The report's message with what keeps Conclude from promoting the challenger now, so
    a client (the console) shows the server's own verdict rather than guessing it."""
    message = report_to_pb(report)
    message.promotion_problems.extend(ExperimentManager.promotion_problems(report))
    return message
