"""bench/serve.py --compare-tree PATH: this tree's server beside another checkout's, one run.

Both trees serve the one registered bench model from `recsys serve` processes of their own
code; each server has a fresh RECSYS_HOME (its serving cache) and a fresh empty event store.
The empty grpc.aio server (bench/serve_empty.py --aio) runs beside them for scale. See
bench/serve.py's docstring for what is measured and the targets.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from serve_load import Result, Target, fixed_rate
from serve_model import BENCH_HOME, BenchModel
from serve_runs import Run, level_line, one_level
from serve_servers import ROOT, Server, empty_serve, imported_from, recsys_serve
from tables import print_checks, print_table, say

MIN_PEAK_VS_OLD = 0.95
EMPTY = "empty grpc.aio"
NO_CACHE = "(a')"
STATES = BENCH_HOME / "compare"


@dataclass(frozen=True)
class Tree:
    """A checkout whose `recsys serve` is measured: 'new' (this one) or 'old' (PATH)."""

    label: str
    root: Path

    def served(self, cached: bool) -> str:
        """The name of its (a) or (a') server in the tables."""
        return f"{'(a)' if cached else NO_CACHE} {self.label}"


def compare_trees(
    args: argparse.Namespace, model: BenchModel, old_root: Path, payloads: tuple, logs: Path
) -> None:
    """Closed-loop peaks of both trees' (a) and (a'), then p99 at fixed shares of old (a')."""
    new, old = Tree("new", ROOT), Tree("old", _checkout(old_root))
    levels = [int(c) for c in args.concurrency.split(",")]
    shares = [float(x) for x in args.rates.split(",")]
    with ExitStack() as stack:
        _say_load("before")
        servers = _start(stack, args, model, (new, old), logs)
        runs = _closed_loops(args, servers, payloads, levels)
        base = runs[old.served(False)].peak
        p99 = _fixed_rates(args, servers, payloads, [s * base for s in shares])
        _say_load("after")
    _report_peaks(args, runs)
    _report_rates(shares, base, p99)


def _say_load(when: str) -> None:
    """The machine's load average: same-code ratios far from 1.0 on a busy machine are noise."""
    one, five, _ = os.getloadavg()
    say(f"load average {when}: {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs")


def _checkout(root: Path) -> Path:
    """PATH, resolved, once it looks like a checkout of this project."""
    root = root.resolve()
    missing = [p for p in ("recsys", "recsys_cli", "serving") if not (root / p).is_dir()]
    if missing:
        raise SystemExit(f"--compare-tree {root}: not a checkout of this project "
                         f"(no {', '.join(missing)} folder)")
    return root


def _start(
    stack: ExitStack, args: argparse.Namespace, model: BenchModel, trees: tuple[Tree, ...],
    logs: Path,
) -> dict[str, Server]:
    """Both trees' (a) and (a'), then the empty server; each tree's code and commit shown."""
    servers: dict[str, Server] = {}
    for tree in trees:
        where = imported_from(tree.root, model.env())
        say(f"{tree.label}: {tree.root} at {_commit(tree.root)}; imports "
            + ", ".join(f"{name} from {path}" for name, path in where.items()))
        for cached in (True, False):
            name = tree.served(cached)
            env = _fresh_state(model, name, cached)
            slug = f"recsys-{tree.label}-{'cached' if cached else 'nocache'}"
            servers[name] = stack.enter_context(
                recsys_serve(env, args.workers, logs, tree=tree.root, name=slug)
            )
    servers[EMPTY] = stack.enter_context(empty_serve(model.env(), args.workers, logs, use_aio=True))
    for name, server in servers.items():
        say(f"{name}: ready in {server.ready_s:.1f} s")
    return servers


def _fresh_state(model: BenchModel, name: str, cached: bool) -> dict[str, str]:
    """The model's environment with a home and an event store of this server's own, empty."""
    folder = STATES / name.replace("(", "").replace(")", "").replace("'", "1").replace(" ", "-")
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "home").mkdir(parents=True)
    env = {**model.env(), "RECSYS_HOME": str(folder / "home"),
           "RECSYS_DATABASE_URL": f"sqlite:///{(folder / 'events.db').resolve()}"}
    return env if cached else {**env, "RECSYS_ANSWER_CACHE_SIZE": "0"}


def _commit(root: Path) -> str:
    """The checkout's short commit, '+ changes' when tracked files differ from it."""
    def git(*argv: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *argv], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "(not a git checkout)"
    return commit + (" + changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def _order(names: list[str], round_no: int) -> list[str]:
    """Odd rounds swap new and old, so neither tree always runs first."""
    if round_no % 2 == 0:
        return names
    swap = {"new": "old", "old": "new"}
    return [" ".join(swap.get(word, word) for word in name.split(" ")) for name in names]


def _closed_loops(
    args: argparse.Namespace, servers: dict[str, Server], payloads: tuple, levels: list[int]
) -> dict[str, Run]:
    """Each level on every server back to back, --rounds times, the trees' order alternating."""
    names = ["(a) new", "(a) old", "(a') new", "(a') old", EMPTY]
    runs = {name: Run(name) for name in names}
    for c in levels:
        for round_no in range(args.rounds):
            for name in _order(names, round_no):
                r, cpu_ms = one_level(args, servers[name], payloads, c)
                runs[name].add(c, r, cpu_ms)
                say(level_line(name, c, r, cpu_ms))
    return runs


def _fixed_rates(
    args: argparse.Namespace, servers: dict[str, Server], payloads: tuple, rates: list[float]
) -> dict[float, dict[str, list[Result]]]:
    """Each rate on new (a'), old (a') and the empty server, --rate-rounds times each."""
    names = ["(a') new", "(a') old", EMPTY]
    out: dict[float, dict[str, list[Result]]] = {}
    for rate in rates:
        out[rate] = {name: [] for name in names}
        for round_no in range(args.rate_rounds):
            for name in _order(names, round_no):
                target = Target("grpc", servers[name].address, payloads)
                r = fixed_rate(target, rate, args.half_seconds, args.warmup, args.clients)
                out[rate][name].append(r)
                say(f"  {name:20s} {rate:7.0f}/s asked {r.qps:7.0f} answered  p50 "
                    f"{r.percentile(50):7.2f} ms  p99 {r.percentile(99):7.2f} ms"
                    f"  errors {r.errors}")
    return out


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


def _report_peaks(args: argparse.Namespace, runs: dict[str, Run]) -> None:
    rows = [
        [run.name, c, f"{r.qps:.0f}", " / ".join(f"{q:.0f}" for q in run.qps_by_round[c]),
         f"{r.percentile(50):.2f}", f"{r.percentile(99):.2f}", f"{run.cpu_ms[c]:.2f}", r.errors]
        for run in runs.values()
        for c, r in run.results.items()
    ]
    print_table(f"closed loop, {args.workers} server processes, {args.clients} client processes,"
                f" best of {args.rounds} rounds",
                ["server", "conc", "qps", "qps by round", "p50 ms", "p99 ms", "CPU ms/call",
                 "errors"], rows)
    empty = runs[EMPTY]
    checks = []
    for kind in ("(a)", "(a')"):
        new, old = runs[f"{kind} new"], runs[f"{kind} old"]
        paired = [n / o for n, o in zip(new.round_peaks(), old.round_peaks(), strict=True)]
        checks += [
            (f"peak {kind} new {new.peak:.0f} / old {old.peak:.0f}, best of rounds, "
             f">= {MIN_PEAK_VS_OLD}", new.peak / old.peak, MIN_PEAK_VS_OLD, "x", True),
            (f"peak {kind} new / old paired by round, median {_spread(paired)} "
             f">= {MIN_PEAK_VS_OLD}", statistics.median(paired), MIN_PEAK_VS_OLD, "x", True),
            (f"(info) peak {kind} new / {EMPTY} {empty.peak:.0f}", new.peak / empty.peak,
             None, "x", True),
            (f"(info) peak {kind} old / {EMPTY}", old.peak / empty.peak, None, "x", True),
        ]
    print_checks("peaks, this tree (new) against PATH (old)", checks)


def _report_rates(
    shares: list[float], base: float, p99: dict[float, dict[str, list[Result]]]
) -> None:
    rows, checks = [], []
    for share, (rate, by_name) in zip(shares, p99.items(), strict=True):
        ms = {name: [r.percentile(99) for r in results] for name, results in by_name.items()}
        for name, results in by_name.items():
            vs_old = [a / b for a, b in zip(ms[name], ms["(a') old"], strict=True)]
            vs_empty = [a / b for a, b in zip(ms[name], ms[EMPTY], strict=True)]
            rows.append([f"{share:.0%} ({rate:.0f}/s)", name,
                         " / ".join(f"{x:.2f}" for x in ms[name]),
                         " / ".join(f"{r.qps:.0f}" for r in results),
                         sum(r.errors for r in results), _spread(vs_old), _spread(vs_empty)])
        new, old = statistics.median(ms["(a') new"]), statistics.median(ms["(a') old"])
        checks.append((f"p99 at {share:.0%} of old (a') peak: new (a') {new:.2f} ms "
                       f"<= old (a') {old:.2f} ms (medians of rounds)", new, old, " ms", False))
    print_table(f"fixed rates, shares of old (a') peak {base:.0f}/s; ratios by round, "
                "median [min-max]",
                ["rate", "server", "p99 ms by round", "answered/s", "errors", "p99 / old (a')",
                 "p99 / empty"], rows)
    print_checks("tail, this tree (new) against PATH (old), same fixed rates", checks)
