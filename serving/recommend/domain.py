"""Plain values the service takes and returns: no gRPC types, so it is testable on its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

import numpy as np

from recsys.engine.request import ShownReason


class NoModelLoaded(RuntimeError):
    """No model version has been loaded yet; the server cannot answer."""


class UnknownProduct(LookupError):
    """A product the serving model's catalog does not have (SimilarProducts)."""


# Item and Removed are NamedTuples, not frozen dataclasses: an answer builds several of them,
# and a NamedTuple is the cheaper of the two to build.
class Item(NamedTuple):
    """One suggested product, 1-based rank."""

    product_id: str
    name: str
    category: str
    score: float
    rank: int
    reasons: tuple[ShownReason, ...]  # the pipeline's, as it gave them
    offer_id: str = ""
    probability: float | None = None  # calibrated P(purchase); None: the model has none
    value: float | None = None  # expected margin per sale
    lever: float | None = None  # marketing's lever on the product


class Removed(NamedTuple):
    """Which products each hard rule removed for one customer, kept as mask rows (no copies).

    Rendered to ids only when asked (the decision log's writer). Compare `as_dict()`: the
    rows are arrays, which == compares element by element.
    """

    product_ids: np.ndarray  # external ids in internal order
    allowed: Mapping[str, np.ndarray]  # rule -> (n,) bool, False = the rule removed it

    def as_dict(self) -> dict[str, list[str]]:
        """Rule -> product ids it removed (a product may be under several rules)."""
        ids = self.product_ids
        return {rule: ids[~row].tolist() for rule, row in self.allowed.items() if not row.all()}


@dataclass(frozen=True)
class Recommendation:
    """Top-k for one customer; `removed` says what the hard rules took out (decision log)."""

    customer_id: str
    items: tuple[Item, ...]
    model_version: str
    request_id: str
    removed: Removed | None = field(default=None, compare=False, repr=False)
    experiment_id: str = ""  # the experiment that answered ("" for none) and its arm
    arm: str = ""
    fallback: bool = False  # the engine's fallback model ranked the items
    unknown_customer: bool = False  # the snapshot does not know the customer (no history)


@dataclass(frozen=True)
class BatchRecommendation:
    """Top-k for many customers, in request order."""

    results: tuple[Recommendation, ...]
    model_version: str
    request_id: str


@dataclass(frozen=True)
class SimilarItem:
    """A product similar to the asked one."""

    product_id: str
    name: str
    category: str
    score: float


@dataclass(frozen=True)
class Similar:
    """Products most similar to one product."""

    items: tuple[SimilarItem, ...]
    model_version: str


@dataclass(frozen=True)
class EventIn:
    """One feedback event as a channel sends it (empty strings = not given)."""

    customer_id: str
    product_id: str
    type: str
    channel: str = ""
    timestamp: datetime | None = None  # now when None
    request_id: str = ""
    offer_id: str = ""
    amount: float | None = None
    event_id: str = ""  # the channel's id of the event: a retry with it is stored once


@dataclass(frozen=True)
class ServingInfo:
    """The model version serving now, and how it was judged."""

    model_name: str
    version: str
    alias: str
    family: str
    trained_at: datetime | None
    loaded_at: datetime
    data_fingerprint: str
    metrics: dict[str, float] = field(default_factory=dict)
