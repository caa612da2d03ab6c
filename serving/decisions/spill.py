"""Where the decision log puts answers its queue has no room for: a local append-only file.

A burst of answers faster than the store takes them must not lose any (a bank's audit trail is
complete, or it is not one). When the in-memory queue is full, `put` hands the answer to this
spill's thread, which renders it and appends it to `<dir>/spill-<pid>.jsonl` (one JSON row a
line), fsynced once per batch of lines. The decision log's writer drains the file into the store
when its queue is idle; a fully drained file is truncated. Each process holds an exclusive lock
on its own file, so a file nobody holds belongs to a process that died (kill -9, a crash): the
next writer to start takes it over, drains it and deletes it.

What a crash can lose: the lines appended since the last fsync (at most one batch) and the
answers still in memory (the queue); what it can repeat: one batch drained into the store but
not yet truncated from the file. Only when the disk refuses (full, read-only) are answers
dropped, counted, and reported as an ERROR at most once a minute with the counts.
"""

from __future__ import annotations

import collections
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from recsys.stores.sql_decisions import DecisionRow

log = logging.getLogger(__name__)

SYNC_EVERY: Final = 256  # lines appended between two fsyncs (a crash loses at most these)
TICK_S: Final = 0.05
ERROR_EVERY_S: Final = 60.0
MAX_PENDING: Final = 200_000  # answers waiting for the disk at most (then the disk is refusing)


def encode(row: DecisionRow) -> bytes:
    """One row as a JSON line (its time in ISO form)."""
    return (json.dumps([row[0], row[1].isoformat(), *row[2:]]) + "\n").encode()


def decode(line: bytes) -> DecisionRow:
    """The row of one JSON line."""
    values = json.loads(line)
    return (values[0], datetime.fromisoformat(values[1]), *values[2:])  # type: ignore[return-value]


class Spill:
    """Answers the queue could not take, on their way to a local file and back to the store."""

    def __init__(
        self,
        folder: Path,
        render: Callable[[Any], DecisionRow | None],
        on_dropped: Callable[[int], None] = lambda _n: None,
    ) -> None:
        self.folder = folder
        self.path = folder / f"spill-{os.getpid()}.jsonl"
        self._render = render  # queued entry -> row (None: it cannot be stored; counted there)
        self._on_dropped = on_dropped
        self._pending: collections.deque[Any] = collections.deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the file: appends vs drains and truncation
        self._handle: Any = None
        self._read_at = 0  # bytes of our file drained into the store
        self.spilled = self.dropped = 0
        self._refused_since_report = 0
        self._reported_at = -ERROR_EVERY_S
        self._thread = threading.Thread(target=self._run, name="decision-spill", daemon=True)

    def start(self) -> Spill:
        """Start the thread that writes to the file; returns self."""
        self._thread.start()
        return self

    def put(self, entry: Any) -> None:
        """Take one answer the queue had no room for (never blocks, never raises)."""
        if len(self._pending) >= MAX_PENDING:
            self._refused(1, "too many answers waiting for the disk")
            return
        self._pending.append(entry)
        self._wake.set()

    def stop(self) -> None:
        """Write what is pending, then stop the thread (the file stays for the next start)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10.0)
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    @property
    def backlog(self) -> int:
        """Answers spilled and not yet drained, or still on their way to the file (roughly)."""
        return len(self._pending) + (1 if self._unread() else 0)

    # --- draining (the decision log's writer) -------------------------------------------
    def read(self, limit: int) -> tuple[list[DecisionRow], int]:
        """Up to `limit` spilled rows of this process's file, and the offset after them."""
        with self._lock:
            if self._handle is None or not self._unread():
                return [], self._read_at
            with open(self.path, "rb") as f:
                f.seek(self._read_at)
                lines = [f.readline() for _ in range(limit)]
        lines = [line for line in lines if line.endswith(b"\n")]
        return [decode(line) for line in lines], self._read_at + sum(len(x) for x in lines)

    def drained(self, offset: int) -> None:
        """The rows up to `offset` are in the store; an emptied file is truncated."""
        with self._lock:
            self._read_at = offset
            if self._handle is not None and offset >= self._handle.tell() and not self._pending:
                self._handle.truncate(0)
                self._handle.seek(0)
                self._read_at = 0

    def orphans(self) -> list[Path]:
        """Spill files of processes that are gone (nobody holds their lock)."""
        if not self.folder.is_dir():
            return []
        return [p for p in sorted(self.folder.glob("spill-*.jsonl")) if p != self.path]

    @staticmethod
    def adopt(path: Path, append: Callable[[list[DecisionRow]], int], batch: int) -> int:
        """Drain a dead process's file into the store and delete it; rows written (0 when
        its owner still lives)."""
        try:
            handle = open(path, "rb")  # noqa: SIM115 - held for its lock while draining
        except FileNotFoundError:
            return 0
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # a live process's
            written, rows = 0, []
            for line in handle:
                if line.endswith(b"\n"):  # a torn last line was never synced: not an answer
                    rows.append(decode(line))
                if len(rows) >= batch:
                    written += append(rows)
                    rows = []
            if rows:
                written += append(rows)
            path.unlink()
        if written:
            log.info("decision log: %d spilled decisions of a stopped process stored", written)
        return written

    # --- the thread that writes ---------------------------------------------------------
    def _run(self) -> None:
        while True:
            self._wake.wait(TICK_S)
            self._wake.clear()
            if self._pending:
                self._write_pending()
            elif self._stop.is_set():
                return

    def _write_pending(self) -> None:
        lines, n = [], 0
        while self._pending and n < SYNC_EVERY:
            row = self._render(self._pending.popleft())
            n += 1
            if row is not None:
                lines.append(encode(row))
        try:
            with self._lock:
                handle = self._open()
                handle.write(b"".join(lines))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            self._refused(len(lines), str(exc))
            return
        self.spilled += len(lines)

    def _open(self) -> Any:
        if self._handle is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "ab+")  # noqa: SIM115 - kept open for the process's life
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # ours: no one adopts it
            self._handle = handle
        return self._handle

    def _unread(self) -> bool:
        return self._handle is not None and self._handle.tell() > self._read_at

    def _refused(self, n: int, why: str) -> None:
        """The disk refused `n` answers: dropped, counted, an ERROR at most once a minute."""
        self.dropped += n
        self._refused_since_report += n
        self._on_dropped(n)
        now = time.monotonic()
        if now - self._reported_at >= ERROR_EVERY_S:
            log.error(
                "decision log: %d answers dropped since the last report (%d in all): the "
                "queue was full and the spill file %s refused them: %s",
                self._refused_since_report,
                self.dropped,
                self.path,
                why,
            )
            self._reported_at = now
            self._refused_since_report = 0
