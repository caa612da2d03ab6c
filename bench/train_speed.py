"""Benchmark: `recsys train --model als --register` against the bare implicit ALS fit.

    python bench/train_speed.py [--customers N] [--seed S] [--cache DIR] [--sample M]
                                [--skip-cli] [--skip-breakdown]

N defaults to $BENCH_CUSTOMERS or 1,000,000. The generated bank is cached in --cache
(default var/bench/gen-<N>-s<S>) and reused when present. Each phase runs in its own child
process, so every peak resident memory (getrusage ru_maxrss) is that phase's own:

- bare: the interaction matrix the registered model is fitted on (all events, configured
  weights), then `implicit.cpu.als.AlternatingLeastSquares(<our ALS config>).fit(matrix)`
  timed alone; then batch scoring on that fit: implicit's filtered recommend() one customer
  at a time on a sample (extrapolated) vs a numpy masked top-k over every customer.
- cli: the whole `recsys train --model als --register` as a subprocess, with a fresh SQLite
  MLflow store; wall time, CPU time and peak memory of the child.
- breakdown: run_training in-process with a timing `step` (steps may overlap: the refit on
  all data runs beside the evaluation), then the registered engine scores every customer.

Targets: train <= 2x the bare fit; our batch scoring well ahead of the recommend() loop
(the issue measured ~13x). Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

TARGET_RATIO = 2.0
GB = 1024**3
TABLES = ("customers.parquet", "products.parquet", "events.parquet")
BATCH = 50_000


def _peak_bytes(who: int = resource.RUSAGE_SELF) -> int:
    scale = 1 if sys.platform == "darwin" else 1024  # Linux reports KiB
    return resource.getrusage(who).ru_maxrss * scale


def _phase_generate(args: argparse.Namespace) -> dict:
    from recsys.data.generate import generate
    from recsys.data.write import write_dataset

    started = time.perf_counter()
    data = generate(args.customers, args.seed)
    write_dataset(data, args.cache, fmt="parquet")
    return {"generate_s": time.perf_counter() - started, "rows": data.summary()}


def _full_matrix(cache: Path):  # noqa: ANN202 - (Snapshot, BankData)
    """The snapshot the registered model is fitted on: every event, configured weights."""
    from recsys.columns import Columns as C
    from recsys.data.load import load_dataset
    from recsys.engine.snapshot import Snapshot
    from recsys.settings import Settings

    s = Settings()
    data = load_dataset(cache, event_types=s.event_types, channels=list(s.channels))
    w = s.weights
    as_of = data.events[C.timestamp].max()
    return Snapshot.build(data, weights=w.as_dict(), half_life_days=w.half_life_days, as_of=as_of)


def _phase_bare(args: argparse.Namespace) -> dict:
    from implicit.cpu.als import AlternatingLeastSquares

    from recsys.models.als import ALSConfig
    from training.config import TrainConfig

    started = time.perf_counter()
    matrix = _full_matrix(args.cache).history
    prepared = time.perf_counter() - started
    c = ALSConfig.model_validate(TrainConfig().model.params)
    model = AlternatingLeastSquares(
        factors=c.factors, regularization=c.regularization, alpha=c.alpha,
        iterations=c.iterations, use_cg=False,  # as recsys.models.als fits it
        num_threads=c.num_threads, random_state=c.seed,
    )
    started, cpu = time.perf_counter(), time.process_time()
    model.fit(matrix, show_progress=False)
    fit_s, fit_cpu = time.perf_counter() - started, time.process_time() - cpu
    out = {"prepare_s": prepared, "fit_s": fit_s, "fit_cpu_s": fit_cpu, "nnz": matrix.nnz,
           "shape": list(matrix.shape), "params": c.model_dump(), "peak_bytes": _peak_bytes()}
    return out | _scoring(model, matrix, args.sample, k=5)


def _scoring(model, matrix, sample: int, k: int) -> dict:  # noqa: ANN001
    """implicit's filtered recommend() loop on a sample vs our masked top-k on everyone."""
    import numpy as np

    from recsys.rules import masked_topk

    users, items = np.asarray(model.user_factors), np.asarray(model.item_factors)
    n = matrix.shape[0]
    picked = np.random.default_rng(0).choice(n, size=min(sample, n), replace=False)
    started = time.perf_counter()
    loop = [model.recommend(int(u), matrix[int(u)], N=k, filter_already_liked_items=True)[0]
            for u in picked]
    loop_s = (time.perf_counter() - started) * n / len(picked)
    ours, started = [], time.perf_counter()
    for lo in range(0, n, BATCH):
        scores = users[lo : lo + BATCH] @ items.T
        allowed = matrix[lo : lo + BATCH].toarray() == 0  # never suggest what they already have
        ours.append(masked_topk(scores, allowed, k)[0])
    numpy_s = time.perf_counter() - started
    top = np.vstack(ours)[picked]
    pairs = zip(loop, top, strict=True)
    same = np.mean([set(a.tolist()) == set(b[b >= 0].tolist()) for a, b in pairs])
    started = time.perf_counter()
    model.recommend(np.arange(n), matrix, N=k, filter_already_liked_items=True)
    batch_s = time.perf_counter() - started
    return {"loop_s": loop_s, "loop_sample": len(picked), "numpy_s": numpy_s,
            "implicit_batch_s": batch_s, "same_top": float(same)}


def _phase_cli(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="train-bench-") as home:
        env = os.environ | {"OPENBLAS_NUM_THREADS": "1", "RECSYS_HOME": home,
                            "MLFLOW_TRACKING_URI": f"sqlite:///{home}/mlflow.db"}
        recsys = Path(sys.executable).with_name("recsys")
        command = [str(recsys), "train", "--data", str(args.cache), "--model", "als", "--register"]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "exit": done.returncode,
            "peak_bytes": _peak_bytes(resource.RUSAGE_CHILDREN),
            "tail": (done.stdout + done.stderr)[-2500:]}


class _Steps:
    """A `step` for run_training that records when each step ran (from any thread)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.rows: list[tuple[str, float, float, str]] = []
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self, name: str):  # noqa: ANN204
        start = time.perf_counter() - self.t0
        yield
        end = time.perf_counter() - self.t0
        with self._lock:
            self.rows.append((name, start, end, threading.current_thread().name))


def _phase_breakdown(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="train-bench-") as home:
        os.environ |= {"RECSYS_HOME": home, "MLFLOW_TRACKING_URI": f"sqlite:///{home}/mlflow.db"}
        from recsys.settings import Settings
        from training.config import TrainConfig
        from training.pipeline import run_training

        steps = _Steps()
        outcome = run_training(args.cache, TrainConfig(), Settings(), register=True, step=steps)
        total, cpu = time.perf_counter() - steps.t0, time.process_time()
        peak = _peak_bytes()
        scored = _engine_scoring(outcome.version)
    return {"total_s": total, "cpu_s": cpu, "steps": sorted(steps.rows, key=lambda r: r[1]),
            "peak_bytes": peak, "version": outcome.version, **scored}


def _engine_scoring(version: int | None) -> dict:
    """The registered engine: state + fold-in + every rule + masked top-k, all customers."""
    import mlflow

    from recsys.engine.engine import Engine
    from training.pyfunc_model import BUNDLE_ARTIFACT

    local = Path(mlflow.artifacts.download_artifacts(f"models:/bank-recsys/{version}"))
    engine = Engine.load(local / "artifacts" / BUNDLE_ARTIFACT)
    ids = engine.snapshot.customer_map.ids.tolist()
    at = engine.snapshot.as_of.date()
    started = time.perf_counter()
    for lo in range(0, len(ids), BATCH):
        engine.recommend(engine.state(ids[lo : lo + BATCH]), 5, at=at)
    return {"engine_s": time.perf_counter() - started, "engine_customers": len(ids)}


def _child(phase: str, args: argparse.Namespace) -> dict:
    """Run one phase in a fresh interpreter; its JSON result is the last line of stdout."""
    command = [sys.executable, __file__, "--phase", phase, "--customers", str(args.customers),
               "--seed", str(args.seed), "--cache", str(args.cache), "--sample", str(args.sample)]
    env = os.environ | {"OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        print(f"{phase} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
        return {"failed": True}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ratio(value: float, base: float, target: float) -> str:
    verdict = "within target" if value / base <= target else "OVER target"
    return f"{value / base:5.2f}x of the bare fit (target <= {target:g}x: {verdict})"


def _report_bare(bare: dict) -> None:
    rows, cols = bare["shape"]
    print(f"matrix: {rows:,} customers x {cols} products, {bare['nnz']:,} cells "
          f"(load + snapshot {bare['prepare_s']:.1f} s)")
    p = bare["params"]
    print(f"ALS: factors {p['factors']}, reg {p['regularization']}, alpha {p['alpha']}, "
          f"{p['iterations']} iterations, {p['num_threads']} thread(s), Cholesky")
    print(f"bare implicit fit      {bare['fit_s']:8.1f} s   peak {bare['peak_bytes'] / GB:.2f} GB"
          f"   cpu {bare['fit_cpu_s']:.1f} s")


def _report_train(bare: dict, cli: dict, steps: dict) -> None:
    if not cli.get("failed"):
        state = "ok" if cli["exit"] == 0 else f"EXIT {cli['exit']}:\n{cli['tail']}"
        peak = cli["peak_bytes"] / GB
        print(f"recsys train (CLI)     {cli['wall_s']:8.1f} s   peak {peak:.2f} GB"
              f"   cpu {cli['cpu_s']:.1f} s   {state}")
        if "fit_s" in bare:
            print(f"  wall: {_ratio(cli['wall_s'], bare['fit_s'], TARGET_RATIO)}")
            print(f"  cpu:  {cli['cpu_s'] / bare['fit_cpu_s']:5.2f}x the bare fit's cpu time "
                  "(work done, whatever the cores and the load)")
    if steps and not steps.get("failed"):
        print(f"run_training in-process {steps['total_s']:7.1f} s   "
              f"peak {steps['peak_bytes'] / GB:.2f} GB   cpu {steps['cpu_s']:.1f} s (process, "
              "with imports); steps (start -> end, thread):")
        for name, start, end, thread in steps["steps"]:
            print(f"  {name:<40}{end - start:7.1f} s  ({start:6.1f} -> {end:6.1f}, {thread})")
        if "fit_s" in bare:
            print(f"  wall: {_ratio(steps['total_s'], bare['fit_s'], TARGET_RATIO)}")


def _report_scoring(bare: dict, steps: dict) -> None:
    if "loop_s" not in bare:
        return
    rows = bare["shape"][0]
    print(f"batch scoring, top-5 of {rows:,} customers (already-held items filtered):")
    print(f"  implicit recommend() loop {bare['loop_s']:8.1f} s  (extrapolated from "
          f"{bare['loop_sample']:,} customers)")
    print(f"  implicit batch recommend  {bare['implicit_batch_s']:8.1f} s")
    print(f"  numpy masked top-k        {bare['numpy_s']:8.1f} s  -> loop / ours = "
          f"{bare['loop_s'] / bare['numpy_s']:.1f}x; same top-5 sets on "
          f"{bare['same_top']:.1%} of the sample")
    if steps and "engine_s" in steps:
        print(f"  registered Engine         {steps['engine_s']:8.1f} s  (state + fold-in + all "
              f"rules + masked top-k, {steps['engine_customers']:,} customers) -> loop / engine"
              f" = {bare['loop_s'] / steps['engine_s']:.1f}x")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int,
                        default=int(os.environ.get("BENCH_CUSTOMERS", "1000000")))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--sample", type=int, default=2000, help="customers for the loop")
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-breakdown", action="store_true")
    parser.add_argument("--phase", choices=tuple(PHASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.cache = args.cache or Path(f"var/bench/gen-{args.customers}-s{args.seed}")
    return args


PHASES = {"generate": _phase_generate, "bare": _phase_bare, "cli": _phase_cli,
          "breakdown": _phase_breakdown}


def main() -> None:
    """Generate (once), then run each phase in a child process and print the figures."""
    args = _arguments()
    if args.phase:
        print(json.dumps(PHASES[args.phase](args)))
        return
    if not all((args.cache / t).exists() for t in TABLES):
        print(f"generating {args.customers:,} customers into {args.cache} ...", flush=True)
        gen = _child("generate", args)
        if gen.get("failed"):
            return
        print(f"  {gen['generate_s']:.1f} s: {gen['rows']}")
    print(f"bank: {args.customers:,} customers, seed {args.seed}, cached in {args.cache}")
    print("bare fit ...", flush=True)
    bare = _child("bare", args)
    print("recsys train (CLI) ...", flush=True)
    cli = {"failed": True} if args.skip_cli else _child("cli", args)
    print("run_training with a timing step ...", flush=True)
    steps = {} if args.skip_breakdown else _child("breakdown", args)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    if not bare.get("failed"):
        _report_bare(bare)
    _report_train(bare, cli, steps)
    _report_scoring(bare, steps)


if __name__ == "__main__":
    main()
