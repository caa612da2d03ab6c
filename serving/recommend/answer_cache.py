"""Recent answers of one model version and day, kept for customers who ask again.

A channel app asks again for the same customer whenever its screen opens; until an event is
recorded for that customer, the model, the day or the request changes, the answer is the same
(the rules depend on the day, the state on the snapshot and the events since). The service
looks here only for requests whose answer depends on nothing else: no context profile, no
excluded products, no offer running in the channel, and the store read found no event of the
customer since the snapshot. A hit skips the state, the rule masks, the scoring, the reasons
and the decision log's rendering: measured by bench/serve_overhead.py (c=16, median of 3),
the service's CPU per Recommend fell from 554 to 153 us, the server's from 1,429 to 863 us.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any, overload

import numpy as np

from serving.recommend.domain import Item, ItemReason, Removed

# one customer's ranked items, what the rules removed, the decision log's JSON of both and
# the items' wire encoding, each when rendered (see AnswerCache's log_json and wire)
Answer = tuple[Sequence[Item], Removed, tuple[str, str] | None, bytes | None]
LogJson = Callable[[Sequence[Item], Removed], tuple[str, str]]
Wire = Callable[[Sequence[Item]], bytes]
Frozen = tuple[object, ...]  # an answer as kept: strings, numbers and arrays (see freeze)


class AnswerCache:
    """At most `max_entries` answers of one generation, least recently used out first.

    A generation is what every answer depends on beyond its key (model version and engine,
    the day): the first answer stored for a new generation drops all the others, so an old
    model's answers are neither served nor kept.

    `log_json` (the decision log's renderer, when the log is on) renders an answer's JSON
    once, when it is stored: every later hit hands it to the log as it is. `wire` (the
    servicer's encoder) does the same for the items' protobuf encoding, which a hit's
    response is then made of without building messages.
    """

    def __init__(
        self, max_entries: int, log_json: LogJson | None = None, wire: Wire | None = None
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self.max_entries = max_entries
        self.log_json = log_json
        self.wire = wire
        self._lock = threading.Lock()  # Recommends with offers run on pool threads
        self._generation: Hashable = None
        self._entries: OrderedDict[Hashable, Frozen] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, generation: Hashable, key: Hashable) -> Answer | None:
        """The answer stored for `key` in `generation`, else None (counted as a miss)."""
        with self._lock:
            frozen = self._entries.get(key) if generation == self._generation else None
            if frozen is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
        return kept(frozen)

    def put(self, generation: Hashable, key: Hashable, answer: Answer) -> Answer:
        """Store `answer` for `key` (a new generation first drops every older answer); the
        answer with its decision-log JSON and wire encoding, for the renderers there are."""
        items, removed, rendered, wire = answer
        if rendered is None and self.log_json is not None:
            rendered = self.log_json(items, removed)
        if wire is None and self.wire is not None:
            wire = self.wire(items)
        answer = items, removed, rendered, wire
        frozen = freeze(answer)
        with self._lock:
            if generation != self._generation:
                self._entries = OrderedDict()
                self._generation = generation
            self._entries[key] = frozen
            self._entries.move_to_end(key)
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return answer


def freeze(answer: Answer) -> Frozen:
    """The answer as one flat tuple of strings, numbers and arrays, which the garbage
    collector stops scanning.

    CPython untracks a tuple (of exactly type tuple) when a collection finds all its items
    untracked: strings, numbers, arrays of bool, and tuples untracked before it in that
    collection's order, which is not the order they were made in; nested tuples could take
    one collection per level, the later ones full collections. Flat, one collection does it.
    Kept as Item and Removed objects, 20,000 answers were ~250k tracked objects and each
    full collection of the serving process a 65-75 ms pause.
    """
    items, removed, rendered, wire = answer
    out: list[object] = [wire, *(rendered or (None, None)), removed.product_ids]
    out.append(len(removed.allowed))
    out += removed.allowed
    rows = list(removed.allowed.values())
    # the rule rows as bits: as array views they took ~0.8 of the ~1.7 kB an answer took
    out.append(np.packbits(np.stack(rows)).tobytes() if rows else b"")
    out.append(len(items))
    for i in items:
        out += (i.product_id, i.name, i.category, i.score, i.rank, i.offer_id, len(i.reasons))
        for reason in i.reasons:
            out += reason
    return tuple(out)


# freeze's layout: wire, items JSON, removals JSON, product ids, the rule count R, R rule
# names, the rule rows' bits, the item count, then each item's 7 fields and 2 per reason
def _rule_names(f: Any) -> tuple[str, ...]:
    return f[5 : 5 + f[4]]


def _rules(f: Any) -> dict[str, np.ndarray]:
    """Rule -> allowed row, unpacked from the bits after the names."""
    names, n = _rule_names(f), len(f[3])
    bits = np.frombuffer(f[5 + len(names)], dtype=np.uint8)
    rows = np.unpackbits(bits, count=len(names) * n).view(bool)
    return dict(zip(names, rows.reshape(len(names), n), strict=True))


def _item_count_at(f: Any) -> int:
    return 6 + f[4]


def _items(f: Any) -> tuple[Item, ...]:
    """The items as new Item objects (~16 us for five with reasons; the rule rows ~7 us)."""
    items = []
    at = _item_count_at(f) + 1
    for _ in range(f[at - 1]):
        product_id, name, category, score, rank, offer_id, n = f[at : at + 7]
        at += 7
        end = at + 2 * n
        reasons = tuple(map(ItemReason, f[at:end:2], f[at + 1 : end : 2]))
        items.append(Item(product_id, name, category, score, rank, reasons, offer_id))
        at = end
    return tuple(items)


def kept(frozen: Frozen) -> Answer:
    """The answer `freeze` was given, its items and rule rows made into objects on first use.

    A hit answered over gRPC sends the kept bytes and logs the kept JSON: it never reads
    them, and thawing them was ~29 of the ~35 us a hit took in the cache (in-process).
    """
    f: Any = frozen
    rendered = None if f[1] is None else (f[1], f[2])
    return KeptItems(frozen), Removed(f[3], KeptRules(frozen)), rendered, f[0]


class KeptItems(Sequence[Item]):
    """A kept answer's items, made into Item objects on first use; equal to their tuple."""

    __slots__ = ("_frozen", "_items")

    def __init__(self, frozen: Frozen) -> None:
        self._frozen = frozen
        self._items: tuple[Item, ...] | None = None

    @property
    def thawed(self) -> bool:
        """Whether the Item objects have been made."""
        return self._items is not None

    def _all(self) -> tuple[Item, ...]:
        items = self._items
        if items is None:  # two threads may both make them: the same values either way
            items = self._items = _items(self._frozen)
        return items

    @overload
    def __getitem__(self, index: int) -> Item: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Item, ...]: ...
    def __getitem__(self, index: int | slice) -> Item | tuple[Item, ...]:
        return self._all()[index]

    def __len__(self) -> int:
        f: Any = self._frozen
        return f[_item_count_at(f)]

    def __iter__(self) -> Iterator[Item]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, KeptItems):
            other = other._all()
        return self._all() == other

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return repr(self._all())


class KeptRules(Mapping[str, np.ndarray]):
    """A kept answer's rule -> allowed row (Removed.allowed), unpacked from bits on first use."""

    __slots__ = ("_frozen", "_rows")

    def __init__(self, frozen: Frozen) -> None:
        self._frozen = frozen
        self._rows: Mapping[str, np.ndarray] | None = None

    @property
    def unpacked(self) -> bool:
        """Whether the rows have been unpacked."""
        return self._rows is not None

    def _all(self) -> Mapping[str, np.ndarray]:
        rows = self._rows
        if rows is None:
            rows = self._rows = _rules(self._frozen)
        return rows

    def __getitem__(self, rule: str) -> np.ndarray:
        return self._all()[rule]

    def __iter__(self) -> Iterator[str]:
        return iter(_rule_names(self._frozen))  # no rows unpacked

    def __len__(self) -> int:
        return self._frozen[4]  # type: ignore[return-value]
