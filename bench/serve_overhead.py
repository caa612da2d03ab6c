"""Server CPU per Recommend call, in us, for the real server and variants of it: where it goes.

    python bench/serve_overhead.py [--calls 20000] [--concurrency 16] [--clients 2]
                                   [--rounds 3] [--family itemknn] [--variants full,...]
                                   [--warmup 300]

Each variant is one server process (the bench model of bench/serve_model.py, wired by
`serving.transport.server.run_process` as `recsys serve` runs it) on its own port. Closed-loop
clients (`--clients` processes, `--concurrency` callers in all) connect and warm up, then send
exactly `--calls` Recommend calls; the server's CPU time (user + system, every thread, from
/proc) over that window divided by the calls is the figure. CPU time barely moves with other
load on a shared machine, unlike QPS; variants run interleaved, `--rounds` times, and the
median is printed. The hit% column is the share of the measured calls answered from the answer
cache: the payloads are N_PAYLOADS customers asked round-robin, so once each has been asked
every call hits; `--warmup` calls per client process before measuring set how warm it is.
Columns: total; service = thread CPU inside SuggestionService.recommend (a timer wraps it in
every variant, so the variants stay comparable); loop-svc = the rest of the grpc-loop thread
(grpc.aio's Python side, asyncio, interceptors, servicer, response building and serialization);
other = the process's other threads (gRPC's C event-engine and poller threads, idle pollers);
dlog = the decision-log writer thread; context switches per call.

Variants (bench-only: the server is built with parts left out or replaced, no production
flags):
  full           what `recsys serve` runs (decision log and answer cache on)
  no-cache       full, RECSYS_ANSWER_CACHE_SIZE=0: every answer worked out afresh
  no-dlog        full, RECSYS_DECISION_LOG=false (the variants below keep the answer cache)
  no-metrics     no-dlog without AioMetricsInterceptor
  no-undecodable no-dlog without UndecodableInterceptor
  no-intercept   no-dlog without any interceptor
  canned         no-intercept, and SuggestionService.recommend answers from 16 real
                 answers kept per (channel, k): gRPC + servicer glue + response building of
                 real-sized answers, none of the model's work
  empty          bench/serve_empty.py --aio: a grpc.aio server whose handler does nothing
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from overhead_variants import EMPTY, PROBE_EVERY_S, VARIANTS  # noqa: E402
from serve_model import BENCH_HOME, ensure_model  # noqa: E402
from serve_servers import (  # noqa: E402
    PYTHON,
    ROOT,
    Server,
    _cpu,
    _grpc_serving,
    _started,
    _tree,
    _wait,
    free_port,
)
from tables import say  # noqa: E402

CHANNEL = "mobile"
K = 5
N_PAYLOADS = 5000
WARMUP_CALLS = 300  # per client process, before the measured calls
LOGS = BENCH_HOME / "overhead-logs"


def main() -> None:
    """Start every variant's server, measure them interleaved, print the table."""
    args = _parse()
    names = [v for v in args.variants.split(",") if v]
    unknown = [v for v in names if v not in VARIANTS and v != EMPTY]
    if unknown:
        raise SystemExit(f"--variants: unknown {unknown}; known {[*VARIANTS, EMPTY]}")
    model = ensure_model(args.customers, args.family, args.seed)
    model.empty_store()
    payloads = tuple((c, CHANNEL, K) for c in model.customer_ids(N_PAYLOADS))
    found: dict[str, list[dict[str, float]]] = {v: [] for v in names}
    with ExitStack() as stack:
        servers = {v: stack.enter_context(_variant_server(v, model.env())) for v in names}
        say(
            f"model {args.family} on {args.customers:,} customers, version {model.version}; "
            f"{args.calls:,} calls a run, concurrency {args.concurrency}, "
            f"{args.clients} client processes; load {_load()}"
        )
        for r in range(args.rounds):
            for v, (server, probe) in servers.items():
                got = _measure(server, probe, payloads, args)
                found[v].append(got)
                say(
                    f"  round {r + 1} {v:15s} {got['total']:6.0f} us/call: service "
                    f"{got['service']:4.0f}, loop {got['loop']:4.0f}, dlog {got['dlog']:3.0f}; "
                    f"{got['switches'] / 1e6:4.1f} switches/call, {got['qps']:5.0f} qps; "
                    f"load {_load()}"
                )
    _report(found, args)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="measured calls per run")
    parser.add_argument("--concurrency", type=int, default=16, help="callers in all")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--warmup", type=int, default=WARMUP_CALLS, help="calls per client before measuring"
    )
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--family", default="itemknn")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--variants", default=",".join([*VARIANTS, EMPTY]))
    return parser.parse_args()


@contextmanager
def _variant_server(variant: str, env: dict[str, str]) -> Iterator[tuple[Server, Path | None]]:
    """The variant's server process, ready (health SERVING), with its thread-id file."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    if variant == EMPTY:
        cmd = [
            PYTHON,
            str(ROOT / "bench" / "serve_empty.py"),
            "--port",
            str(port),
            "--workers",
            "1",
            "--aio",
        ]
        probe = None
    else:
        probe = LOGS / f"{variant}.probe.json"
        probe.unlink(missing_ok=True)
        cmd = [
            PYTHON,
            str(ROOT / "bench" / "overhead_variants.py"),
            variant,
            "--port",
            str(port),
            "--probe-file",
            str(probe),
        ]
    with _started(variant, cmd, env, address, LOGS) as server:
        server.ready_s = _wait(server, lambda: _grpc_serving(address))
        if probe is not None:
            _wait(server, probe.exists)
        yield server, probe


def _cpu_task(pid: int, tid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_now(server: Server, probe: Path | None) -> dict[str, float]:
    """CPU seconds so far: the process tree, its grpc-loop and decision-log threads, and
    service.recommend; and the context switches of the tree."""
    time.sleep(2.5 * PROBE_EVERY_S)  # the server's probe file has caught up with the calls
    pids = _tree(server.process.pid)
    out = {"total": sum(_cpu(p) for p in pids), "loop": 0.0, "dlog": 0.0, "service": 0.0}
    out |= {"hits": 0.0, "misses": 0.0}
    out["switches"] = float(sum(_switches(p) for p in pids))
    if probe is not None:
        found = json.loads(probe.read_text())
        tids, pid = found["threads"], server.process.pid
        out["loop"] = _cpu_task(pid, tids["grpc-loop"]) if "grpc-loop" in tids else 0.0
        out["dlog"] = _cpu_task(pid, tids["decision-log"]) if "decision-log" in tids else 0.0
        out["service"] = found["service_s"]
        out["hits"], out["misses"] = found["hits"], found["misses"]
    return out


def _switches(pid: int) -> int:
    """Context switches so far of every thread of `pid` (voluntary: waits, GIL handoffs)."""
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            for line in status.read_text().splitlines():
                if "ctxt_switches:" in line:
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


# --- client side -----------------------------------------------------------------------------
def _measure(
    server: Server, probe: Path | None, payloads: tuple, args: argparse.Namespace
) -> dict[str, float]:
    """One run: clients warm up, then exactly args.calls calls; CPU us per call, and QPS."""
    ctx = multiprocessing.get_context("spawn")
    ready, done, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    n = max(1, min(args.clients, args.concurrency))
    callers = [args.concurrency // n + (i < args.concurrency % n) for i in range(n)]
    calls = [args.calls // n + (i < args.calls % n) for i in range(n)]
    procs = [
        ctx.Process(
            target=_client_process,
            args=(server.address, payloads, callers[i], calls[i], args.warmup, i, ready, done, go),
        )
        for i in range(n)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=120)
    before = _cpu_now(server, probe)
    started = time.perf_counter()
    go.set()
    errors = sum(done.get(timeout=600) for _ in procs)
    wall = time.perf_counter() - started
    after = _cpu_now(server, probe)
    for p in procs:
        p.join(10)
    if errors:
        raise SystemExit(f"{server.name}: {errors} calls failed (see {server.log})")
    counts = ("hits", "misses")
    per = {k: (after[k] - before[k]) / args.calls * 1e6 for k in before if k not in counts}
    hits = after["hits"] - before["hits"]
    return {**per, "qps": args.calls / wall, "hit%": 100 * hits / args.calls}


def _client_process(
    address: str,
    payloads: tuple,
    callers: int,
    calls: int,
    warmup: int,
    index: int,
    ready: Any,
    done: Any,
    go: Any,
) -> None:
    done.put(asyncio.run(_client(address, payloads, callers, calls, warmup, index, ready, go)))


async def _client(
    address: str,
    payloads: tuple,
    callers: int,
    calls: int,
    warmup: int,
    index: int,
    ready: Any,
    go: Any,
) -> int:
    """Warm up, report ready, wait for go, send `calls` calls over `callers`; the failures."""
    import grpc

    from serving._proto.recsys.v1 import recommendation_pb2 as pb
    from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc

    options = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(address, options=options) for _ in range(callers)]
    stubs = [pb_grpc.RecommendationServiceStub(c) for c in channels]
    requests = [pb.RecommendRequest(customer_id=c, channel=ch, k=k) for c, ch, k in payloads]
    errors = 0

    async def caller(i: int, count: int) -> None:
        nonlocal errors
        stub, n = stubs[i], index * 104729 + i * 7919
        for _ in range(count):
            try:
                await stub.Recommend(requests[n % len(requests)], timeout=30)
            except grpc.RpcError:
                errors += 1
            n += 1

    shares = [calls // callers + (i < calls % callers) for i in range(callers)]
    warm = [warmup // callers + 1] * callers
    await asyncio.gather(*(caller(i, w) for i, w in enumerate(warm)))
    errors = 0
    ready.put(index)
    while not go.is_set():  # the event is a multiprocessing one: poll it off the loop
        await asyncio.sleep(0.002)
    await asyncio.gather(*(caller(i, s) for i, s in enumerate(shares)))
    await asyncio.gather(*(c.close() for c in channels))
    return errors


# --- report ----------------------------------------------------------------------------------
COLUMNS = (  # (heading, what: a key of a run's figures, or a difference of two)
    ("total", "total"),
    ("service", "service"),  # in SuggestionService.recommend (the handler's own work)
    ("loop-svc", "loop-service"),  # the loop thread less that: gRPC, asyncio, glue, pb
    ("other", "total-loop-dlog"),  # gRPC's C threads (event engine, poller), the rest
    ("dlog", "dlog"),
)


def _report(found: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    """The medians per variant, in us of server CPU per call."""
    print(
        f"\nserver CPU per Recommend call, us: median of {args.rounds} runs of {args.calls:,} "
        f"calls (min-max of total); load now {_load()}"
    )
    header = f"{'variant':15s} " + " ".join(f"{h:>8s}" for h, _ in COLUMNS)
    header += f" {'range':>12s} {'sw/call':>7s} {'qps':>6s} {'hit%':>5s}"
    print(header)
    print("-" * len(header))
    for v, runs in found.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        lo, hi = min(r["total"] for r in runs), max(r["total"] for r in runs)
        cells = [_cell(med, what) if v != EMPTY or what == "total" else "-" for _, what in COLUMNS]
        print(
            f"{v:15s} "
            + " ".join(f"{c:>8s}" for c in cells)
            + f" {f'[{lo:.0f}-{hi:.0f}]':>12s} {med['switches'] / 1e6:7.1f} {med['qps']:6.0f}"
            + f" {med['hit%']:5.0f}"
        )
    sys.stdout.flush()


def _cell(figures: dict[str, float], what: str) -> str:
    first, *less = what.split("-")
    return f"{figures[first] - sum(figures[k] for k in less):.0f}"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
