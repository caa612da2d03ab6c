"""Latency against load: our Recommend and an empty grpc.aio server under the soak's yardstick.

    python bench/load_latency.py [--shares 0.3,0.5,0.7] [--seconds 30] [--workers 2]
                                 [--clients 2] [--customers 20000] [--family itemknn]

The soak (bench/soak.py, issue 6) asks for a p99 within 2x the unloaded p99 at 70% of the
measured (closed-loop) peak. This bench puts the same question to a server that does no
work at all, side by side with ours, in one run: bench/serve_empty.py --aio (the grpc.aio
server `recsys serve` runs, handler answering an empty response) and `recsys serve` on the
bench model (bench/serve_model.py), both with --workers processes on loopback, loaded by
--clients client processes of bench/serve_load.py on the same machine. For each server:

  1. unloaded: 20 calls/s for 15 s, fixed rate: its unloaded p99;
  2. peak: closed loop at concurrency 16 and 32, the better: its peak QPS;
  3. at each share of its own peak, fixed rate for --seconds: p50, p99 and p99 / unloaded p99.

Recommend only (the soak also records events), one customer per call, channel mobile, k 5.
What it shows: how far the 2x yardstick is from what the machine allows whatever the
handler does. Prints figures and ratios; never asserts.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import AbstractContextManager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from serve_load import Result, Target, closed_loop, fixed_rate  # noqa: E402
from serve_model import BENCH_HOME, ensure_model  # noqa: E402
from serve_servers import Server, empty_serve, recsys_serve  # noqa: E402
from tables import print_table, say  # noqa: E402

CHANNEL = "mobile"
K = 5
N_PAYLOADS = 5000
UNLOADED_RATE = 20.0
UNLOADED_S = 15.0
PEAK_S = 8.0
WARMUP_S = 2.0
PEAK_CONCURRENCY = (16, 32)
YARDSTICK = 2.0  # the soak's target: p99 within 2x the unloaded p99
LOGS = BENCH_HOME / "load-latency-logs"


def main() -> None:
    """Measure both servers, print one table."""
    args = _parse()
    model = ensure_model(args.customers, args.family, args.seed)
    payloads = tuple((c, CHANNEL, K) for c in model.customer_ids(N_PAYLOADS))
    env = model.env()
    servers: list[tuple[str, AbstractContextManager[Server]]] = [
        ("empty grpc.aio", empty_serve(env, args.workers, LOGS, use_aio=True)),
        ("recsys serve", recsys_serve(env, args.workers, LOGS)),
    ]
    say(
        f"model {args.family} on {args.customers:,} customers, version {model.version}; "
        f"{args.workers} server processes, {args.clients} client processes, one machine"
    )
    rows = []
    for name, started in servers:
        with started as server:
            rows.extend(_measure(name, server, payloads, args))
    header = ["server", "load", "asked/s", "answered/s", "p50 ms", "p99 ms", "p99/unloaded",
              f"vs {YARDSTICK:g}x", "errors"]
    print_table("p99 against load, as a ratio to each server's unloaded p99", header, rows, left=2)


def _measure(
    name: str, server: Server, payloads: tuple, args: argparse.Namespace
) -> list[list[str]]:
    target = Target("grpc", server.address, payloads)
    unloaded = fixed_rate(target, UNLOADED_RATE, UNLOADED_S, WARMUP_S, args.clients)
    peak = max(
        closed_loop(target, c, PEAK_S, WARMUP_S, args.clients).qps for c in PEAK_CONCURRENCY
    )
    base = unloaded.percentile(99)
    say(f"{name}: unloaded p99 {base:.2f} ms, peak {peak:.0f} calls/s")
    rows = [_row(name, "unloaded", UNLOADED_RATE, unloaded, base)]
    for share in args.shares:
        run = fixed_rate(target, share * peak, args.seconds, WARMUP_S, args.clients)
        rows.append(_row(name, f"{share:g} x peak {peak:.0f}", share * peak, run, base))
        say(f"  {rows[-1][1]}: p99 {rows[-1][5]} ms ({rows[-1][6]} unloaded)")
    return rows


def _row(name: str, load: str, rate: float, r: Result, base: float) -> list[str]:
    ratio = r.percentile(99) / base
    verdict = "within" if ratio <= YARDSTICK else "beyond"
    return [
        name,
        load,
        f"{rate:.0f}",
        f"{r.qps:.0f}",
        f"{r.percentile(50):.2f}",
        f"{r.percentile(99):.2f}",
        f"{ratio:.1f}x",
        f"{verdict} {YARDSTICK:g}x",
        str(r.errors),
    ]


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shares", default="0.3,0.5,0.7", help="fixed rates, x each peak")
    parser.add_argument("--seconds", type=float, default=30.0, help="each fixed-rate run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--family", default="itemknn")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.shares = [float(s) for s in args.shares.split(",") if s]
    if not args.shares or not all(0 < s <= 1 for s in args.shares):
        parser.error(f"--shares: fractions in (0, 1], got {args.shares}")
    return args


if __name__ == "__main__":
    main()
