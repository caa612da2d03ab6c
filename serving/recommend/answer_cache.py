"""Recent answers of one model version and day, kept for customers who ask again.

A channel app asks again for the same customer whenever its screen opens; until an event is
recorded for that customer, the model, the day or the request changes, the answer is the same
(the rules depend on the day, the state on the snapshot and the events since). The service
looks here only for requests whose answer depends on nothing else: no context profile, no
excluded products, no offer running in the channel, and the store read found no event of the
customer since the snapshot (see SuggestionService._answer).

An answer is kept as its caller encodes it (`keep`): the servicer keeps the response's bytes
and the decision log's JSON, so a hit skips the state, the rules, the scoring, the reasons,
the response's encoding and the log's rendering. The cache never looks inside.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from serving.recommend.domain import Recommendation

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Kept(Generic[V]):
    """An answer taken from the cache (or just put there), under this request's ids."""

    customer_id: str
    model_version: str
    request_id: str
    value: V  # what the cache's `keep` made of the answer when it was worked out


class AnswerCache(Generic[V]):
    """At most `max_entries` answers of one generation, least recently used out first.

    A generation is what every answer depends on beyond its key (model version and engine,
    the day): the first answer stored for a new generation drops all the others, so an old
    model's answers are neither served nor kept. `keep` makes the value kept of an answer:
    it may use the answer's items and removals, never its request or customer ids (a hit is
    another request, and the customer is in the key).
    """

    def __init__(self, max_entries: int, keep: Callable[[Recommendation], V]) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self.max_entries = max_entries
        self.keep = keep
        self._lock = threading.Lock()  # Recommends with offers run on pool threads
        self._generation: Hashable = None
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, generation: Hashable, key: Hashable) -> V | None:
        """The value kept for `key` in `generation`, else None (counted as a miss)."""
        with self._lock:
            value = self._entries.get(key) if generation == self._generation else None
            if value is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def put(self, generation: Hashable, key: Hashable, answer: Recommendation) -> V:
        """Keep `answer` for `key` (a new generation first drops every older answer); the
        value kept."""
        value = self.keep(answer)
        with self._lock:
            if generation != self._generation:
                self._entries = OrderedDict()
                self._generation = generation
            self._entries[key] = value
            self._entries.move_to_end(key)
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value
