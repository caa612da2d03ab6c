"""The service's side of a Recommend: the store's recent events in, items with reasons out."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from recsys.columns import Columns as C
from recsys.data.recent_events import RecentEvents
from recsys.engine.engine import Engine
from recsys.engine.request import Answer
from recsys.stores.base import EventStore, StoreUnavailable
from serving.recommend.domain import Item, Removed

log = logging.getLogger(__name__)
STORE_WARNING_EVERY_S = 10.0  # one warning per interval while the store is down, not per call


@dataclass(frozen=True, eq=False)
class ProductText:
    """Product ids, names and categories in internal id order, as lists of str (what a
    response is made of: a list index, no numpy scalar or str() per item)."""

    ids: np.ndarray
    id_list: list[str]
    name_list: list[str]
    category_list: list[str]

    @classmethod
    def of(cls, engine: Engine) -> ProductText:
        """From the engine's snapshot (rows are in product_map order)."""
        ids = engine.snapshot.product_map.ids
        return cls(
            ids=ids,
            id_list=[str(p) for p in ids],
            name_list=list(engine.product_names),
            category_list=[str(c) for c in engine.snapshot.products[C.category].to_list()],
        )


class RecentReader:
    """Reads customers' events since the snapshot; None while the store cannot be read, since
    suggestions from the model's memory beat no suggestions (one warning per interval)."""

    def __init__(self, store: EventStore, on_store_down: Callable[[], None] | None = None) -> None:
        self.store = store
        self.on_store_down = on_store_down
        self._warning = _Throttle(STORE_WARNING_EVERY_S)

    def __call__(self, engine: Engine, customer_ids: Sequence[str]) -> RecentEvents | None:
        """The customers' stored events since the engine's snapshot, or None."""
        try:
            return self.store.recent(sorted(set(customer_ids)), engine.snapshot.as_of)
        except StoreUnavailable as exc:
            if self.on_store_down is not None:
                self.on_store_down()
            held = self._warning()
            if held is not None:
                log.warning(
                    "serving from the model snapshot without recent events (%d similar since "
                    "the last warning): %s",
                    held,
                    exc,
                )
            return None


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


def row_items(text: ProductText, out: Answer, row: int) -> tuple[Item, ...]:
    """The ranked items of one answer row, each with its reasons and offer."""
    ids, names, categories = text.id_list, text.name_list, text.category_list
    return tuple(
        Item(
            ids[s.product],
            names[s.product],
            categories[s.product],
            s.score,
            s.rank,
            s.reasons,
            s.offer.id if s.offer is not None else "",
            s.probability,
            s.value,
            s.lever,
        )
        for s in out.items(row)
    )


def removed(text: ProductText, out: Answer, row: int) -> Removed:
    """What each hard rule removed for customer row `row` (the decision log's)."""
    return Removed(text.ids, {rule: mask[row] for rule, mask in out.masks.items()})
