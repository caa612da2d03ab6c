"""What the per-request event overlay costs: CPU us per call for 1, 5 and 20 events since the
snapshot, the request (small) path against the frame (batch) path, and the store read it needs.

    python bench/overlay_profile.py [--customers 2000] [--calls 400] [--events 1,5,20]

A generated bank (bench-sized catalog), its snapshot at the last event, and a SQLite event
store holding, for each measured customer, `k` events recorded since the snapshot (mostly
impressions, views and clicks, some purchases, applies and closes, as channels report them).
Each call does what `serving.suggest.customer_states` does for one customer: the snapshot
state, `store.for_customers`, then `apply_events`; the stages are timed separately with
time.process_time (CPU, steadier than wall time on a shared machine). "(frame)" is the part
of the store read spent after the SQL fetch: building the polars frame from the rows.
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

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# events as channels send them: impressions and clicks dominate
KINDS = ["impression"] * 6 + ["view"] * 4 + ["click"] * 3 + ["apply", "purchase", "close"]


def main() -> None:
    """Build the bank, the store and the states, then print the table."""
    from recsys.columns import Columns as C
    from recsys.data.generate import generate
    from recsys.engine import overlay
    from recsys.engine.snapshot import Snapshot
    from recsys.engine.state import ProfileArrays, batch_state
    from recsys.settings import Settings
    from recsys.stores.sql_events import open_event_store

    args = _parse()
    weights = Settings(mlflow_tracking_uri=None).weights
    bank = generate(args.customers, seed=args.seed)
    snap = Snapshot.build(bank, weights=weights.as_dict(), half_life_days=weights.half_life_days,
                          as_of=bank.events[C.timestamp].max())
    repeatable = snap.products[C.repeatable].to_numpy()
    profiles = ProfileArrays.of(snap.customers)  # as Engine.state reads profiles
    now = snap.as_of + timedelta(days=2)
    known = [str(c) for c in snap.customer_map.ids]
    print(f"bank: {len(known):,} customers, {len(snap.product_map)} products; "
          f"{args.calls} calls per row; weights {weights.as_dict()}, "
          f"half-life {weights.half_life_days} days")
    header = (f"{'events':>6} {'state':>7} {'store read':>10} {'(frame)':>8} "
              f"{'overlay batch':>14} {'overlay small':>14} {'speed-up':>9}")
    print(f"\nCPU us per call; (frame): the store read less its SQL fetch\n{header}")
    with tempfile.TemporaryDirectory() as tmp:
        store = open_event_store(f"sqlite:///{Path(tmp) / 'events.db'}")
        rng = random.Random(args.seed)
        customers = rng.sample(known, len(args.events) * args.pool)
        for i, k in enumerate(args.events):
            pool = customers[i * args.pool : (i + 1) * args.pool]
            _record(store, pool, k, snap, now, rng)
            calls = [rng.choice(pool) for _ in range(args.calls)]
            states = {c: batch_state(snap, [c]) for c in pool}
            frames = {c: store.for_customers([c], snap.as_of) for c in pool}
            assert all(f.height == k for f in frames.values()), "store rows != events recorded"
            kw = dict(product_map=snap.product_map, repeatable=repeatable,
                      weights=weights.as_dict(), half_life_days=weights.half_life_days,
                      as_of=now)

            def batch(c: str, kw: dict = kw) -> object:
                return overlay._apply_frames(states[c], frames[c], kw["product_map"],
                                             kw["repeatable"], kw["weights"],
                                             kw["half_life_days"], kw["as_of"])

            def small(c: str, kw: dict = kw) -> object:
                return overlay.apply_events(states[c], frames[c], **kw)

            assert all(overlay._small(states[c], frames[c]) for c in pool)
            state_us = _cpu(lambda c: batch_state(snap, [c], profiles=profiles), calls)
            read_us = _cpu(lambda c: store.for_customers([c], snap.as_of), calls)
            fetch_us = _cpu(lambda c: _fetched(store, c, snap.as_of), calls)
            batch_us = _cpu(batch, calls)
            small_us = _cpu(small, calls)
            print(f"{k:>6} {state_us:7.1f} {read_us:10.1f} {read_us - fetch_us:8.1f} "
                  f"{batch_us:14.1f} {small_us:14.1f} {batch_us / small_us:8.0f}x")
        store.close()


def _record(store: object, pool: list[str], k: int, snap: object, now: object,
            rng: random.Random) -> None:
    """`k` events since the snapshot for each customer of `pool`."""
    from recsys.stores.base import StoredEvent

    products = [str(p) for p in snap.product_map.ids]
    span = (now - snap.as_of).total_seconds()
    events = [
        StoredEvent(c, rng.choice(products), rng.choice(KINDS),
                    snap.as_of + timedelta(seconds=rng.uniform(1, span)), channel="mobile")
        for c in pool
        for _ in range(k)
    ]
    for start in range(0, len(events), 500):
        store.append(events[start : start + 500])


def _fetched(store: object, customer: str, since: object) -> list[tuple]:
    """The SQL part of for_customers: the rows, no frame."""
    return store._fetch([(store._read_statement(1), [customer])], since)


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
    parser.add_argument("--events", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 5, 20], help="events per customer, comma-separated")
    return parser.parse_args()


if __name__ == "__main__":
    main()
