"""The decision log: every Recommend answer, queued on the request path and written by a thread.

`submit` checks what the store would refuse of an answer (its ids) and puts it on a bounded
queue: it never blocks and never raises; when the queue is full the answer is counted as
dropped. The writer, one daemon thread, renders each answer's JSON with the json module and
writes them in batches of up to `batch_size` rows gathered for at most `flush_s`, so the
request path does no rendering (a kept answer's JSON was rendered once, when it was kept:
`submit_json` queues it as it is). While the store is down the writer retries the batch it
holds with backoff and the queue absorbs new answers. What the queue has no room for goes to
the spill (serving.decisions.spill: a local append-only file the writer drains into the store
when it has time); without a spill it is counted as dropped. The writer also purges rows older
than the retention, at start and then hourly.
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
from pathlib import Path
from typing import Final, NamedTuple, Protocol

import sqlalchemy as sa

from recsys.stores.base import StoreUnavailable
from recsys.stores.sql_decisions import DecisionRow, DecisionStore, check_ids, decision_row
from serving.decisions.spill import Spill
from serving.recommend.domain import Item, Recommendation, Removed
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
    """An answer queued unrendered: the writer renders it."""

    recommendation: Recommendation
    channel: str
    at: datetime | float
    latency_ms: float | None = None


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
        spill_dir: Path | None = None,
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
        self.spill = None if spill_dir is None else Spill(spill_dir, _render_one, self._drop)
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
        if self.spill is not None:
            self.spill.start()
        self._thread.start()
        return self

    def submit(
        self,
        recommendation: Recommendation,
        channel: str,
        at: datetime | float | None = None,
        latency_ms: float | None = None,
    ) -> bool:
        """Queue one answer (`at`: when, default now) for the writer to render; False when
        it was dropped (the queue was full, or the store would refuse its ids: logged)."""
        r = recommendation
        try:  # refused here, and counted at once, rather than by the writer
            check_ids(r.request_id, r.customer_id, channel, r.model_version)
        except ValueError:
            return self._refused(r.request_id)
        return self._enqueue(Later(r, channel, time.time() if at is None else at, latency_ms))

    def submit_json(
        self,
        answer: Answered,
        channel: str,
        items_json: str,
        removed_json: str,
        at: datetime | float | None = None,
        *,
        known: bool = True,
    ) -> bool:
        """Queue one answer whose JSON was made already (a kept answer's, by `answer_json`)
        as its row; False when it was dropped, as for `submit`."""
        try:
            row = decision_row(
                answer.request_id,
                _moment(time.time() if at is None else at),
                answer.customer_id,
                channel,
                answer.model_version,
                items_json,
                removed_json,
                known=known,
            )
        except ValueError:
            return self._refused(answer.request_id)
        return self._enqueue(row)

    def submit_many(self, recommendations: Sequence[Recommendation], channel: str) -> int:
        """Queue the answers of one batch call, all at one time, for the writer to check and
        render; how many were queued."""
        at = time.time()
        for i, r in enumerate(recommendations):
            try:
                self._put(Later(r, channel, at))
            except queue.Full:
                if self.spill is None:
                    self._drop(len(recommendations) - i)  # the queue will not drain meanwhile
                    return i
                for rest in recommendations[i:]:
                    self.spill.put(Later(rest, channel, at))
                break
        return len(recommendations)

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """Write what is queued (for at most `timeout` s), stop the writer; True when all went."""
        if not self._thread.is_alive() and self._thread.ident is None:
            self._thread.start()
        dropped_before = self._dropped
        self._deadline = time.monotonic() + timeout
        self._stop.set()
        self._thread.join(timeout + 1.0)
        if self.spill is not None:
            self.spill.stop()  # what it still holds stays in its file for the next start
        finished = not self._thread.is_alive()
        if finished:
            self.store.close()
        else:
            log.warning("decision log: writer still busy after %.1f s at close", timeout)
        return finished and self._queue.empty() and self._dropped == dropped_before

    def _enqueue(self, entry: Queued) -> bool:
        try:
            self._put(entry)
            return True
        except queue.Full:
            if self.spill is not None:
                self.spill.put(entry)
                return True
            self._drop(1)
            return False

    def _refused(self, request_id: str) -> bool:
        """Count an answer that cannot be stored; its traceback at most once a minute; False.

        A failure that hits every answer (say, a model version too long for its column)
        would otherwise format a traceback on the serving loop for each Recommend.
        """
        self._drop(1)
        now = time.monotonic()
        if now - self._render_error_logged_at >= RENDER_ERROR_LOG_EVERY_S:
            self._render_error_logged_at = now
            log.exception(
                "decision log: cannot store request %r (more are counted in "
                "recsys_decisions_dropped_total)",
                request_id,
            )
        return False

    # --- writer thread ---------------------------------------------------------------------
    def _run(self) -> None:
        next_purge = time.monotonic()
        if self.spill is not None:
            for orphan in self.spill.orphans():  # a stopped process's answers first
                self._adopt(orphan)
        while True:
            if self.retention_days and time.monotonic() >= next_purge and not self._stop.is_set():
                next_purge = time.monotonic() + self._purge()
            if self._stop.is_set() and time.monotonic() > self._deadline:
                self._drop(self._discard_queued())  # close has waited long enough
                return
            batch = self._take()
            if batch:
                self._write(batch)
            if self.spill is not None and self._queue.qsize() < self._batch_size:
                if self._drain_spill():
                    continue
            if not batch and self._stop.is_set():
                return

    def _drain_spill(self) -> bool:
        """Store one batch of spilled rows (the queue has room); True when there was one."""
        assert self.spill is not None
        rows, offset = self.spill.read(self._batch_size)
        if not rows:
            return False
        try:
            written = self.store.append_rows(rows)
        except StoreUnavailable as exc:
            log.debug("decision log: spilled rows wait for the store: %s", exc)
            time.sleep(RETRY_FIRST_S)
            return False
        self.spill.drained(offset)
        self._count_logged(written)
        return True

    def _adopt(self, orphan: Path) -> None:
        try:
            n = Spill.adopt(orphan, self.store.append_rows, self._batch_size)
        except (StoreUnavailable, OSError, ValueError) as exc:
            log.error("decision log: spill file %s not drained (kept for later): %s", orphan, exc)
            return
        self._count_logged(n)

    def _take(self) -> list[Queued]:
        """Up to batch_size answers: waits for the first, then lets the rest gather for flush_s.

        One wakeup per batch: waiting on the queue for each further answer woke this thread
        on every Recommend, each time taking the GIL from the serving loop (figures in
        bench/README.md). The first wait is cut into ticks and the gathering wait ends on
        close(), so close is noticed at once.
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

        Rendering and binding rows is Python under the GIL: a whole batch held it long
        enough that a Recommend arriving meanwhile waited up to the switch interval for it,
        each time (the soak's p99; figures in bench/README.md). After each slice `sleep(0)`
        hands the GIL to a waiting thread.
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


def render_row(
    recommendation: Recommendation,
    channel: str,
    at: datetime | float,
    latency_ms: float | None = None,
) -> DecisionRow:
    """What the writer stores of one answer (`at`: a datetime or a POSIX timestamp)."""
    r = recommendation
    return decision_row(
        r.request_id,
        _moment(at),
        r.customer_id,
        channel,
        r.model_version,
        *answer_json(r.items, r.removed),
        experiment_id=r.experiment_id,
        arm=r.arm,
        fallback=r.fallback,
        latency_ms=latency_ms,
        known=not r.unknown_customer,
    )


def _moment(at: datetime | float) -> datetime:
    return at if isinstance(at, datetime) else datetime.fromtimestamp(at, UTC)


def answer_json(items: Sequence[Item], removed: Removed | None) -> tuple[str, str]:
    """(items JSON, removals JSON) of one answer, as its decision row stores them: each item's
    rank, product, name, score, reasons and offer (None when none), its probability, value
    and lever where the model is calibrated, and rule -> the product ids it removed (rules
    that removed nothing left out)."""
    shown = [
        {
            "rank": i.rank,
            "product_id": i.product_id,
            "name": i.name,
            "score": i.score,
            "reasons": [{"code": x.code, "text": x.text} for x in i.reasons],
            "offer_id": i.offer_id or None,
            **(
                {"probability": i.probability, "value": i.value, "lever": i.lever}
                if i.probability is not None
                else {}
            ),
        }
        for i in items
    ]
    return _dumps(shown), _dumps(removed.as_dict() if removed is not None else {})


# json.dumps(value, separators=(",", ":")), one encoder for every call; ensure_ascii (the
# default) keeps NUL and odd characters escaped: text PostgreSQL can hold
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _render_one(entry: Queued) -> DecisionRow | None:
    """One queued answer's row; None when it cannot be rendered (logged)."""
    rows = _rendered([entry])
    return rows[0] if rows else None


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
