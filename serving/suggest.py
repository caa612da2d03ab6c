"""One loaded model + the event log -> top-k items with reasons for a batch of customers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from recsys.columns import Columns as C
from recsys.data.recent_events import RecentEvents
from recsys.engine.engine import Engine, Suggestions
from recsys.engine.overlay import apply_recent
from recsys.engine.profile import apply_context
from recsys.engine.state import BatchState
from recsys.models.reason import Reason, ReasonCode
from recsys.settings import InteractionWeights
from recsys.stores.base import EventStore, StoreUnavailable
from serving.domain import Item, ItemReason
from serving.events_in import MAX_CLOCK_SKEW
from serving.validation import ValidationError

log = logging.getLogger(__name__)
MAX_REASONS = 2
STORE_WARNING_EVERY_S = 10.0  # one warning per interval while the store is down, not per call
DEFAULT_REASON = ItemReason(ReasonCode.popular, "popular with our customers")
MAX_RENDERED_REASONS = 65_536  # products x templates, plus profile and segment texts


@dataclass(frozen=True, eq=False)
class ProductText:
    """Product ids, names and categories in internal id order (for building responses).

    Also as lists of str (what a response is made of: a list index, no numpy scalar or
    str() per item), and each rendered reason kept: a catalog has few products, so the
    texts "customers who hold X..." repeat across requests.
    """

    ids: np.ndarray
    names: np.ndarray
    categories: np.ndarray
    id_list: list[str] = field(default_factory=list)
    name_list: list[str] = field(default_factory=list)
    category_list: list[str] = field(default_factory=list)
    _rendered: dict[tuple, ItemReason] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, engine: Engine) -> ProductText:
        """From the engine's snapshot (rows are in product_map order)."""
        products = engine.snapshot.products
        ids = engine.snapshot.product_map.ids
        names = products[C.name].to_numpy().astype(object)
        categories = products[C.category].to_numpy().astype(object)
        return cls(
            ids=ids,
            names=names,
            categories=categories,
            id_list=[str(p) for p in ids],
            name_list=[str(p) for p in names],
            category_list=[str(p) for p in categories],
        )

    def reason(self, found: Reason) -> ItemReason:
        """The reason with product names filled in (kept per code, template and products)."""
        key = (found.code, found.text, found.related_products)
        shown = self._rendered.get(key)
        if shown is None:
            shown = ItemReason(found.code, found.render(self.name_list.__getitem__))
            if len(self._rendered) >= MAX_RENDERED_REASONS:
                self._rendered.clear()
            self._rendered[key] = shown
        return shown


def recent_events(
    engine: Engine,
    store: EventStore,
    customer_ids: Sequence[str],
    on_store_down: Callable[[], None] | None = None,
) -> RecentEvents | None:
    """The customers' stored events since the snapshot; None when the store cannot be read
    (`on_store_down` is called): suggestions from the model's memory beat no suggestions."""
    try:
        return store.recent(sorted(set(customer_ids)), engine.snapshot.as_of)
    except StoreUnavailable as exc:
        _store_down(exc, on_store_down)
        return None


def customer_states(
    engine: Engine,
    customer_ids: Sequence[str],
    contexts: Sequence[Mapping[str, str] | None],
    events: RecentEvents | None,
    weights: InteractionWeights,
    now: datetime,
) -> BatchState:
    """Snapshot state, context profile for unknown customers, then `events` (see recent_events)."""
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
    if not events:
        return state
    return apply_recent(
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


class _Throttle:
    """Lets one call through per `seconds`; says how many it held back since the last one."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._held_back = 0
        self._next = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> int | None:
        """None while held back, else the number of calls held back before this one."""
        with self._lock:
            now = time.monotonic()
            if now < self._next:
                self._held_back += 1
                return None
            self._next = now + self.seconds
            held, self._held_back = self._held_back, 0
            return held


_store_warning = _Throttle(STORE_WARNING_EVERY_S)


def _store_down(exc: StoreUnavailable, on_store_down: Callable[[], None] | None) -> None:
    if on_store_down is not None:
        on_store_down()
    held = _store_warning()
    if held is not None:
        log.warning(
            "serving from the model snapshot without recent events (%d similar since the last "
            "warning): %s",
            held,
            exc,
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
    ids, names, categories = text.id_list, text.name_list, text.category_list
    return tuple(
        Item(ids[p], names[p], categories[p], score, rank, reasons(text, why))
        for rank, (p, score, why) in enumerate(
            zip(chosen, out.scores[row][keep].tolist(), found, strict=True), 1
        )
    )


def reasons(text: ProductText, found: Sequence[Reason]) -> tuple[ItemReason, ...]:
    """The model's reasons with product names filled in; never empty."""
    if not found:
        return (DEFAULT_REASON,)
    return tuple(text.reason(r) for r in found)
