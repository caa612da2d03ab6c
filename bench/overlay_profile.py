"""What the per-request event overlay costs: CPU us per call for 1, 5 and 20 events since the
snapshot, the request (small) path against the frame (batch) path, and the store read it needs.

    python bench/overlay_profile.py [--customers 2000] [--calls 400] [--events 1,5,20]

A generated bank (bench-sized catalog), its snapshot at the last event, and a SQLite event
store holding, for each measured customer, `k` events recorded since the snapshot (mostly
impressions, views and clicks, some purchases, applies and closes, as channels report them).
Each call does what `serving.suggest.customer_states` does for one customer: the snapshot
state, `store.for_customers`, then `apply_events`; the stages are timed separately with
time.process_time (CPU, steadier than wall time on a shared machine). "before" is the polars
path of each stage (the store's frame path, forced with SMALL_READ = 0, and the overlay's
frame path), "after" what a request now takes (both small paths).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# events as channels send them: impressions and clicks dominate
KINDS = ["impression"] * 6 + ["view"] * 4 + ["click"] * 3 + ["apply", "purchase", "close"]


def main() -> None:
    """Build the bank, the store and the states, then print the table."""
    from recsys.columns import Columns as C
    from recsys.data.generate import generate
    from recsys.engine.snapshot import Snapshot
    from recsys.settings import Settings
    from recsys.stores.sql_events import open_event_store

    args = _parse()
    weights = Settings(mlflow_tracking_uri=None).weights
    bank = generate(args.customers, seed=args.seed)
    snap = Snapshot.build(
        bank,
        weights=weights.as_dict(),
        half_life_days=weights.half_life_days,
        as_of=bank.events[C.timestamp].max(),
    )
    known = [str(c) for c in snap.customer_map.ids]
    print(
        f"bank: {len(known):,} customers, {len(snap.product_map)} products; "
        f"{args.calls} calls per row; weights {weights.as_dict()}, "
        f"half-life {weights.half_life_days} days"
    )
    print(
        "\nCPU us per call. before: the polars paths (store frame, overlay frames); "
        "after: the small paths\n"
        f"{'events':>6} {'state':>7} {'read before':>11} {'read after':>10} "
        f"{'overlay before':>14} {'overlay after':>13} {'total before':>12} {'total after':>11}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = open_event_store(f"sqlite:///{Path(tmp) / 'events.db'}")
        rng = random.Random(args.seed)
        customers = rng.sample(known, len(args.events) * args.pool)
        for i, k in enumerate(args.events):
            pool = customers[i * args.pool : (i + 1) * args.pool]
            _record(store, pool, k, snap, snap.as_of + timedelta(days=2), rng)
            calls = [rng.choice(pool) for _ in range(args.calls)]
            us = _measured(store, snap, weights, pool, calls, k)
            before = us["state"] + us["read before"] + us["overlay before"]
            after = us["state"] + us["read after"] + us["overlay after"]
            print(
                f"{k:>6} {us['state']:7.1f} {us['read before']:11.1f} {us['read after']:10.1f} "
                f"{us['overlay before']:14.1f} {us['overlay after']:13.1f} "
                f"{before:12.1f} {after:11.1f}"
            )
        store.close()


def _measured(
    store: Any, snap: Any, weights: Any, pool: list[str], calls: list[str], k: int
) -> dict[str, float]:
    """CPU us per call of each stage, for customers with `k` events each."""
    from recsys.columns import Columns as C
    from recsys.engine import overlay
    from recsys.engine.state import ProfileArrays, batch_state
    from recsys.stores import sql_events

    profiles = ProfileArrays.of(snap.customers)  # as Engine.state reads profiles
    states = {c: batch_state(snap, [c], profiles=profiles) for c in pool}
    frames = {c: store.for_customers([c], snap.as_of) for c in pool}
    if any(f.height != k for f in frames.values()):
        raise SystemExit(f"the store did not return {k} events per customer")
    if not all(overlay._small(states[c], frames[c]) for c in pool):
        raise SystemExit("the request path would not take the small overlay path")
    args = (
        snap.product_map,
        snap.products[C.repeatable].to_numpy(),
        weights.as_dict(),
        weights.half_life_days,
        snap.as_of + timedelta(days=2),
    )
    product_map, repeatable, weight_of, half_life, now = args
    us = {
        "state": _cpu(lambda c: batch_state(snap, [c], profiles=profiles), calls),
        "read after": _cpu(lambda c: store.for_customers([c], snap.as_of), calls),
        "overlay before": _cpu(lambda c: overlay._apply_frames(states[c], frames[c], *args), calls),
        "overlay after": _cpu(
            lambda c: overlay.apply_events(
                states[c],
                frames[c],
                product_map=product_map,
                repeatable=repeatable,
                weights=weight_of,
                half_life_days=half_life,
                as_of=now,
            ),
            calls,
        ),
    }
    small_read = sql_events.SMALL_READ
    sql_events.SMALL_READ = 0  # every read through the polars frame
    try:
        us["read before"] = _cpu(lambda c: store.for_customers([c], snap.as_of), calls)
    finally:
        sql_events.SMALL_READ = small_read
    return us


def _record(
    store: object, pool: list[str], k: int, snap: object, now: object, rng: random.Random
) -> None:
    """`k` events since the snapshot for each customer of `pool`."""
    from recsys.stores.base import StoredEvent

    products = [str(p) for p in snap.product_map.ids]
    span = (now - snap.as_of).total_seconds()
    events = [
        StoredEvent(
            c,
            rng.choice(products),
            rng.choice(KINDS),
            snap.as_of + timedelta(seconds=rng.uniform(1, span)),
            channel="mobile",
        )
        for c in pool
        for _ in range(k)
    ]
    for start in range(0, len(events), 500):
        store.append(events[start : start + 500])


def _cpu(fn: Callable[[str], object], calls: list[str]) -> float:
    """Mean CPU us per call, after a short warm-up."""
    for c in calls[:20]:
        fn(c)
    started = time.process_time()
    for c in calls:
        fn(c)
    return (time.process_time() - started) / len(calls) * 1e6


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--pool", type=int, default=100, help="customers per event count")
    parser.add_argument(
        "--events",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 5, 20],
        help="events per customer, comma-separated",
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
