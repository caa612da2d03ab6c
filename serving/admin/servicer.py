"""gRPC AdminService: the caller's key, the catalog, model versions, a customer's decisions.

The role checks are the auth interceptor's (recsys.security.roles); store and registry reads
run in the `blocking` executor, so the loop thread keeps answering Recommend meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import Any, Final

import grpc

from recsys.stores.sql_decisions import DecisionStore
from serving._proto.recsys.v1 import admin_pb2 as pb
from serving._proto.recsys.v1 import admin_pb2_grpc as pb_grpc
from serving.admin.catalog import catalog_to_pb
from serving.admin.decisions import decision_to_pb
from serving.admin.models import ModelVersions
from serving.blocking import off_loop
from serving.models.holder import ModelHolder
from serving.offers.protos import timestamp
from serving.recommend.domain import NoModelLoaded
from serving.recommend.validation import ValidationError
from serving.transport.auth import CALLER
from serving.transport.status import with_status

DEFAULT_DECISIONS: Final = 20
MAX_DECISIONS: Final = 200
_status = with_status()


class AdminServicer(pb_grpc.AdminServiceServicer):
    """recsys.v1.AdminService over the serving model, the registry and the decision store."""

    def __init__(
        self,
        holder: ModelHolder,
        channels: Sequence[str],
        versions: ModelVersions,
        decisions: Callable[[], DecisionStore],
        blocking: Executor | None = None,
    ) -> None:
        self.holder = holder
        self.channels = tuple(channels)
        self.versions = versions
        self._decisions = decisions  # opened on first use: most servers are never asked
        self._store: DecisionStore | None = None
        self.blocking = blocking

    @_status
    async def WhoAmI(  # noqa: N802 - gRPC method names
        self, request: pb.WhoAmIRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        key = CALLER.get()
        if key is None:  # auth off: no key was checked
            return pb.WhoAmIResponse(auth_required=False)
        return pb.WhoAmIResponse(auth_required=True, key_id=key.id, name=key.name, role=key.role)

    @_status
    async def GetCatalog(  # noqa: N802 - gRPC method names
        self, request: pb.GetCatalogRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        loaded = self.holder.current()
        if loaded is None:
            raise NoModelLoaded("no model loaded yet: the catalog is not known; retry shortly")
        return catalog_to_pb(loaded.engine, loaded.version, self.channels)

    @_status
    async def ListModelVersions(  # noqa: N802 - gRPC method names
        self, request: pb.ListModelVersionsRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        found = await off_loop(self.blocking, self.versions.list)
        loaded = self.holder.current()
        return pb.ListModelVersionsResponse(
            registered_model=self.versions.name,
            serving_version=loaded.version if loaded is not None else "",
            versions=[
                pb.ModelVersionInfo(
                    version=v.version,
                    family=v.family,
                    create_time=timestamp(v.created),
                    run_id=v.run_id,
                    aliases=v.aliases,
                    metrics=[
                        pb.ModelMetric(name=m.name, value=m.value, baseline=m.baseline)
                        for m in v.metrics
                    ],
                )
                for v in found
            ],
        )

    @_status
    async def ListDecisions(  # noqa: N802 - gRPC method names
        self, request: pb.ListDecisionsRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        customer = request.customer_id.strip()
        if not customer:
            raise ValidationError("customer_id", "is required")
        if not 0 <= request.limit <= MAX_DECISIONS:
            raise ValidationError("limit", f"must be 0..{MAX_DECISIONS}, got {request.limit}")
        since = _since(request)
        limit = request.limit or DEFAULT_DECISIONS
        found = await off_loop(self.blocking, self._read_decisions, customer, since, limit)
        return pb.ListDecisionsResponse(
            customer_id=customer, decisions=[decision_to_pb(d) for d in found]
        )

    def _read_decisions(self, customer: str, since: Any, limit: int) -> list:
        if self._store is None:
            self._store = self._decisions()
        return self._store.for_customer(customer, since=since, limit=limit)

    def close(self) -> None:
        """Close the decision store if it was opened."""
        if self._store is not None:
            self._store.close()


def _since(request: pb.ListDecisionsRequest) -> datetime | None:
    """The `since` time, or None; ValidationError for a timestamp out of range."""
    if not request.HasField("since"):
        return None
    try:
        return request.since.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise ValidationError("since", f"not a valid time: {exc}") from exc
