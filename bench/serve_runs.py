"""One server's closed-loop results for the serving benchmarks, and how one level is run."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from serve_load import Result, Target, closed_loop
from serve_servers import Server


@dataclass
class Run:
    """One server's closed-loop results by concurrency, and its CPU time per answered call."""

    name: str
    results: dict[int, Result] = field(default_factory=dict)  # the best round's, per level
    cpu_ms: dict[int, float] = field(default_factory=dict)
    qps_by_round: dict[int, list[float]] = field(default_factory=dict)  # every round's

    @property
    def peak(self) -> float:
        """Best QPS over the concurrency levels."""
        return max(r.qps for r in self.results.values())

    def round_peaks(self) -> list[float]:
        """Each round's best QPS over the levels (round i: the i-th run of every level)."""
        return [max(runs) for runs in zip(*self.qps_by_round.values(), strict=True)]

    def add(self, c: int, r: Result, cpu_ms: float) -> None:
        """Record one round at level `c`; the best round's result stands for the level."""
        self.qps_by_round.setdefault(c, []).append(r.qps)
        best = self.results.get(c)
        if best is None or r.qps > best.qps:
            self.results[c], self.cpu_ms[c] = r, cpu_ms


def one_level(
    args: argparse.Namespace, server: Server, payloads: tuple, c: int
) -> tuple[Result, float]:
    """A closed-loop run and the server's CPU time per answered call (an estimate)."""
    kind = "http" if server.name == "mlflow" else "grpc"
    before = server.cpu_seconds()
    r = closed_loop(Target(kind, server.address, payloads), c, args.seconds, args.warmup,
                    args.clients)
    # CPU over warm-up + window against the calls of the window
    calls = max(1.0, r.qps * (args.seconds + args.warmup))
    return r, 1000 * (server.cpu_seconds() - before) / calls


def level_line(name: str, c: int, r: Result, cpu_ms: float) -> str:
    """One run as a progress line."""
    failed = f"  errors {r.errors} ({r.first_error})" if r.errors else ""
    return (f"  {name:20s} c={c:<3d} {r.qps:7.0f} qps  p50 {r.percentile(50):7.2f} ms"
            f"  p99 {r.percentile(99):7.2f} ms  server CPU {cpu_ms:.2f} ms/call{failed}")
