"""The soak bench's figures: tables over time, the targets with PASS/MISS, and files to keep."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from soak_load import COLUMNS, KINDS, RECOMMEND, Calls
from soak_watch import Samples
from tables import print_table, say

MAX_FAILED = 0
MAX_P99_RATIO = 2.0
MAX_RSS_GROWTH = 0.10
SWAP_WITHIN_S = 30.0  # follower poll (10 s) + load and check of the new version, with margin
PAUSE_WITHIN_S = 1.0  # a paused offer loses its slot reservations at once; in-flight calls
RSS_WINDOW_S = 60.0
RSS_WARMUP_S = 30.0


@dataclass
class Figures:
    """Everything a soak run measured (filled in as the run goes)."""

    run_id: str
    version_a: int
    version_b: int
    seconds: float
    workers: int
    clients: int
    share: float
    peak: float = 0.0
    rate: float = 0.0
    unloaded: Calls | None = None
    peak_calls: Calls | None = None
    soak: Calls | None = None
    samples: Samples = field(default_factory=Samples)
    marks: dict[str, float] = field(default_factory=dict)  # action -> s from the soak's start
    cpu_ms: dict[str, float] = field(default_factory=dict)  # phase -> server CPU ms per call
    versions_before: list[str] = field(default_factory=list)
    versions_after: list[str] = field(default_factory=list)
    stored_ids: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)

    def rss_windows(self) -> tuple[float, float, tuple[float, float], tuple[float, float]]:
        """(first, last) median RSS and their windows: the first minute after a warm-up and
        the last minute (each a quarter of the run at most, for short runs)."""
        w = min(RSS_WINDOW_S, self.seconds / 4)
        warm = min(RSS_WARMUP_S, self.seconds / 6)
        first, last = (warm, warm + w), (self.seconds - w, self.seconds + 1)
        return self.samples.median_rss(*first), self.samples.median_rss(*last), first, last

    def acked(self) -> list[str]:
        """Event ids acknowledged in every phase."""
        return [e for c in (self.unloaded, self.peak_calls, self.soak) if c for e in c.acked]


def report(fig: Figures) -> bool:
    """Print the tables and the targets; True when every target passes."""
    soak = fig.soak
    assert soak is not None and fig.unloaded is not None
    _over_time(fig)
    _phases(fig)
    checks = [
        *_failures(soak),
        _latency(fig),
        _memory(fig),
        _events(fig),
        *_model(fig),
        *_offer(fig),
    ]
    loads = np.asarray(fig.samples.load1)
    say(
        f"\nmachine: {os.cpu_count()} cores, load average (1 min) during the soak: mean "
        f"{loads.mean():.2f}, max {loads.max():.2f}; server log: {len(fig.log_errors)} "
        f"error line(s)" + (f", first: {fig.log_errors[0][:200]}" if fig.log_errors else "")
    )
    rows = [
        [name, measured, target, "PASS" if ok else "MISS"] for name, measured, target, ok in checks
    ]
    print_table("targets", ["target", "measured", "goal", ""], rows, left=4)
    return all(ok for *_, ok in checks)


OVER_TIME = ["seconds", "calls", "answered/s", "p50 ms", "p99 ms", "failed", "versions",
             "offer items", "server CPU ms/call", "RSS MiB", "load"]  # fmt: skip


def _over_time(fig: Figures) -> None:
    step = max(5.0, min(60.0, fig.seconds / 10))
    rows = [_window(fig, a, min(a + step, fig.seconds)) for a in np.arange(0, fig.seconds, step)]
    marks = ", ".join(f"{k} {v:.1f} s" for k, v in fig.marks.items())
    title = f"soak over time ({marks}); calls by due time, versions and offers by send time"
    print_table(title, OVER_TIME, rows)


def _window(fig: Figures, start: float, end: float) -> list[object]:
    """One row of the over-time table: the calls of [start, end) and the samples taken then."""
    soak, s = fig.soak, fig.samples
    due = (soak.due >= start) & (soak.due < end)
    sent = (soak.sent >= start) & (soak.sent < end) & soak.ok & (soak.kind == RECOMMEND)
    answered = soak.ok & (soak.done >= start) & (soak.done < end)
    t = np.asarray(s.t)
    taken = (t >= start) & (t < end)
    cpu_ms = 1000 * s.cpu_between(start, end) / max(1, int(answered.sum()))
    return [
        f"{start:.0f}-{end:.0f}",
        int(due.sum()),
        f"{answered.sum() / (end - start):.0f}",
        f"{soak.p(50, due):.2f}",
        f"{soak.p(99, due):.2f}",
        int((due & ~soak.ok).sum()),
        " ".join(f"v{v}:{n}" for v, n in sorted(Counter(soak.version[sent].tolist()).items())),
        int(soak.offer_items[sent].sum()),
        f"{cpu_ms:.2f}",
        f"{np.median(np.asarray(s.rss)[taken]) / 2**20:.0f}" if taken.any() else "-",
        f"{np.asarray(s.load1)[taken].mean():.2f}" if taken.any() else "-",
    ]


def _phases(fig: Figures) -> None:
    rows = []
    soak_cpu = fig.samples.cpu_between(0, fig.seconds)
    cpu_ms = fig.cpu_ms | {"soak": 1000 * soak_cpu / max(1, int(fig.soak.ok.sum()))}
    for name, calls in (("unloaded", fig.unloaded), ("peak", fig.peak_calls), ("soak", fig.soak)):
        for kind, label in [(None, "all"), *enumerate(KINDS)]:
            m = np.ones(len(calls.kind), bool) if kind is None else calls.kind == kind
            cpu = f"{cpu_ms.get(name, float('nan')):.2f}" if kind is None else ""
            rows.append([name, label, int(m.sum()), f"{calls.p(50, m):.2f}",
                         f"{calls.p(99, m):.2f}", f"{calls.p(99.9, m):.2f}",
                         int((m & ~calls.ok).sum()), cpu])  # fmt: skip
    soak = fig.soak
    print_table(
        f"phases (peak {fig.peak:.0f} calls/s; soak asked {fig.rate:.0f}/s, answered "
        f"{soak.answered_qps(0, fig.seconds):.0f}/s; the soak's client processes used "
        f"{soak.client_cpu_s / fig.seconds:.2f} CPU cores)",
        ["phase", "calls", "n", "p50 ms", "p99 ms", "p99.9 ms", "failed", "server CPU ms/call"],
        rows,
        left=2,
    )


def _failures(soak: Calls) -> list[tuple[str, str, str, bool]]:
    by_code = Counter(soak.status[~soak.ok].tolist())
    shown = ", ".join(f"{_code(c)} x{n}" for c, n in by_code.most_common()) or "none"
    out = [
        (
            "failed requests in the soak",
            f"{soak.failed()} ({shown})",
            f"{MAX_FAILED}",
            soak.failed() <= MAX_FAILED,
        )
    ]
    for code, text in soak.first_errors.items():
        say(f"first {_code(code)}: {text}")
    return out


def _code(status: int) -> str:
    import grpc

    names = {c.value[0]: c.name for c in grpc.StatusCode}
    return {-1: "CLIENT_ERROR", -2: "SHORT_ACK"}.get(status, names.get(status, str(status)))


def _latency(fig: Figures) -> tuple[str, str, str, bool]:
    p99, base = fig.soak.p(99), fig.unloaded.p(99)
    return (
        "p99 soak vs unloaded (same mix)",
        f"{p99:.2f} ms ({p99 / base:.2f}x {base:.2f} ms)",
        f"<= {MAX_P99_RATIO:g}x",
        p99 <= MAX_P99_RATIO * base,
    )


def _memory(fig: Figures) -> tuple[str, str, str, bool]:
    first, last, w1, w2 = fig.rss_windows()
    growth = (last - first) / first
    return (
        f"server RSS growth (median {w1[0]:.0f}-{w1[1]:.0f} s -> {w2[0]:.0f}-end)",
        f"{growth:+.1%} ({first / 2**20:.0f} -> {last / 2**20:.0f} MiB)",
        f"< {MAX_RSS_GROWTH:.0%}",
        growth < MAX_RSS_GROWTH,
    )


def _events(fig: Figures) -> tuple[str, str, str, bool]:
    acked, stored = fig.acked(), Counter(fig.stored_ids)
    present = sum(1 for e in acked if e in stored)
    twice = sum(n - 1 for n in stored.values() if n > 1)
    extra = len(set(stored) - set(acked))  # stored from calls that failed on the client side
    return (
        "acknowledged events in the store",
        f"{present}/{len(acked)} (duplicates {twice}, stored unacknowledged {extra})",
        "all, once",
        present == len(acked) and twice == 0,
    )


def _model(fig: Figures) -> list[tuple[str, str, str, bool]]:
    """GetModelInfo before and after, and the version of every answer sent well after the swap.

    Answers are placed by when they were sent: a fixed-rate client that fell behind sends a
    call due before the promotion after it.
    """
    soak, a, b = fig.soak, str(fig.version_a), str(fig.version_b)
    promoted = fig.marks["promote"]
    rec = soak.ok & (soak.kind == RECOMMEND)
    late = rec & (soak.sent >= promoted + SWAP_WITHIN_S)
    first_b = soak.sent[rec & (soak.version == fig.version_b)]
    last_a = soak.sent[rec & (soak.version == fig.version_a)]
    moved = (
        f"first v{b} answer sent {first_b.min() - promoted:+.1f} s, last v{a} answer sent "
        f"{last_a.max() - promoted:+.1f} s from the promotion"
        if len(first_b) and len(last_a)
        else "no answer from one of the versions"
    )
    late_b = int((soak.version[late] == fig.version_b).sum())
    return [
        (
            "GetModelInfo before -> after the swap",
            f"{_joined(fig.versions_before)} -> {_joined(fig.versions_after)}",
            f"all {a} -> all {b}",
            set(fig.versions_before) == {a} and set(fig.versions_after) == {b},
        ),
        (
            f"answers from v{b} sent {SWAP_WITHIN_S:g} s after the promotion",
            f"{late_b}/{int(late.sum())} ({moved})",
            "all",
            bool(late.any()) and late_b == int(late.sum()),
        ),
    ]


def _joined(versions: list[str]) -> str:
    return ",".join(sorted(set(versions))) or "-"


def _offer(fig: Figures) -> list[tuple[str, str, str, bool]]:
    """Offer items in answers sent while it was active; none answered before, none sent after.

    "After" starts PAUSE_WITHIN_S past the pause: a paused offer cannot reserve a slot, so only
    calls in flight at the pause may still carry it.
    """
    soak = fig.soak
    on, off = fig.marks["offer_on"], fig.marks["offer_paused"]
    rec = soak.ok & (soak.kind == RECOMMEND)
    items = soak.offer_items.clip(0)
    live = rec & (soak.sent >= on) & (soak.sent < off)
    seen = rec & (items > 0)
    first = soak.sent[seen & (soak.sent >= on)]
    delay = f", first sent {first.min() - on:.1f} s after activation" if len(first) else ""
    before = int(items[rec & (soak.done < on)].sum())
    after = int(items[rec & (soak.sent >= off + PAUSE_WITHIN_S)].sum())
    return [
        (
            "offer items in answers while active",
            f"{int(items[live].sum())} in {int((live & seen).sum())}/{int(live.sum())} answers"
            f"{delay}",
            "> 0",
            int(items[live].sum()) > 0,
        ),
        (
            f"offer items answered before activation / sent {PAUSE_WITHIN_S:g} s after pausing",
            f"{before} / {after}",
            "0 / 0",
            before == 0 and after == 0,
        ),
    ]


def save(out: Path, fig: Figures) -> None:
    """summary.json (figures) and calls.npz (every call of every phase) in `out`."""
    arrays = {}
    for name, calls in (("unloaded", fig.unloaded), ("peak", fig.peak_calls), ("soak", fig.soak)):
        for col in COLUMNS:
            arrays[f"{name}_{col}"] = getattr(calls, col)
    np.savez_compressed(out / "calls.npz", **arrays)
    first, last, *_ = fig.rss_windows()
    summary = {
        "run_id": fig.run_id,
        "seconds": fig.seconds,
        "workers": fig.workers,
        "clients": fig.clients,
        "peak_qps": fig.peak,
        "soak_rate": fig.rate,
        "unloaded_p99_ms": fig.unloaded.p(99),
        "soak_p99_ms": fig.soak.p(99),
        "soak_failed": fig.soak.failed(),
        "rss_first_mib": first / 2**20,
        "rss_last_mib": last / 2**20,
        "acked_events": len(fig.acked()),
        "stored_events": len(fig.stored_ids),
        "marks": fig.marks,
        "versions_before": fig.versions_before,
        "versions_after": fig.versions_after,
        "load1": fig.samples.load1,
        "rss_t": fig.samples.t,
        "rss": fig.samples.rss,
        "cores": os.cpu_count(),
        "log_errors": fig.log_errors[:20],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))


