"""gRPC servicer: protos -> service calls -> protos, domain errors -> status codes. Nothing else.

The handlers are coroutines of a grpc.aio server (see serving.transport.loop_server): a call's
work is done right on the loop thread, except what waits (store writes, large batches), which runs
in the `blocking` executor so the loop keeps answering.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from serving.decisions.log import DecisionLog, answer_json
from serving.recommend import domain as d
from serving.recommend.answer_cache import Kept
from serving.recommend.service import SuggestionService
from serving.recommend.validation import ValidationError, check_event_count, request_id_or_new
from serving.transport.auth import CALLER
from serving.transport.limits import BYTES_PER_ITEM, ResponseBudget
from serving.transport.logs import bind_request_id
from serving.transport.metrics import ServingMetrics
from serving.transport.status import common_status, with_status

log = logging.getLogger(__name__)
Resp = TypeVar("Resp")


_status = with_status(common_status)  # codes shared with the other servicers


class RecommendationServicer(pb_grpc.RecommendationServiceServicer):
    """The SuggestionService of recsys.v1 over a SuggestionService domain object."""

    def __init__(
        self,
        service: SuggestionService,
        metrics: ServingMetrics | None = None,
        blocking: Executor | None = None,
        decision_log: DecisionLog | None = None,
        budget: ResponseBudget | None = None,
    ) -> None:
        self.service = service
        self.budget = budget  # bytes of batch answers that may wait for slow readers
        self.metrics = metrics
        self.blocking = blocking  # where calls that wait (store writes, big batches) run
        self.decision_log = decision_log  # answers are queued for it (never waited on)

    async def _off_loop(self, call: Callable[..., Resp], *args: Any) -> Resp:
        """`call(*args)` in the blocking executor (inline when there is none), same context."""
        if self.blocking is None:
            return call(*args)
        bound = functools.partial(contextvars.copy_context().run, call, *args)
        return await asyncio.get_running_loop().run_in_executor(self.blocking, bound)

    @_status
    async def Recommend(  # noqa: N802 - gRPC method names
        self, request: pb.RecommendRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        started = time.perf_counter()
        rid = request_id_or_new(request.request_id, self.service.limits)
        with bind_request_id(rid):
            args = (
                request.customer_id,
                request.channel,
                request.k,
                dict(request.context),
                list(request.exclude_product_ids),
                rid,
            )
            if self.service.may_place_offers(request.channel):
                # placing an offer reserves its slot in the store (a commit): off the loop
                out = await self._off_loop(self.service.recommend, *args)
            else:
                out = self.service.recommend(*args)
            if isinstance(out, Kept):  # the answer cache's: kept as `encoded` made it
                kept: Encoded = out.value
                if self.decision_log is not None:
                    self.decision_log.submit_json(
                        out, request.channel, kept.items_json, kept.removed_json,
                        known=not kept.unknown_customer,
                    )
                return kept.items + _envelope(out, kept.unknown_customer)
            response = _recommendation(out)
            if out.arm:
                seconds = time.perf_counter() - started
                if self.metrics is not None:
                    self.metrics.experiment_answer(out.experiment_id, out.arm, seconds)
                if self.decision_log is not None:  # the report's p99 by arm reads it
                    self.decision_log.submit(out, request.channel, latency_ms=seconds * 1e3)
            elif self.decision_log is not None:
                self.decision_log.submit(out, request.channel)
            return response

    @_status
    async def RecommendBatch(  # noqa: N802 - gRPC method names
        self, request: pb.RecommendBatchRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        rid = request_id_or_new(request.request_id, self.service.limits)
        if self.budget is not None and not self._charge(request, context):
            return None
        with bind_request_id(rid):
            # many customers take many milliseconds: off the loop, so single calls go on
            out = await self._off_loop(
                self.service.recommend_batch,
                list(request.customer_ids),
                request.channel,
                request.k,
                list(request.exclude_product_ids),
                rid,
            )
            if self.decision_log is not None:
                self.decision_log.submit_many(out.results, request.channel)
            return pb.RecommendBatchResponse(
                results=[_recommendation(r) for r in out.results],
                model_version=out.model_version,
                request_id=out.request_id,
            )

    def _charge(self, request: pb.RecommendBatchRequest, context: Any) -> bool:
        """Charge the answer's bytes to the budget until the call ends; refuse when full."""
        assert self.budget is not None
        channel = self.service.settings.channels.get(request.channel)
        k = request.k or (channel.default_k if channel else self.service.limits.max_k)
        cost = len(request.customer_ids) * max(1, k) * BYTES_PER_ITEM
        if not self.budget.charge(cost):
            context.set_code(grpc.StatusCode.RESOURCE_EXHAUSTED)
            context.set_details(
                f"answers waiting to be sent fill this server's budget "
                f"({self.budget.max_bytes // 2**20} MiB): retry with backoff"
            )
            return False
        # the call ends once its answer is sent, or cancelled, or its connection is gone
        context.add_done_callback(lambda _context: self.budget.release(cost))
        return True

    @_status
    async def SimilarProducts(  # noqa: N802 - gRPC method names
        self, request: pb.SimilarProductsRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        out = self.service.similar_products(request.product_id, request.k)
        items = [
            pb.SimilarProduct(
                product_id=i.product_id, name=i.name, category=i.category, score=i.score
            )
            for i in out.items
        ]
        return pb.SimilarProductsResponse(items=items, model_version=out.model_version)

    @_status
    async def RecordEvents(  # noqa: N802 - gRPC method names
        self, request: pb.RecordEventsRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        # counted first: 1 MiB of empty events is ~500k of them, seconds of loop time to convert
        check_event_count(len(request.events), self.service.limits)
        events = [_event_in(e, i) for i, e in enumerate(request.events)]
        # waits on the store; event ids are unique per caller (its key), so two channel apps
        # can never collide
        accepted = await self._off_loop(self.service.record_events, events, _source())
        if self.metrics is not None:
            for (kind, channel), n in Counter((e.type, e.channel) for e in events).items():
                self.metrics.events_recorded(kind, channel, n)
        return pb.RecordEventsResponse(accepted=accepted)

    @_status
    async def GetModelInfo(  # noqa: N802 - gRPC method names
        self, request: pb.GetModelInfoRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        info = self.service.model_info()
        out = pb.ModelInfo(
            model_name=info.model_name,
            version=info.version,
            alias=info.alias,
            family=info.family,
            data_fingerprint=info.data_fingerprint,
            metrics=info.metrics,
            loaded_at=_timestamp(info.loaded_at),
        )
        if info.trained_at is not None:
            out.trained_at.CopyFrom(_timestamp(info.trained_at))
        return out


@dataclass(frozen=True, slots=True)
class Encoded:
    """A Recommend answer as the answer cache keeps it: what a hit sends and what it logs."""

    items: bytes  # RecommendResponse's field 1; with `_envelope` appended, the whole response
    items_json: str  # the decision log's JSON of the items
    removed_json: str  # and of the removals
    unknown_customer: bool = False


def encoded(answer: d.Recommendation) -> Encoded:
    """What the answer cache keeps of `answer` (its items and removals, not its ids)."""
    return Encoded(
        items_wire(answer.items),
        *answer_json(answer.items, answer.removed),
        answer.unknown_customer,
    )


def add_to_server(servicer: RecommendationServicer, server: grpc.aio.Server) -> None:
    """Add the service to `server` as the generated code does, except that Recommend may
    also answer with bytes: a kept answer's encoding (see `Encoded`), sent as they are
    rather than built into a message and serialized again for every hit."""
    registration = _Registration()
    pb_grpc.add_RecommendationServiceServicer_to_server(servicer, registration)
    if registration.handlers is None:  # generated code that registers another way
        raise RuntimeError("the generated SuggestionService registration changed")
    name, handlers = registration.handlers
    recommend = handlers["Recommend"]
    handlers = {
        **handlers,
        "Recommend": recommend._replace(
            response_serializer=_bytes_or(recommend.response_serializer)
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
    server.add_registered_method_handlers(name, handlers)


def items_wire(items: Sequence[d.Item]) -> bytes:
    """`items` encoded as RecommendResponse's field 1: with `_envelope` appended, the bytes
    of the whole response (its other fields come after items, in field order)."""
    return pb.RecommendResponse(items=_item_dicts(items)).SerializeToString()


class _Registration:
    """Stands in for the server in the generated registration: keeps the method handlers."""

    def __init__(self) -> None:
        self.handlers: tuple[str, dict[str, grpc.RpcMethodHandler]] | None = None

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        """Ignored: the same method handlers come to add_registered_method_handlers."""

    def add_registered_method_handlers(
        self, name: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        """Keep the service's method handlers."""
        self.handlers = name, dict(handlers)


def _bytes_or(serialize: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    def serializer(response: Any) -> bytes:
        return response if type(response) is bytes else serialize(response)

    return serializer


def _envelope(r: d.Recommendation | Kept[Encoded], unknown_customer: bool = False) -> bytes:
    return pb.RecommendResponse(
        model_version=r.model_version,
        request_id=r.request_id,
        customer_id=r.customer_id,
        unknown_customer=unknown_customer,
    ).SerializeToString()


def _item_dicts(items: Sequence[d.Item]) -> list[dict[str, Any]]:
    # nested messages given as dicts: protobuf builds them in C, half the time of pb objects
    return [
        {
            "product_id": i.product_id,
            "name": i.name,
            "category": i.category,
            "score": i.score,
            "rank": i.rank,
            "reasons": [{"code": x.code, "text": x.text} for x in i.reasons],
            "offer_id": i.offer_id,
            **(
                {"probability": i.probability, "value": i.value, "lever": i.lever}
                if i.probability is not None
                else {}
            ),
        }
        for i in items
    ]


def _recommendation(r: d.Recommendation) -> pb.RecommendResponse:
    return pb.RecommendResponse(
        items=_item_dicts(r.items),
        model_version=r.model_version,
        request_id=r.request_id,
        customer_id=r.customer_id,
        unknown_customer=r.unknown_customer,
        experiment_id=r.experiment_id,
        arm=r.arm,
    )


def _event_in(e: pb.Event, index: int) -> d.EventIn:
    return d.EventIn(
        customer_id=e.customer_id,
        product_id=e.product_id,
        type=e.type,
        channel=e.channel,
        timestamp=_event_time(e, index),
        request_id=e.request_id,
        offer_id=e.offer_id,
        amount=e.amount or None,  # proto3 has no null: 0 means "no amount"
        event_id=e.event_id,
    )


def _event_time(e: pb.Event, index: int) -> datetime | None:
    if not e.HasField("timestamp"):
        return None
    try:
        return e.timestamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise ValidationError(f"events[{index}].timestamp", f"out of range: {exc}") from exc


def _source() -> str:
    """Who is calling, as the event store keeps it: the API key's id, "" with auth off."""
    caller = CALLER.get()
    return caller.id if caller is not None else ""


def _timestamp(moment: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return ts
