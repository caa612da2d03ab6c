"""One loaded model + the event log -> top-k items with reasons for a batch of customers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from recsys.columns import Columns as C
from recsys.engine.engine import Engine, Suggestions
from recsys.engine.overlay import apply_events
from recsys.engine.profile import apply_context
from recsys.engine.state import BatchState
from recsys.models.reason import Reason, ReasonCode
from recsys.settings import InteractionWeights
from recsys.stores.base import EventStore
from serving.domain import Item, ItemReason
from serving.events_in import MAX_CLOCK_SKEW
from serving.validation import ValidationError

MAX_REASONS = 2
DEFAULT_REASON = ItemReason(ReasonCode.popular, "popular with our customers")


@dataclass(frozen=True, eq=False)
class ProductText:
    """Product ids, names and categories in internal id order (for building responses)."""

    ids: np.ndarray
    names: np.ndarray
    categories: np.ndarray

    @classmethod
    def of(cls, engine: Engine) -> ProductText:
        """From the engine's snapshot (rows are in product_map order)."""
        products = engine.snapshot.products
        return cls(
            ids=engine.snapshot.product_map.ids,
            names=products[C.name].to_numpy().astype(object),
            categories=products[C.category].to_numpy().astype(object),
        )


def customer_states(
    engine: Engine,
    store: EventStore,
    customer_ids: Sequence[str],
    contexts: Sequence[Mapping[str, str] | None],
    weights: InteractionWeights,
    now: datetime,
) -> BatchState:
    """Snapshot state, context profile for unknown customers, then every stored event since."""
    state = engine.state(customer_ids)
    if any(c is not None for c in contexts):
        try:
            state = apply_context(state, contexts, today=now.date())
        except ValueError as exc:
            # the profile's messages already start with the field (`context[segment]: ...`)
            field, _, problem = str(exc).partition(": ")
            if not field.startswith("context") or not problem:
                field, problem = "context", str(exc)
            raise ValidationError(field, problem) from exc
    events = store.for_customers(sorted(set(state.customer_ids)), engine.snapshot.as_of)
    if events.height == 0:
        return state
    return apply_events(
        state,
        events,
        product_map=engine.snapshot.product_map,
        repeatable=engine.catalog.repeatable,
        weights=weights.as_dict(),
        half_life_days=weights.half_life_days,
        # the overlay ignores events after as_of; an accepted event may be stamped by a
        # channel clock running up to MAX_CLOCK_SKEW ahead, and must count at once
        as_of=now + MAX_CLOCK_SKEW,
    )


def exclude_mask(engine: Engine, product_ids: Sequence[str]) -> np.ndarray | None:
    """(n,) bool, True = leave out; ids the catalog does not know are ignored."""
    if not product_ids:
        return None
    internal = engine.snapshot.product_map.to_internal(product_ids, strict=False)
    mask = np.zeros(len(engine.catalog), dtype=bool)
    mask[internal[internal >= 0]] = True
    return mask


def row_items(
    engine: Engine, text: ProductText, state: BatchState, out: Suggestions, row: int
) -> tuple[Item, ...]:
    """The items of one state row, ranked, each with at least one reason."""
    products = out.ids[row]
    keep = products >= 0
    chosen = products[keep].tolist()
    found = engine.explain_items(state, row, chosen, bool(out.fallback[row]), MAX_REASONS)
    return tuple(
        Item(
            product_id=str(text.ids[p]),
            name=str(text.names[p]),
            category=str(text.categories[p]),
            score=float(s),
            rank=rank,
            reasons=reasons(text, why),
        )
        for rank, (p, s, why) in enumerate(
            zip(chosen, out.scores[row][keep].tolist(), found, strict=True), 1
        )
    )


def reasons(text: ProductText, found: Sequence[Reason]) -> tuple[ItemReason, ...]:
    """The model's reasons with product names filled in; never empty."""
    if not found:
        return (DEFAULT_REASON,)
    return tuple(ItemReason(r.code, r.render(lambda p: str(text.names[p]))) for r in found)
