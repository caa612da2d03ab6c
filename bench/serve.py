"""Benchmark: our gRPC Recommend against an empty-handler grpcio server and `mlflow models serve`.

    python bench/serve.py [--customers 20000] [--family itemknn] [--concurrency 1,4,8,16,32]
                          [--seconds 4] [--rounds 1] [--clients 2] [--workers 2]
                          [--mlflow-workers 2] [--skip-mlflow] [--million] [--only-million]

One registered model (bench/serve_model.py: a generated bank trained by the real pipeline into
a bench-only MLflow registry under var/bench/) is served on loopback, each server with
`--workers` processes sharing a port:

  (a) `recsys serve --workers N`               gRPC Recommend (our server, grpc.aio)
  (a') the same with RECSYS_ANSWER_CACHE_SIZE=0: every answer worked out afresh. The payloads
      are N_PAYLOADS customers asked round-robin (none with events), so after the first pass
      (a) answers every call from its answer cache; (a') is the cost of a first ask
  (b) bench/serve_empty.py --workers N [--aio]  the same proto, a handler that does nothing,
      as a classic thread-pool grpcio server and as a grpc.aio server; the faster is (b)
  (c) `mlflow models serve -m models:/bank-recsys@champion --env-manager local` over HTTP

All servers are started first; then every concurrency level runs on each server back to
back (closed loop from `--clients` client processes, bench/serve_load.py: QPS, p50, p99, and
the server's CPU time per call), best of `--rounds`: the machine is shared, and load that
comes and goes then hits every server at that level alike. The ratios also come paired:
(a) over (b) of the same round, median over rounds. Then (a) again at a fixed rate of
half its peak QPS (open loop, latency from the scheduled send time), and (b) at that rate
and at half its own peak, for scale (what the machine and the clients cost). With --million,
a bank of 1,000,000 customers is trained and registered too (cached after the first time)
and `recsys serve` started on it: time until health says SERVING, resident memory.

Targets (issue 4): peak (a) >= 0.6 x peak (b) and >= 5 x peak (c) in the same run; p99 <= 10 ms
at half of (a)'s peak; with 1M customers ready in <= 30 s and RSS <= 2 GB. Prints figures,
ratios and PASS/MISS; never asserts.

Comparing two trees (bench/serve_compare.py), e.g. against the tree before a change:

    git worktree add /tmp/old-tree <commit>
    python bench/serve.py --compare-tree /tmp/old-tree [--concurrency 8,16,32] [--rounds 2]
                          [--rates 0.5,0.65] [--rate-rounds 2] [--half-seconds 8]

starts (a) and (a') of this tree ("new") and of PATH ("old"), each `recsys serve` on the same
venv python with PYTHONPATH and working directory of its own tree (the packages each imports
are printed first), on the one registered bench model, each with a fresh RECSYS_HOME and
empty event store; and the empty grpc.aio server. Closed loop: every level on every server,
--rounds times (default 2), old before new in odd rounds; peaks new/old for (a) and (a'), best
of rounds and paired by round (each round's peak over the levels), median [min-max]. Then
fixed rates at --rates shares of old (a')'s peak, each on new (a'), old (a') and the empty
server --rate-rounds times: p99 by round and the ratios to old (a') and to the empty server.
Targets (issue 15): peak (a) and (a') new >= 0.95 x old; p99 of new (a') <= old (a') at each
rate (medians of the rounds). No mlflow server in this mode.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from serve_compare import compare_trees  # noqa: E402
from serve_load import Result, Target, closed_loop, fixed_rate  # noqa: E402
from serve_model import BENCH_HOME, BenchModel, ensure_model  # noqa: E402
from serve_runs import Run, level_line, one_level  # noqa: E402
from serve_servers import Server, empty_serve, mlflow_serve, recsys_serve  # noqa: E402
from tables import print_checks, print_table, say  # noqa: E402

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
NO_CACHE = "(a') no answer cache"


def main() -> None:
    """Run the benchmark and print the tables."""
    args = _parse()
    if not args.only_million:
        model = ensure_model(args.customers, args.family, args.seed)
        model.empty_store()
        say(f"model: {args.family} on {args.customers:,} customers, version {model.version}"
             + (f" (built in {model.build_s:.0f} s)" if model.build_s else " (cached)"))
        if args.compare_tree:
            payloads = tuple((c, CHANNEL, K) for c in model.customer_ids(N_PAYLOADS))
            compare_trees(args, model, Path(args.compare_tree), payloads, LOGS)
        else:
            _throughput(args, model)
    if args.million or args.only_million:
        _million(args)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--family", default="itemknn", help="model family to train and serve")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", help="levels (default 1,4,8,16,32; compared 8,16,32)")
    parser.add_argument("--seconds", type=float, default=4.0, help="measured window per run")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--workers", type=int, default=2, help="server processes, (a) and (b)")
    parser.add_argument("--mlflow-workers", type=int, default=2)
    parser.add_argument("--half-seconds", type=float, default=8.0, help="fixed-rate run length")
    parser.add_argument("--rounds", type=int, help="runs per level, best counts (1; compared 2)")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--million", action="store_true", help="also the 1M-customer start")
    parser.add_argument("--only-million", action="store_true")
    parser.add_argument("--million-family", default="itemknn")
    parser.add_argument("--compare-tree", metavar="PATH",
                        help="compare with the checkout at PATH instead (see the docstring)")
    parser.add_argument("--rates", default="0.5,0.65",
                        help="compared: fixed rates, as shares of PATH's (a') peak")
    parser.add_argument("--rate-rounds", type=int, default=2, help="compared: runs per rate")
    args = parser.parse_args()
    compared = args.compare_tree is not None
    args.concurrency = args.concurrency or ("8,16,32" if compared else "1,4,8,16,32")
    args.rounds = args.rounds or (2 if compared else 1)
    return args


def _throughput(args: argparse.Namespace, model: BenchModel) -> None:
    levels = [int(c) for c in args.concurrency.split(",")]
    payloads = tuple((c, CHANNEL, K) for c in model.customer_ids(N_PAYLOADS))
    env = model.env()
    with ExitStack() as stack:
        servers = {
            "(b) empty grpcio": stack.enter_context(empty_serve(env, args.workers, LOGS)),
            "(b) empty grpc.aio": stack.enter_context(
                empty_serve(env, args.workers, LOGS, use_aio=True)
            ),
            "(a) recsys serve": stack.enter_context(recsys_serve(env, args.workers, LOGS)),
            NO_CACHE: stack.enter_context(recsys_serve(
                {**env, "RECSYS_ANSWER_CACHE_SIZE": "0"}, args.workers, LOGS, name="recsys-nocache"
            )),
        }
        if not args.skip_mlflow:
            uri = "models:/bank-recsys@champion"
            servers["(c) mlflow serve"] = stack.enter_context(
                mlflow_serve(env, uri, args.mlflow_workers, LOGS)
            )
        for name, server in servers.items():
            say(f"{name}: ready in {server.ready_s:.1f} s")
        runs = _interleaved(args, servers, payloads, levels)
        ours, server = runs["(a) recsys serve"], servers["(a) recsys serve"]
        target = Target("grpc", server.address, payloads)
        half = fixed_rate(target, ours.peak / 2, args.half_seconds, args.warmup, args.clients)
        rss, per = server.rss_bytes()
        # the same fixed rate on the faster empty server, and half of its own peak: how much
        # of the p99 the machine and the load generator cost, whatever the handler does
        empty = _ceiling(list(runs.values()))
        empty_target = Target("grpc", servers[empty.name].address, payloads)
        empty_half = {
            rate: fixed_rate(empty_target, rate, args.half_seconds, args.warmup, args.clients)
            for rate in (ours.peak / 2, empty.peak / 2)
        }
    _report(args, levels, list(runs.values()), half, rss, per, empty_half)


def _interleaved(
    args: argparse.Namespace, servers: dict[str, Server], payloads: tuple, levels: list[int]
) -> dict[str, Run]:
    """Each level on every server back to back (idle servers wait), best of --rounds.

    The machine is shared: load that comes and goes then hits every server at that level
    alike, instead of whichever server happened to run at the time.
    """
    runs = {name: Run(name) for name in servers}
    for c in levels:
        for _ in range(args.rounds):
            for name, server in servers.items():
                r, cpu_ms = one_level(args, server, payloads, c)
                runs[name].add(c, r, cpu_ms)
                say(level_line(name, c, r, cpu_ms))
    return runs


def _paired(ours: Run, ceiling: Run, c: int) -> list[float]:
    """(a)/(b) of each round at level `c`, (b) measured in that same round.

    Runs of one round follow each other within seconds, so load that comes and goes on the
    machine hits both sides of a pair alike; the best-of-rounds peaks may come from
    different minutes, and a peak (b) is the best of twice as many runs as a peak (a) (two
    empty servers), which alone pulls the peak ratio down when runs vary.
    """
    return [a / b for a, b in zip(ours.qps_by_round[c], ceiling.qps_by_round[c], strict=True)]


def _ceiling(runs: list[Run]) -> Run:
    """The faster empty server: (b)."""
    return max((r for r in runs if r.name.startswith("(b)")), key=lambda r: r.peak)


def _report(
    args: argparse.Namespace, levels: list[int], runs: list[Run], half: Result, rss: int,
    per: list[int], empty_half: dict[float, Result],
) -> None:
    rows = [
        [run.name, c, f"{r.qps:.0f}", f"{r.percentile(50):.2f}", f"{r.percentile(99):.2f}",
         f"{run.cpu_ms[c]:.2f}", r.errors]
        for run in runs
        for c, r in run.results.items()
    ]
    header = ["server", "conc", "qps", "p50 ms", "p99 ms", "CPU ms/call", "errors"]
    print_table(f"closed loop, {args.workers} server processes, {args.clients} client processes",
           header, rows)
    by_name = {run.name: run for run in runs}
    ours, afresh = by_name["(a) recsys serve"], by_name[NO_CACHE]
    ceiling = _ceiling(runs)
    mlflow = by_name.get("(c) mlflow serve")
    ratio_rows = []
    for c in levels:
        vs_b = ours.results[c].qps / ceiling.results[c].qps
        vs_c = f"{ours.results[c].qps / mlflow.results[c].qps:.1f}" if mlflow else "-"
        afresh_b = afresh.results[c].qps / ceiling.results[c].qps
        paired = _paired(ours, ceiling, c)
        spread = f"{statistics.median(paired):.2f} [{min(paired):.2f}-{max(paired):.2f}]"
        ratio_rows.append([c, f"{vs_b:.2f}", vs_c, f"{afresh_b:.2f}", spread])
    print_table(f"ratios per concurrency ((b) = {ceiling.name}, the faster empty server; "
                "paired: (a) over (b) of the same round, median [min-max])",
           ["conc", "(a)/(b)", "(a)/(c)", "(a')/(b)", "(a)/(b) paired"], ratio_rows)
    checks = [(f"peak (a) {ours.peak:.0f} / peak (b) {ceiling.peak:.0f} >= {MIN_VS_EMPTY}",
               ours.peak / ceiling.peak, MIN_VS_EMPTY, "x", True)]
    if mlflow:
        checks.append((f"peak (a) / peak (c) {mlflow.peak:.0f} >= {MIN_VS_MLFLOW:g}",
                       ours.peak / mlflow.peak, MIN_VS_MLFLOW, "x", True))
    best_level = max(levels, key=lambda c: ours.results[c].qps)
    checks.append((f"(info) (a)/(b) paired by round at c={best_level}, median",
                   statistics.median(_paired(ours, ceiling, best_level)), None, "x", True))
    checks.append((f"(info) peak (a') {afresh.peak:.0f} / peak (b), no answer cache",
                   afresh.peak / ceiling.peak, None, "x", True))
    if mlflow:
        checks.append(("(info) peak (a') / peak (c), no answer cache",
                       afresh.peak / mlflow.peak, None, "x", True))
    asked = f"{ours.peak / 2:.0f} qps asked, {half.qps:.0f} answered"
    checks.append((f"p99 at half peak ({asked}) <= {MAX_P99_HALF_MS:g} ms",
                   half.percentile(99), MAX_P99_HALF_MS, " ms", False))
    for rate, r in empty_half.items():
        checks.append((f"(info) {ceiling.name}: p99 at {rate:.0f} qps asked, {r.qps:.0f} answered",
                       r.percentile(99), None, " ms", False))
    print_checks("targets", checks)
    say(f"half-peak run: p50 {half.percentile(50):.2f} ms, p99 {half.percentile(99):.2f} ms, "
         f"errors {half.errors}; (a) RSS {rss / 2**20:.0f} MiB in all "
         f"({', '.join(f'{x / 2**20:.0f}' for x in per)} MiB per process)")


def _million(args: argparse.Namespace) -> None:
    data = MILLION_DATA if MILLION_DATA.exists() else None
    started = time.perf_counter()
    model = ensure_model(MILLION, args.million_family, args.seed, data_dir=data)
    model.empty_store()
    say(f"1M model: {args.million_family}, version {model.version}, "
         + (f"built in {model.build_s:.0f} s" if model.build_s else "cached")
         + f" ({time.perf_counter() - started:.0f} s)")
    payloads = tuple((c, CHANNEL, K) for c in model.customer_ids(N_PAYLOADS))
    with recsys_serve(model.env(), args.workers, LOGS) as server:
        ready = server.ready_s
        rss, per = server.rss_bytes()
        target = Target("grpc", server.address, payloads)
        r = closed_loop(target, 8, args.seconds, args.warmup, args.clients)
        rss_after, per_after = server.rss_bytes()
    say(f"1M: closed loop c=8: {r.qps:.0f} qps, p50 {r.percentile(50):.2f} ms, "
         f"p99 {r.percentile(99):.2f} ms, errors {r.errors}")
    say(f"1M: RSS per process at ready {', '.join(f'{x / 2**20:.0f}' for x in per)} MiB, "
         f"after load {', '.join(f'{x / 2**20:.0f}' for x in per_after)} MiB")
    worst = max(per + per_after) / 2**30
    total = max(rss, rss_after) / 2**30
    print_checks(f"1M customers, recsys serve --workers {args.workers}", [
        (f"ready (health SERVING) <= {MAX_READY_S:g} s", ready, MAX_READY_S, " s", False),
        ("RSS of one server process <= 2 GiB", worst, MAX_RSS_BYTES / 2**30, " GiB", False),
        (f"RSS of all {args.workers} worker processes + parent (info)", total, None, " GiB", False),
    ])


if __name__ == "__main__":
    main()
