"""Where one Recommend's CPU goes: the service called in-process, per stage, in us per call.

    python bench/serve_profile.py [--family sequence] [--customers 20000] [--calls 5000]
                                  [--with-events 0.2] [--profile 25]

The model is bench/serve_model.py's (the real pipeline's registered champion, cached under
var/bench), loaded as the server loads it and wired by `serving.transport.server.build` (offers, the
decision log as RECSYS_DECISION_LOG says), with its own SQLite store. `--with-events`
records a purchase and a view since the snapshot for that share of the customers, so the
store read finds rows and the overlay runs for them (the serve benchmark records none).

CPU time (time.process_time) is what is measured: it does not move with other load on a
shared machine the way wall-clock QPS does. First a plain run gives the total per call
(service.recommend + building the protobuf response, as the servicer does), and one through
the servicer's Recommend coroutine, whose CPU includes the decision log's writer thread; then
a run with each stage's function wrapped by a CPU timer gives the breakdown (the wrappers add
~1 us a stage); `--profile N` prints cProfile's N most expensive functions of another run.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import pstats
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from serve_model import BenchModel, ensure_model  # noqa: E402

CHANNEL = "mobile"
K = 5
# (stage label, module, attribute): the functions timed, in the order a request runs them
STAGES = (
    ("offers (live offers)", "serving.offers.placer", "OfferPlacer.run"),
    ("store read", "serving.recommend.suggest", "store.recent"),
    ("state (snapshot rows)", "recsys.engine.engine", "Engine.state"),
    ("overlay (events)", "recsys.engine.request", "apply_events"),
    ("masks (rules)", "recsys.engine.request", "rule_masks"),
    ("combine masks", "recsys.engine.request", "combine"),
    ("scores (model)", "recsys.engine.engine", "Engine.scores"),
    ("topk", "recsys.engine.request", "masked_topk"),
    ("offer placement", "recsys.engine.request", "place"),
    ("reasons", "recsys.engine.request", "_reasons"),
    ("row_items", "serving.recommend.service", "row_items"),
    ("removed (rule report)", "serving.recommend.service", "removed"),
    ("pb response (_recommendation)", "serving.recommend.servicer", "_recommendation"),
)


def main() -> None:
    """Build or reuse the model, run the calls, print the tables."""
    args = _parse()
    model = ensure_model(args.customers, args.family, args.seed)
    built, ids = _built(model, args)
    service = built.service
    from serving.recommend import servicer

    rng = random.Random(args.seed)
    calls = [rng.choice(ids) for _ in range(args.calls)]

    def one(customer: str) -> None:
        servicer._recommendation(service.recommend(customer, CHANNEL, K))  # patchable

    try:
        for customer in calls[:200]:  # warm caches (masks per day and channel, reasons, pools)
            one(customer)
        total = _cpu_per_call(one, calls)
        whole = _through_servicer(built, calls)
        stages = _breakdown(one, calls, service)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for customer in calls:
                one(customer)
            profiler.disable()
    finally:
        _stop(built)
    print(
        f"model: {args.family} on {args.customers:,} customers, version {model.version}; "
        f"{args.calls:,} calls, k={K}, channel {CHANNEL}, "
        f"{args.with_events:.0%} of customers with events since the snapshot"
    )
    print(f"total CPU per Recommend (service + pb response): {total:8.1f} us")
    log = "on" if built.decision_log is not None else "off (RECSYS_DECISION_LOG)"
    print(f"through the servicer, decision log {log}:      {whole:8.1f} us")
    _print_stages(stages, len(calls))
    if args.profile:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)


def _print_stages(stages: dict[str, list[float]], n: int) -> None:
    print(f"\n{'stage':32} {'us/call':>8} {'calls/req':>9}")
    whole = stages.pop("_whole")[0] / n * 1e6
    timed = 0.0
    for label, (seconds, count) in stages.items():
        per = seconds / n * 1e6
        timed += per
        print(f"{label:32} {per:8.1f} {count / n:9.2f}")
    print(f"{'rest (validation, glue)':32} {whole - timed:8.1f}")
    print(f"{'total (instrumented)':32} {whole:8.1f}")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="sequence")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument(
        "--with-events",
        type=float,
        default=0.0,
        help="share of the customers given events since the snapshot",
    )
    parser.add_argument("--profile", type=int, default=0, help="print cProfile's top N")
    parser.add_argument(
        "--answer-cache",
        type=int,
        default=0,
        help="answers kept (RECSYS_ANSWER_CACHE_SIZE); 0, the default, runs the pipeline per call",
    )
    return parser.parse_args()


def _built(model: BenchModel, args: argparse.Namespace) -> tuple[Any, list[str]]:
    """The server as `recsys serve` wires it (offers, decision log), on the bench model."""
    from recsys.settings import Settings
    from recsys.stores.sql_events import open_event_store
    from serving.models.follower import ModelFollower
    from serving.models.holder import ModelHolder
    from serving.transport.server import build
    from training.tracking import configure_mlflow

    db = model.root / f"profile-events-{args.with_events:g}.db"
    db.unlink(missing_ok=True)  # a fresh store: the events below and nothing else
    settings = Settings(
        home=model.home,
        mlflow_tracking_uri=model.tracking_uri,
        database_url=f"sqlite:///{db}",
        answer_cache_size=args.answer_cache,
    )
    configure_mlflow(settings)
    holder = ModelHolder()
    follower = ModelFollower(settings, holder, cache_dir=model.home / "profile-cache")
    if follower.load_initial() is None:
        raise SystemExit(f"no champion to load from {model.tracking_uri}")
    store = open_event_store(settings.resolved_database_url)
    built = build(settings, port=0, holder=holder, store=store)
    ids = model.customer_ids(2000)
    _record_events(built.service, ids, args.with_events, args.seed)
    return built, ids


def _through_servicer(built: Any, calls: list[str]) -> float:
    """CPU us per Recommend through the servicer's coroutine, the decision log's writer too."""
    import asyncio

    from serving._proto.recsys.v1 import recommendation_pb2 as pb
    from serving.recommend.servicer import RecommendationServicer

    servicer = RecommendationServicer(built.service, decision_log=built.decision_log)
    requests = [pb.RecommendRequest(customer_id=c, channel=CHANNEL, k=K) for c in calls]
    context = _Context()

    async def run(batch: list[Any]) -> None:
        for request in batch:
            await servicer.Recommend(request, context)

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(run(requests[:200]))
        _drained(built)
        started = time.process_time()
        loop.run_until_complete(run(requests))
        _drained(built)  # the writer's CPU is the process's too
        spent = time.process_time() - started
    finally:
        loop.close()
    if context.failed:
        raise SystemExit(f"Recommend failed: {context.failed[:3]}")
    return spent / len(calls) * 1e6


class _Context:
    """What the servicer asks of a grpc.aio context: no deadline; failures are kept."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def time_remaining(self) -> None:
        return None

    def set_code(self, code: Any) -> None:
        self.failed.append(str(code))

    def set_details(self, details: str) -> None:
        self.failed.append(details)


def _drained(built: Any) -> None:
    """Wait until the decision log's writer has written everything queued."""
    log = built.decision_log
    if log is None:
        return
    target = log.logged + log.depth
    deadline = time.monotonic() + 30
    while (log.depth or log.logged + log.dropped < target) and time.monotonic() < deadline:
        time.sleep(0.01)


def _stop(built: Any) -> None:
    if built.decision_log is not None:
        built.decision_log.close()
    if built.offer_book is not None:
        built.offer_book.stop()
    built.server.stop(None)


def _record_events(service: Any, ids: list[str], share: float, seed: int) -> None:
    """A purchase and a view since the snapshot for `share` of `ids`."""
    from serving.recommend.domain import EventIn

    if share <= 0:
        return
    engine = service.holder.current().engine
    products = [str(p) for p in engine.snapshot.product_map.ids]
    rng = random.Random(seed)
    now = datetime.now(UTC) - timedelta(minutes=1)
    events = [
        EventIn(
            customer_id=c,
            product_id=rng.choice(products),
            type=kind,
            channel=CHANNEL,
            timestamp=now,
            request_id="",
            offer_id="",
            amount=None,
        )
        for c in rng.sample(ids, int(len(ids) * share))
        for kind in ("purchase", "view")
    ]
    for start in range(0, len(events), 500):
        service.record_events(events[start : start + 500])


def _cpu_per_call(one: Callable[[str], None], calls: list[str]) -> float:
    """Mean CPU us per call."""
    started = time.process_time()
    for customer in calls:
        one(customer)
    return (time.process_time() - started) / len(calls) * 1e6


def _breakdown(
    one: Callable[[str], None], calls: list[str], service: Any
) -> dict[str, list[float]]:
    """Per stage: [CPU seconds, calls] over a run with every stage's function timed."""
    found: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    with _timed_stages(service, found):
        clock = time.process_time
        for customer in calls:
            started = clock()
            one(customer)
            whole = found["_whole"]
            whole[0] += clock() - started
            whole[1] += 1
    return dict(found)


@contextmanager
def _timed_stages(service: Any, found: dict[str, list[float]]) -> Iterator[None]:
    """Wrap each STAGES function with a CPU timer that adds its own time (less nested stages)."""
    import importlib

    undo: list[tuple[Any, str, Any]] = []
    stack: list[float] = []  # time taken by timed stages nested inside the current one

    def wrap(label: str, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def timed(*a: Any, **kw: Any) -> Any:
            clock = time.process_time
            stack.append(0.0)
            started = clock()
            try:
                return fn(*a, **kw)
            finally:
                spent = clock() - started
                inner = stack.pop()
                entry = found[label]
                entry[0] += spent - inner
                entry[1] += 1
                if stack:
                    stack[-1] += spent

        return timed

    for label, module_name, attr in STAGES:
        found[label]  # noqa: B018 - keep the table's order
        owner_name, _, name = attr.rpartition(".")
        if owner_name == "store":
            owner: Any = service.store
        else:
            owner = importlib.import_module(module_name)
            if owner_name:
                owner = getattr(owner, owner_name)
        if not hasattr(owner, name):
            continue  # renamed by a change elsewhere: left out of the table
        original = getattr(owner, name)
        undo.append(
            (owner, name, owner.__dict__.get(name, None) if owner_name != "store" else None)
        )
        setattr(owner, name, wrap(label, original))
    try:
        yield
    finally:
        for owner, name, before in reversed(undo):
            if before is None:
                delattr(owner, name)  # an instance attribute hid the class's method
            else:
                setattr(owner, name, before)


if __name__ == "__main__":
    main()
