"""Benchmark: our gRPC Recommend against an empty-handler grpcio server and `mlflow models serve`.

    python bench/serve.py [--customers 20000] [--family itemknn] [--concurrency 1,4,8,16,32]
                          [--seconds 4] [--clients 2] [--workers 2] [--mlflow-workers 2]
                          [--million] [--only-million] [--skip-mlflow]

One registered model (bench/serve_model.py: a generated bank trained by the real pipeline into
a bench-only MLflow registry under var/bench/) is served three ways, one after the other, on
loopback, each with `--workers` processes:

  (a) `recsys serve --workers N`            gRPC Recommend (our server)
  (b) bench/serve_empty.py --workers N      the same proto, a handler that does nothing
  (c) `mlflow models serve -m models:/bank-recsys@champion --env-manager local` over HTTP

Closed-loop load at each concurrency from `--clients` client processes (bench/serve_load.py):
QPS, p50, p99. Then (a) again at a fixed rate of half its peak QPS (open loop, latency from the
scheduled send time). With --million, a bank of 1,000,000 customers is trained and registered
too (slow the first time; cached after) and `recsys serve` started on it: time until health
says SERVING and resident memory of the server's processes.

Targets (issue 4): peak (a) >= 0.6 x peak (b) and >= 5 x peak (c) in the same run; p99 <= 10 ms
at half of (a)'s peak; with 1M customers ready in <= 30 s and RSS <= 2 GB. Prints figures,
ratios and PASS/MISS; never asserts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from serve_load import Result, Target, closed_loop, fixed_rate  # noqa: E402
from serve_model import BENCH_HOME, BenchModel, ensure_model  # noqa: E402
from serve_servers import Server, empty_serve, mlflow_serve, recsys_serve  # noqa: E402

MIN_VS_EMPTY = 0.6
MIN_VS_MLFLOW = 5.0
MAX_P99_HALF_MS = 10.0
MAX_READY_S = 30.0
MAX_RSS_BYTES = 2 * 1024**3
MILLION = 1_000_000
MILLION_DATA = BENCH_HOME / "gen-1000000-s7"  # bench/train_speed.py's cached bank, if any
CHANNEL = "mobile"
K = 5
N_PAYLOADS = 5000
LOGS = BENCH_HOME / "serve-logs"


def main() -> None:
    """Run the benchmark and print the tables."""
    args = _parse()
    if not args.only_million:
        model = ensure_model(args.customers, args.family, args.seed)
        _say(f"model: {args.family} on {args.customers:,} customers, version {model.version}"
             + (f" (built in {model.build_s:.0f} s)" if model.build_s else " (cached)"))
        _throughput(args, model)
    if args.million or args.only_million:
        _million(args)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--family", default="itemknn", help="model family to train and serve")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", default="1,4,8,16,32")
    parser.add_argument("--seconds", type=float, default=4.0, help="measured window per run")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--workers", type=int, default=2, help="server processes, (a) and (b)")
    parser.add_argument("--mlflow-workers", type=int, default=2)
    parser.add_argument("--half-seconds", type=float, default=8.0, help="fixed-rate run length")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--million", action="store_true", help="also the 1M-customer start")
    parser.add_argument("--only-million", action="store_true")
    parser.add_argument("--million-family", default="itemknn")
    return parser.parse_args()


def _throughput(args: argparse.Namespace, model: BenchModel) -> None:
    levels = [int(c) for c in args.concurrency.split(",")]
    payloads = tuple((c, CHANNEL, K) for c in model.customer_ids(N_PAYLOADS))
    env = model.env()
    runs: dict[str, dict[int, Result]] = {}
    with empty_serve(env, args.workers, LOGS) as server:
        runs["(b) empty grpcio"] = _levels(args, server, Target("grpc", server.address, payloads), levels)
    with recsys_serve(env, args.workers, LOGS) as server:
        _say(f"recsys serve ready in {server.ready_s:.1f} s")
        target = Target("grpc", server.address, payloads)
        runs["(a) recsys serve"] = _levels(args, server, target, levels)
        peak = max(r.qps for r in runs["(a) recsys serve"].values())
        half = fixed_rate(target, peak / 2, args.half_seconds, args.warmup, args.clients)
        rss, per = server.rss_bytes()
    if not args.skip_mlflow:
        uri = "models:/bank-recsys@champion"
        with mlflow_serve(env, uri, args.mlflow_workers, LOGS) as server:
            _say(f"mlflow models serve ready in {server.ready_s:.1f} s")
            runs["(c) mlflow serve"] = _levels(args, server, Target("http", server.address, payloads), levels)
    _report(args, levels, runs, peak, half, rss, per)


def _levels(args: argparse.Namespace, server: Server, target: Target, levels: list[int]) -> dict[int, Result]:
    out = {}
    for c in levels:
        out[c] = closed_loop(target, c, args.seconds, args.warmup, args.clients)
        r = out[c]
        _say(f"  {server.name:7s} c={c:<3d} {r.qps:8.0f} qps  p50 {r.percentile(50):7.2f} ms  "
             f"p99 {r.percentile(99):7.2f} ms  errors {r.errors}" + (f" ({r.first_error})" if r.errors else ""))
    return out


def _report(
    args: argparse.Namespace, levels: list[int], runs: dict[str, dict[int, Result]], peak: float,
    half: Result, rss: int, per: list[int],
) -> None:
    rows = []
    for name, by_level in runs.items():
        for c in levels:
            r = by_level[c]
            rows.append([name, c, f"{r.qps:.0f}", f"{r.percentile(50):.2f}", f"{r.percentile(99):.2f}", r.errors])
    _table("closed loop (QPS, latency in ms)", ["server", "conc", "qps", "p50", "p99", "errors"], rows)
    a, b = runs["(a) recsys serve"], runs["(b) empty grpcio"]
    c = runs.get("(c) mlflow serve")
    ratio_rows = []
    for level in levels:
        row = [level, f"{a[level].qps / b[level].qps:.2f}"]
        row.append(f"{a[level].qps / c[level].qps:.1f}" if c else "-")
        ratio_rows.append(row)
    _table("ratios per concurrency", ["conc", "(a)/(b)", "(a)/(c)"], ratio_rows)
    peak_b = max(r.qps for r in b.values())
    checks = [
        (f"peak (a) / peak (b) >= {MIN_VS_EMPTY}", peak / peak_b, MIN_VS_EMPTY, "x", True),
    ]
    if c:
        peak_c = max(r.qps for r in c.values())
        checks.append((f"peak (a) / peak (c) >= {MIN_VS_MLFLOW:g}", peak / peak_c, MIN_VS_MLFLOW, "x", True))
    checks.append((f"p99 at half peak ({peak / 2:.0f} qps, got {half.qps:.0f}) <= {MAX_P99_HALF_MS:g} ms",
                   half.percentile(99), MAX_P99_HALF_MS, " ms", False))
    _checks("targets", checks)
    _say(f"half-peak run: p50 {half.percentile(50):.2f} ms, p99 {half.percentile(99):.2f} ms, "
         f"errors {half.errors}; (a) RSS {rss / 2**20:.0f} MiB "
         f"({', '.join(f'{x / 2**20:.0f}' for x in per)} MiB per process)")


def _million(args: argparse.Namespace) -> None:
    data = MILLION_DATA if MILLION_DATA.exists() else None
    started = time.perf_counter()
    model = ensure_model(MILLION, args.million_family, args.seed, data_dir=data)
    _say(f"1M model: {args.million_family}, version {model.version}, "
         + (f"built in {model.build_s:.0f} s" if model.build_s else "cached")
         + f" ({time.perf_counter() - started:.0f} s)")
    payloads = tuple((c, CHANNEL, K) for c in model.customer_ids(N_PAYLOADS))
    with recsys_serve(model.env(), args.workers, LOGS) as server:
        ready = server.ready_s
        rss, per = server.rss_bytes()
        r = closed_loop(Target("grpc", server.address, payloads), 8, args.seconds, args.warmup, args.clients)
        rss_after, per_after = server.rss_bytes()
    _say(f"1M: closed loop c=8: {r.qps:.0f} qps, p50 {r.percentile(50):.2f} ms, "
         f"p99 {r.percentile(99):.2f} ms, errors {r.errors}")
    _say(f"1M: RSS per process at ready {', '.join(f'{x / 2**20:.0f}' for x in per)} MiB, "
         f"after load {', '.join(f'{x / 2**20:.0f}' for x in per_after)} MiB")
    worst = max(max(per_after), max(per)) if per else 0
    _checks(f"1M customers, recsys serve --workers {args.workers}", [
        (f"ready (health SERVING) <= {MAX_READY_S:g} s", ready, MAX_READY_S, " s", False),
        ("RSS of one server process <= 2 GiB", worst / 2**30, MAX_RSS_BYTES / 2**30, " GiB", False),
        (f"RSS of all {args.workers} processes (info)", max(rss, rss_after) / 2**30, None, " GiB", False),
    ])


def _checks(title: str, checks: list) -> None:
    rows = []
    for name, value, bound, unit, at_least in checks:
        verdict = "" if bound is None else ("PASS" if (value >= bound if at_least else value <= bound) else "MISS")
        rows.append([name, f"{value:.2f}{unit}", verdict])
    _table(title, ["target", "measured", ""], rows)


def _table(title: str, header: list[str], rows: list[list[object]]) -> None:
    cells = [[str(v) for v in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for i, row in enumerate(cells):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths, strict=True))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


def _say(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    main()
