"""The decision log: every Recommend answer, queued on the request path and written by a thread.

`submit` renders the answer's row (~30 us, from cached JSON pieces) and puts it on a bounded
queue: it never blocks and never raises; when the queue is full the answer is counted as
dropped. `submit_many` (a batch call's answers) queues them unrendered, for the writer to
render. The writes happen in one daemon writer thread, in batches of up to `batch_size` rows
gathered for at most `flush_s`. While the store is down the writer retries the batch it holds
with backoff and the queue absorbs new answers (its overflow is counted). The writer also
purges rows older than the retention, at start and then hourly.

Why a single answer is rendered by the caller: rendered in the writer thread, the row's
Python work took the GIL from the serving loop in slices, and each hand-over cost thread
switches and cold caches on both sides. Measured by bench/serve_overhead.py (c=16, median of
3 runs, log on against off): +222 and +246 us of server CPU per Recommend rendered by the
writer, +201 us (twice) rendered by the caller; ~0.7 fewer thread switches per call.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, NamedTuple, Protocol

import numpy as np
import sqlalchemy as sa

from recsys.stores.base import StoreUnavailable
from recsys.stores.sql_decisions import Decision, DecisionRow, DecisionStore, decision_row
from serving.recommend.domain import Item, ItemReason, Recommendation, Removed
from serving.transport.metrics import ServingMetrics

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE: Final = 10_000
DEFAULT_RETENTION_DAYS: Final = 365
BATCH_SIZE: Final = 500
YIELD_EVERY: Final = 32  # rows written between two hand-overs of the GIL (see _write)
FLUSH_S: Final = 0.2
TICK_S: Final = 0.2  # longest wait of the writer before it looks at close() again
PURGE_EVERY_S: Final = 3600.0
RETRY_FIRST_S: Final = 0.1
RETRY_MAX_S: Final = 5.0
CLOSE_TIMEOUT_S: Final = 5.0
RENDER_ERROR_LOG_EVERY_S: Final = 60.0


class Answered(Protocol):
    """Which request, customer and model an answer is (a Recommendation, or a kept answer)."""

    @property
    def request_id(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def model_version(self) -> str: ...


class Later(NamedTuple):
    """An answer queued unrendered (a batch call's): the writer renders it."""

    recommendation: Recommendation
    channel: str
    at: datetime | float


Queued = DecisionRow | Later


class DecisionLog:
    """A bounded queue of Recommend answers and the thread that writes them to a DecisionStore."""

    def __init__(
        self,
        store: DecisionStore,
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        metrics: ServingMetrics | None = None,
        batch_size: int = BATCH_SIZE,
        flush_s: float = FLUSH_S,
        purge_every_s: float = PURGE_EVERY_S,
        retry_max_s: float = RETRY_MAX_S,
    ) -> None:
        if queue_size < 1 or batch_size < 1:
            raise ValueError(
                f"queue_size and batch_size must be >= 1, got {queue_size}, {batch_size}"
            )
        if retention_days < 0:
            raise ValueError(
                f"retention_days must be >= 0 (0 = keep forever), got {retention_days}"
            )
        self.store = store
        self.retention_days = retention_days
        self._queue: queue.Queue[Queued] = queue.Queue(maxsize=queue_size)
        self._put = self._queue.put_nowait  # bound once: submit is on every Recommend
        self._metrics = metrics
        self._batch_size, self._flush_s = batch_size, flush_s
        self._purge_every_s, self._retry_max_s = purge_every_s, retry_max_s
        self._stop = threading.Event()
        self._deadline = float("inf")  # monotonic time by which close wants the writer done
        self._counts = threading.Lock()
        self._logged = self._dropped = 0
        self._render_error_logged_at = -math.inf
        self._thread = threading.Thread(target=self._run, name="decision-log", daemon=True)
        if metrics is not None:
            metrics.watch_decision_queue(self._queue.qsize)

    @property
    def logged(self) -> int:
        """Decisions written so far."""
        return self._logged

    @property
    def dropped(self) -> int:
        """Decisions lost: queue full, a row the store refused, or still unwritten at close."""
        return self._dropped

    @property
    def depth(self) -> int:
        """Decisions queued and not yet taken by the writer."""
        return self._queue.qsize()

    def start(self) -> DecisionLog:
        """Start the writer thread (it purges old rows first); returns self."""
        self._thread.start()
        return self

    def submit(
        self, recommendation: Recommendation, channel: str, at: datetime | float | None = None
    ) -> bool:
        """Render and queue one answer (`at`: when, default now); False when it was dropped
        (the queue was full, or the answer cannot be stored: logged)."""
        try:
            row = render_row(recommendation, channel, time.time() if at is None else at)
        except Exception:  # one odd answer must not fail the call that gave it
            self._render_failed(recommendation.request_id)
            return False
        return self._queue_row(row)

    def _queue_row(self, row: DecisionRow) -> bool:
        try:
            self._put(row)
            return True
        except queue.Full:
            self._drop(1)
            return False

    def submit_json(
        self,
        answer: Answered,
        channel: str,
        items_json: str,
        removed_json: str,
        at: datetime | float | None = None,
    ) -> bool:
        """Queue one answer whose JSON was made already (a kept answer's, by `answer_json`);
        False when it was dropped, as for `submit`."""
        moment = time.time() if at is None else at
        try:
            row = decision_row(
                answer.request_id,
                moment if isinstance(moment, datetime) else datetime.fromtimestamp(moment, UTC),
                answer.customer_id,
                channel,
                answer.model_version,
                items_json,
                removed_json,
            )
        except Exception:  # one odd answer must not fail the call that gave it
            self._render_failed(answer.request_id)
            return False
        return self._queue_row(row)

    def submit_many(self, recommendations: Sequence[Recommendation], channel: str) -> int:
        """Queue the answers of one batch call, all at one time, unrendered (rendering a
        thousand would hold the caller for ~30 ms); how many were queued."""
        at = time.time()
        for i, r in enumerate(recommendations):
            try:
                self._put(Later(r, channel, at))
            except queue.Full:
                self._drop(len(recommendations) - i)  # the queue will not drain in this loop
                return i
        return len(recommendations)

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """Write what is queued (for at most `timeout` s), stop the writer; True when all went."""
        if not self._thread.is_alive() and self._thread.ident is None:
            self._thread.start()
        dropped_before = self._dropped
        self._deadline = time.monotonic() + timeout
        self._stop.set()
        self._thread.join(timeout + 1.0)
        finished = not self._thread.is_alive()
        if finished:
            self.store.close()
        else:
            log.warning("decision log: writer still busy after %.1f s at close", timeout)
        return finished and self._queue.empty() and self._dropped == dropped_before

    def _render_failed(self, request_id: str) -> None:
        """Count an answer that cannot be stored; its traceback at most once a minute.

        A failure that hits every answer (say, a model version too long for its column)
        would otherwise format a traceback on the serving loop for each Recommend.
        """
        self._drop(1)
        now = time.monotonic()
        if now - self._render_error_logged_at >= RENDER_ERROR_LOG_EVERY_S:
            self._render_error_logged_at = now
            log.exception("decision log: cannot render request %r (more are counted in "
                          "recsys_decisions_dropped_total)", request_id)

    # --- writer thread ---------------------------------------------------------------------
    def _run(self) -> None:
        next_purge = time.monotonic()
        while True:
            if self.retention_days and time.monotonic() >= next_purge and not self._stop.is_set():
                next_purge = time.monotonic() + self._purge()
            if self._stop.is_set() and time.monotonic() > self._deadline:
                self._drop(self._discard_queued())  # close has waited long enough
                return
            batch = self._take()
            if batch:
                self._write(batch)
            elif self._stop.is_set():
                return

    def _take(self) -> list[Queued]:
        """Up to batch_size answers: waits for the first, then lets the rest gather for flush_s.

        One wakeup per batch: waiting on the queue for each further answer woke this thread
        on every Recommend, each time taking the GIL from the serving loop. Measured by
        bench/serve_overhead.py (with the cheaper removals below): 13.8 -> 8.1 thread switches
        and ~1140 -> ~970 us of server CPU per call. The first wait is cut into ticks and the
        gathering wait ends on close(), so close is noticed at once.
        """
        try:
            batch = [self._queue.get(timeout=min(self._flush_s, TICK_S))]
        except queue.Empty:
            return []
        if self._queue.qsize() + 1 < self._batch_size:
            self._stop.wait(self._flush_s)
        take = self._queue.get_nowait
        while len(batch) < self._batch_size:
            try:
                batch.append(take())
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list[Queued]) -> None:
        """Store `batch` a slice at a time, letting the serving loop take the GIL in between.

        Rendering and binding a row is ~40 us of Python under the GIL (a batch call's rows
        are rendered here); a whole batch held it for ~10 ms, and a Recommend arriving
        meanwhile waited up to the 5 ms switch interval for it, each time (the soak's p99).
        A slice holds it ~1.3 ms at most, then `sleep(0)` hands it to a waiting thread.
        """
        for start in range(0, len(batch), YIELD_EVERY):
            self._write_slice(batch[start : start + YIELD_EVERY])
            time.sleep(0)

    def _write_slice(self, batch: list[Queued]) -> None:
        """Store `batch` (rendering what is not yet), retrying while the store is down (until
        close's deadline)."""
        rows = _rendered(batch)
        self._drop(len(batch) - len(rows))
        delay = RETRY_FIRST_S
        while rows:
            try:
                written = self.store.append_rows(rows)
            except StoreUnavailable as exc:
                if time.monotonic() + delay > self._deadline:
                    log.error(
                        "decision log: store still down at close, %d rows lost: %s",
                        len(rows) + self.depth,
                        exc,
                    )
                    self._drop(len(rows) + self._discard_queued())
                    return
                # once per batch: an outage would otherwise log every few seconds
                report = log.warning if delay == RETRY_FIRST_S else log.debug
                report("decision log: store unavailable, retrying: %s", exc)
                time.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)
                continue
            except (ValueError, sa.exc.DBAPIError):
                written = self._append_each(rows)  # a row the database refuses must not sink
            self._count_logged(written)  # its batch
            return

    def _append_each(self, rows: list[DecisionRow]) -> int:
        written = 0
        for row in rows:
            try:
                written += self.store.append_rows([row])
            except (ValueError, sa.exc.DBAPIError, StoreUnavailable) as exc:
                log.error("decision log: request %r not stored: %s", row[0], exc)
                self._drop(1)
        return written

    def _purge(self) -> float:
        """Delete rows past the retention; seconds until the next purge (sooner after a failure)."""
        cutoff = datetime.now(UTC) - timedelta(days=self.retention_days)
        try:
            n = self.store.purge(cutoff)
        except StoreUnavailable as exc:
            log.warning("decision log: purge failed, retrying in 60 s: %s", exc)
            return min(60.0, self._purge_every_s)
        if n:
            log.info("decision log: purged %d decisions before %s", n, cutoff.isoformat())
        return self._purge_every_s

    def _discard_queued(self) -> int:
        n = 0
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return n
            n += 1

    def _drop(self, n: int) -> None:
        if n <= 0:
            return
        with self._counts:
            self._dropped += n
        if self._metrics is not None:
            self._metrics.decisions_dropped(n)

    def _count_logged(self, n: int) -> None:
        with self._counts:
            self._logged += n
        if self._metrics is not None:
            self._metrics.decisions_logged(n)


def render_row(recommendation: Recommendation, channel: str, at: datetime | float) -> DecisionRow:
    """What the writer stores of one answer: `render`'s decision as a store row, made directly.

    No item dicts and no Decision (~10 us an answer): the JSON comes from cached pieces.
    """
    r = recommendation
    return decision_row(
        r.request_id,
        at if isinstance(at, datetime) else datetime.fromtimestamp(at, UTC),
        r.customer_id,
        channel,
        r.model_version,
        *answer_json(r.items, r.removed),
    )


def answer_json(items: Sequence[Item], removed: Removed | None) -> tuple[str, str]:
    """(items JSON, removals JSON) of an answer, as its decision row stores them."""
    return _CACHES.items.render(items), _CACHES.removals.render(removed)[1]


def render(recommendation: Recommendation, channel: str, at: datetime | float) -> Decision:
    """The decision of one answer: items with reasons and offers, and rule -> removed products."""
    r = recommendation
    items = [
        {
            "rank": i.rank,
            "product_id": i.product_id,
            "name": i.name,
            "score": i.score,
            "reasons": [{"code": x.code, "text": x.text} for x in i.reasons],
            "offer_id": i.offer_id or None,
        }
        for i in r.items
    ]
    moment = at if isinstance(at, datetime) else datetime.fromtimestamp(at, UTC)
    caches = _CACHES
    removed, removed_json = caches.removals.render(r.removed)
    return Decision(
        r.request_id,
        moment,
        r.customer_id,
        channel,
        r.model_version,
        items,
        removed,
        items_json=caches.items.render(r.items),
        removed_json=removed_json,
    )


class _ItemsJson:
    """json.dumps(items, separators=(",", ":")) of render's item dicts, from cached pieces.

    A catalog has few products and reasons, so an item's JSON is mostly text seen before:
    the product's id and name, and its reasons; only rank, score and offer are new. Dumping
    the dicts cost ~24 us an answer, a quarter of the writer's work per answer.
    One per thread (see _Caches).
    """

    MAX_ENTRIES: Final = 8192

    def __init__(self) -> None:
        self._products: dict[tuple[str, str], str] = {}
        self._reasons: dict[tuple[ItemReason, ...], str] = {}

    def render(self, items: Sequence[Item]) -> str:
        """The items' JSON, byte for byte what json.dumps gives for render's dicts."""
        if len(self._products) > self.MAX_ENTRIES or len(self._reasons) > self.MAX_ENTRIES:
            self._products.clear()
            self._reasons.clear()
        return "[" + ",".join(self._item(i) for i in items) + "]"

    def _item(self, item: Item) -> str:
        product = self._products.get((item.product_id, item.name))
        if product is None:
            product = f'"product_id":{_dumps(item.product_id)},"name":{_dumps(item.name)}'
            self._products[item.product_id, item.name] = product
        reasons = self._reasons.get(item.reasons)
        if reasons is None:
            reasons = _dumps([{"code": x.code, "text": x.text} for x in item.reasons])
            self._reasons[item.reasons] = reasons
        offer = _dumps(item.offer_id) if item.offer_id else "null"
        score = item.score
        # a finite float is written as its repr, as json does; NaN, inf and the rest by json
        shown = float.__repr__(score) if type(score) is float and math.isfinite(score) else None
        return (
            f'{{"rank":{_dumps(item.rank)},{product},"score":{shown or _dumps(score)},'
            f'"reasons":{reasons},"offer_id":{offer}}}'
        )


# json.dumps(value, separators=(",", ":")) without building an encoder per call
_dumps = json.JSONEncoder(separators=(",", ":")).encode




class _Removals:
    """Rule -> removed product ids, rendered once per distinct mask row.

    Most rows repeat: product-only rules are one row per channel and day, suitability one per
    risk tolerance, age one per birth year. Rendering a row costs ~3 us, looking it up 0.3 us.
    The cache holds the JSON piece with its rule name, and an empty list for a row that
    removed nothing, so a hit costs neither an all() over the row nor a json.dumps.
    One per thread (see _Caches).
    """

    MAX_ENTRIES: Final = 8192

    def __init__(self) -> None:
        # (rule, mask row bytes) -> (ids removed, '"rule":[ids]' JSON)
        self._cache: dict[tuple[str, bytes], tuple[list[str], str]] = {}
        # the ids the cache renders with; held, so no later array can reuse its identity
        self._ids: np.ndarray | None = None

    def render(self, removed: Removed | None) -> tuple[dict[str, list[str]], str]:
        """(rule -> ids, the same as JSON) for one answer's removals."""
        if removed is None:
            return {}, "{}"
        if removed.product_ids is not self._ids or len(self._cache) > self.MAX_ENTRIES:
            self._cache.clear()  # another model version's catalog, or very varied rows
            self._ids = removed.product_ids
        out: dict[str, list[str]] = {}
        parts = []
        cache = self._cache
        for rule, row in removed.allowed.items():
            key = (rule, row.tobytes())
            hit = cache.get(key)
            if hit is None:
                listed = [str(p) for p in removed.product_ids[~row]]
                hit = cache[key] = (listed, f"{json.dumps(rule)}:{json.dumps(listed)}")
            if hit[0]:  # rules that removed nothing are left out
                out[rule] = hit[0]
                parts.append(hit[1])
        return out, "{" + ",".join(parts) + "}"


class _Caches(threading.local):
    """The JSON caches of one thread (answers are rendered by the serving loop's thread, and
    a batch call's by the writer): no cache is shared between threads."""

    def __init__(self) -> None:
        self.items = _ItemsJson()
        self.removals = _Removals()


# one object, whose attributes each thread sees its own of (threading.local calls __init__
# again in every thread that touches it)
_CACHES = _Caches()


def _rendered(batch: list[Queued]) -> list[DecisionRow]:
    out = []
    for entry in batch:
        if not isinstance(entry, Later):
            out.append(entry)
            continue
        try:
            out.append(render_row(*entry))
        except Exception:  # one odd answer must not stop the log; the caller counts it dropped
            log.exception("decision log: cannot render request %r", entry[0].request_id)
    return out
