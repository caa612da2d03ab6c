"""What one request, one caller and one server process may take: part of the one
configuration (recsys.settings), kept here so that file stays readable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RequestLimits(BaseModel):
    """Upper bounds on what one request may carry (protects latency and memory)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # the event store's id columns hold 128 characters (recsys.stores.tables.ID_LENGTH)
    max_id_length: int = Field(default=128, ge=1, le=128)
    max_k: int = Field(default=50, ge=1)
    max_batch: int = Field(default=1000, ge=1)
    # customers x k of one RecommendBatch: the answer must stay under the 4 MiB a gRPC
    # client accepts by default (a test sends the largest batch this allows)
    max_batch_items: int = Field(default=15_000, ge=1)
    max_events: int = Field(default=1000, ge=1)
    max_exclude: int = Field(default=100, ge=0)
    max_context_entries: int = Field(default=32, ge=0)
    max_context_key_length: int = Field(default=64, ge=1)
    max_context_value_length: int = Field(default=256, ge=1)


class RateLimit(BaseModel):
    """Calls a second one API key may make (0 = unlimited), and how many at once (burst)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_second: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    burst: float = Field(default=1.0, ge=1, allow_inf_nan=False)


def _default_rates() -> dict[str, RateLimit]:
    # a channel app serves many customers; marketing and admin tools are people at screens
    return {
        "channel": RateLimit(per_second=1000, burst=2000),
        "marketing": RateLimit(per_second=20, burst=40),
        "admin": RateLimit(per_second=50, burst=100),
    }


class ServerLimits(BaseModel):
    """What one connection, one caller or waiting answers may take of a server process
    (RECSYS_SERVER__<NAME>); past each the call is RESOURCE_EXHAUSTED, which clients retry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # a client that never reads keeps each stream's answer in the transport: this many per
    # connection bounds what one connection can pin; a channel's gRPC client queues its
    # further calls until one ends (the slow-client figures behind 4: bench/README.md)
    max_streams_per_connection: int = Field(default=4, ge=1)
    max_concurrent_rpcs: int = Field(default=256, ge=1, description="calls in a process at once")
    # megabytes of RecommendBatch answers computed at once: fewer at once keep the
    # allocator's high-water mark down
    waiting_answers_mb: float = Field(default=16.0, gt=0, allow_inf_nan=False)
    # per API key (auth on), divided among the processes sharing a port
    rate: dict[str, RateLimit] = Field(default_factory=_default_rates)
