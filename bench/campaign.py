"""Benchmark: an outbound campaign over N customers (default 1M), side by side.

    python bench/campaign.py [--customers N] [--seed S] [--cache DIR] [--skip-spark]

The generated bank is cached in --cache (default var/bench/gen-<N>-s<S>); the engine (item-kNN
with segment popularity as fallback, fitted on every event) in <cache>/engine. Each phase runs
in a child process, so its peak resident memory (ru_maxrss) is its own:

- bare: the anchor, a bare numpy masked top-5 of the same model's scores (not held), in chunks;
- pipeline: batch.scoring.score_chunk over every customer in the campaign's chunks: state,
  every hard rule, consent, the contact policy (an empty history), top-k; without reasons,
  and with the one reason a contact carries;
- end to end: `run_campaign` on a fresh SQLite store: history reads, scoring, reservations,
  the Parquet file and the decision log;
- spark: `run_campaign_spark` on local[2], the same campaign on a fresh store.

Goals (issue 19): pipeline >= 0.5x the bare top-k's speed; end to end <= 10x its time; peak
RSS < 4 GB; Spark's ratio to the single-machine path. Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
GB = 1024**3
K = 5


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _prepare(args: argparse.Namespace) -> dict:
    """Generate the bank and fit the engine once (cached)."""
    from recsys.columns import Columns as C
    from recsys.data.generate import generate
    from recsys.data.write import write_dataset
    from recsys.settings import Settings
    from tests.engine.conftest import build_engine, build_snapshot

    out: dict = {}
    started = time.perf_counter()
    data = generate(args.customers, args.seed)
    write_dataset(data, args.cache, fmt="parquet")
    out["generate_s"] = time.perf_counter() - started
    settings = Settings(mlflow_tracking_uri=None)
    started = time.perf_counter()
    engine = build_engine(build_snapshot(data, data.events[C.timestamp].max(), settings), settings)
    engine.save(args.cache / "engine")
    out["fit_s"] = time.perf_counter() - started
    return out


def _engine(args: argparse.Namespace):  # noqa: ANN202
    from recsys.engine.engine import Engine

    return Engine.load(args.cache / "engine")


def _campaign(engine, name: str):  # noqa: ANN001, ANN202
    from batch.scoring import Campaign

    return Campaign(name, name, "email", K, engine.snapshot.as_of + timedelta(hours=1))


def _phase_bare(args: argparse.Namespace) -> dict:
    import numpy as np

    from recsys.engine.state import dense_rows
    from recsys.rules import masked_topk

    engine = _engine(args)
    snap, model = engine.snapshot, engine.model
    n, chunk = len(snap.customer_map), 50_000
    codes = model.encode_features(engine.profiles.frame)
    started = time.perf_counter()
    for lo in range(0, n, chunk):
        rows = np.arange(lo, min(lo + chunk, n))
        history = dense_rows(snap.history, rows, np.float32)
        features = codes[rows] if codes is not None else engine.profiles.frame[rows]
        scores = model.score(history, rows, features)
        allowed = dense_rows(snap.held, rows, np.int64) == 0
        masked_topk(scores, allowed, K)
    return {"s": time.perf_counter() - started, "customers": n, "peak": _peak()}


def _phase_pipeline(args: argparse.Namespace) -> dict:
    from batch.scoring import ScoringRules, score_chunk, targets
    from recsys.campaigns.policy import Contacts, Touches
    from recsys.settings import Settings

    engine = _engine(args)
    settings = Settings(mlflow_tracking_uri=None)
    rules = ScoringRules.of(settings, "email")
    campaign = _campaign(engine, "bench")
    ids = targets(engine, ())
    out = {"customers": len(ids)}
    for reasons in args.reasons:
        started = time.perf_counter()
        for lo in range(0, len(ids), settings.campaign_chunk_size):
            chunk = ids[lo : lo + settings.campaign_chunk_size]
            score_chunk(
                engine,
                campaign,
                rules,
                chunk,
                events=None,
                contacts=Contacts.none(),
                touches=Touches.none(),
                reasons=reasons,
            )
        out[f"reasons{reasons}_s"] = time.perf_counter() - started
    out["peak"] = _peak()
    return out


def _stores(url: str):  # noqa: ANN202
    from batch.campaign import Stores
    from recsys.stores.sql_contacts import open_contact_store
    from recsys.stores.sql_decisions import open_decision_store
    from recsys.stores.sql_events import open_event_store

    return Stores(open_contact_store(url), open_event_store(url), None, open_decision_store(url))


def _phase_end_to_end(args: argparse.Namespace) -> dict:
    from batch.campaign import run_campaign
    from recsys.settings import Settings

    engine = _engine(args)
    settings = Settings(mlflow_tracking_uri=None)
    with tempfile.TemporaryDirectory(prefix="campaign-bench-") as work:
        stores = _stores(f"sqlite:///{work}/recsys.db")
        started = time.perf_counter()
        result = run_campaign(
            engine,
            _campaign(engine, "local"),
            settings,
            stores,
            Path(work) / "out.parquet",
            model_version="1",
        )
        took = time.perf_counter() - started
    return {"s": took, "rows": result.rows, "reached": result.tally.reached, "peak": _peak()}


def _phase_spark(args: argparse.Namespace) -> dict:
    from batch.spark_campaign import run_campaign_spark
    from batch.spark_session import spark_session
    from recsys.settings import Settings

    engine = _engine(args)
    settings = Settings(mlflow_tracking_uri=None)
    started = time.perf_counter()
    spark = spark_session("local[2]", "campaign-bench")
    session_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="campaign-bench-") as work:
        stores = _stores(f"sqlite:///{work}/recsys.db")
        started = time.perf_counter()
        result = run_campaign_spark(
            spark,
            engine,
            _campaign(engine, "spark"),
            settings,
            stores,
            Path(work) / "out.parquet",
            model_version="1",
        )
        took = time.perf_counter() - started
    spark.stop()
    # the driver's own peak; the JVM and the Python workers are other processes
    return {
        "s": took,
        "session_s": session_s,
        "rows": result.rows,
        "peak": _peak(),
    }


PHASES = {
    "bare": _phase_bare,
    "pipeline": _phase_pipeline,
    "end_to_end": _phase_end_to_end,
    "spark": _phase_spark,
    "prepare": _prepare,
}


def _child(phase: str, args: argparse.Namespace) -> dict:
    command = [
        sys.executable,
        __file__,
        "--phase",
        phase,
        "--customers",
        str(args.customers),
        "--seed",
        str(args.seed),
        "--cache",
        str(args.cache),
    ]
    root = Path(__file__).resolve().parent.parent
    env = os.environ | {"PYTHONPATH": str(root)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=root, check=False)
    if done.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run every phase in its own process and print the figures side by side."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--customers", type=int, default=int(os.environ.get("BENCH_CUSTOMERS", 1_000_000))
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument(
        "--phases",
        default="bare,pipeline,end_to_end",
        help="comma-separated: bare, pipeline, end_to_end",
    )
    parser.add_argument(
        "--reasons", default="0,1", help="pipeline runs: 0 (no reasons) and/or 1 (one reason)"
    )
    parser.add_argument("--phase", choices=list(PHASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.reasons = [int(r) for r in str(args.reasons).split(",")]
    args.cache = args.cache or Path("var/bench") / f"campaign-{args.customers}-s{args.seed}"
    if args.phase:
        print(json.dumps(PHASES[args.phase](args)))
        return
    if not (args.cache / "engine").exists():
        print("prepare:", _child("prepare", args))
    phases = [p for p in args.phases.split(",") if p and p != "spark"]
    figures = {}
    for phase in dict.fromkeys(["bare", *phases, *([] if args.skip_spark else ["spark"])]):
        figures[phase] = _child(phase, args)
        print(phase, json.dumps(figures[phase]), flush=True)  # a long run keeps what it measured
    bare = figures["bare"]["s"]
    print(f"{args.customers:,} customers, top-{K} email campaign (item-kNN), one process each:")
    rows = [("bare numpy masked top-k", bare, figures["bare"]["peak"])]
    pipeline = figures.get("pipeline", {})
    for r in args.reasons:
        if f"reasons{r}_s" in pipeline:
            label = "pipeline, no reasons" if r == 0 else "pipeline, one reason an item"
            rows.append((label, pipeline[f"reasons{r}_s"], pipeline["peak"]))
    for name, label in (
        ("end_to_end", "end to end (file, store, log)"),
        ("spark", "Spark local[2], end to end"),
    ):
        if name in figures:
            rows.append((label, figures[name]["s"], figures[name]["peak"]))
    for label, s, peak in rows:
        print(
            f"  {label:32s} {s:8.1f} s   speed {bare / s:5.2f}x bare   peak RSS {peak / GB:5.2f} GB"
        )
    if "spark" in figures and "end_to_end" in figures:
        sp = figures["spark"]
        print(
            f"  Spark session start {sp['session_s']:.1f} s (not in its figure); "
            f"Spark / local end to end = {sp['s'] / figures['end_to_end']['s']:.2f}"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
