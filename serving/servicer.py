"""gRPC servicer: protos -> service calls -> protos, domain errors -> status codes. Nothing else."""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from recsys.stores.base import StoreUnavailable
from serving import domain as d
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc
from serving.logs import bind_request_id
from serving.metrics import ServingMetrics
from serving.service import RecommendationService
from serving.validation import ValidationError, request_id_or_new

log = logging.getLogger(__name__)
Req = TypeVar("Req")
Resp = TypeVar("Resp")
Handler = Callable[[Any, Req, grpc.ServicerContext], Resp]


def _status(handler: Handler) -> Handler:
    """Domain errors become status codes; anything else is a server bug: logged, INTERNAL."""

    @functools.wraps(handler)
    def wrapped(self: Any, request: Req, context: grpc.ServicerContext) -> Resp:
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:  # the caller has given up: do no work
            context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline passed before the call ran")
        try:
            return handler(self, request, context)
        except ValidationError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except d.UnknownProduct as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        except d.NoModelLoaded as exc:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        except StoreUnavailable as exc:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        except Exception:
            log.exception("%s failed", handler.__name__)
            context.abort(grpc.StatusCode.INTERNAL, "internal server error (logged)")

    return wrapped


class RecommendationServicer(pb_grpc.RecommendationServiceServicer):
    """The RecommendationService of recsys.v1 over a RecommendationService domain object."""

    def __init__(
        self, service: RecommendationService, metrics: ServingMetrics | None = None
    ) -> None:
        self.service = service
        self.metrics = metrics

    @_status
    def Recommend(  # noqa: N802 - gRPC method names
        self, request: pb.RecommendRequest, context: grpc.ServicerContext
    ) -> Any:
        rid = request_id_or_new(request.request_id, self.service.limits)
        with bind_request_id(rid):
            out = self.service.recommend(
                request.customer_id,
                request.channel,
                request.k,
                dict(request.context),
                list(request.exclude_product_ids),
                rid,
            )
            return _recommendation(out)

    @_status
    def RecommendBatch(  # noqa: N802 - gRPC method names
        self, request: pb.RecommendBatchRequest, context: grpc.ServicerContext
    ) -> Any:
        rid = request_id_or_new(request.request_id, self.service.limits)
        with bind_request_id(rid):
            out = self.service.recommend_batch(
                list(request.customer_ids),
                request.channel,
                request.k,
                list(request.exclude_product_ids),
                rid,
            )
            return pb.RecommendBatchResponse(
                results=[_recommendation(r) for r in out.results],
                model_version=out.model_version,
                request_id=out.request_id,
            )

    @_status
    def SimilarProducts(  # noqa: N802 - gRPC method names
        self, request: pb.SimilarProductsRequest, context: grpc.ServicerContext
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
    def RecordEvents(  # noqa: N802 - gRPC method names
        self, request: pb.RecordEventsRequest, context: grpc.ServicerContext
    ) -> Any:
        events = [_event_in(e, i) for i, e in enumerate(request.events)]
        accepted = self.service.record_events(events)
        if self.metrics is not None:
            for (kind, channel), n in Counter((e.type, e.channel) for e in events).items():
                self.metrics.events_recorded(kind, channel, n)
        return pb.RecordEventsResponse(accepted=accepted)

    @_status
    def GetModelInfo(  # noqa: N802 - gRPC method names
        self, request: pb.GetModelInfoRequest, context: grpc.ServicerContext
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


def _recommendation(r: d.Recommendation) -> pb.RecommendResponse:
    items = [
        pb.RecommendedItem(
            product_id=i.product_id,
            name=i.name,
            category=i.category,
            score=i.score,
            rank=i.rank,
            reasons=[pb.Reason(code=x.code, text=x.text) for x in i.reasons],
            offer_id=i.offer_id,
        )
        for i in r.items
    ]
    return pb.RecommendResponse(
        items=items,
        model_version=r.model_version,
        request_id=r.request_id,
        customer_id=r.customer_id,
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
    )


def _event_time(e: pb.Event, index: int) -> datetime | None:
    if not e.HasField("timestamp"):
        return None
    try:
        return e.timestamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise ValidationError(f"events[{index}].timestamp", f"out of range: {exc}") from exc


def _timestamp(moment: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return ts
