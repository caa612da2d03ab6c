"""Soak benchmark: mixed Recommend/RecordEvents at 70% of peak while the model and offers change.

    python bench/soak.py [--minutes 10] [--customers 20000] [--family itemknn] [--workers 2]
                         [--clients 2] [--out DIR] [--database-url URL]

A registry with two versions of the same model (bench/soak_model.py: A champion, B registered
but not promoted) is served by `recsys serve --workers N` on loopback, with an event/offer store
of its own (a fresh SQLite file in --out unless --database-url is given). Then, from
`--clients` client processes (bench/soak_load.py: ~80% Recommend, 20% RecordEvents of 1-3
events each, every event with a unique request id; known and unknown customers; channels
cycled; a purchase now and then):

  1. unloaded: the mix at a low fixed rate (--unloaded-rate, 20/s for 15 s): the p99 to beat;
  2. peak: the mix in a closed loop (--peak-concurrency 32 for 15 s): peak QPS;
  3. soak: the mix at --share (0.7) x peak, fixed rate, for --minutes. At 1/3 the champion
     alias moves to B (the servers' followers poll the registry); at 1/2 an offer (pin to
     slot 1 of a product nearly everyone may get) is created and activated in the store; at
     2/3 it is paused. The server's RSS (supervisor + workers) and the load average are
     sampled every few seconds;
  4. afterwards every acknowledged event is looked for in the store, by request id.

Targets (the issue): no failed request in the soak; soak p99 <= 2 x unloaded p99 (same mix);
RSS growth < 10% (median of the last minute vs the first minute after a warm-up); every
acknowledged event stored (exactly once); version B served after the swap (GetModelInfo over
several connections, and every answer 30 s after the promotion); the offer in answers while
active and in none once paused. Prints figures and PASS/MISS, writes summary.json and the
calls (calls.npz) to --out; exit code 0 only when every target passes. The machine's load
average is shown because a shared machine moves every latency figure.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from serve_model import BENCH_HOME  # noqa: E402
from serve_servers import Server, recsys_serve  # noqa: E402
from soak_load import Calls, Mix, run_mixed, start_mixed  # noqa: E402
from soak_model import SoakModels, ensure_soak_models, offer_product, product_ids  # noqa: E402
from soak_report import Figures, report, save  # noqa: E402
from soak_watch import Sampler, served_versions, server_log_errors, stored_event_ids  # noqa: E402
from tables import say  # noqa: E402

if TYPE_CHECKING:
    from recsys.stores.sql_offers import OfferStore

PEAK_WARMUP_S = 2.0
MIN_MINUTES = 1.0
ACTOR = "soak-bench"


def main() -> None:
    """Prepare, serve, load, check; exit 1 when a target is missed."""
    args = _parse()
    out = args.out or BENCH_HOME / "soak-runs" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    models = ensure_soak_models(args.customers, args.family, args.seed)
    model = models.model
    say(
        f"registry: {args.family} on {args.customers:,} customers, champion A = version "
        f"{models.version_a}, B = version {models.version_b}"
        + (f" (built in {model.build_s:.0f} s)" if model.build_s else " (cached)")
    )
    models.reset_champion()
    url = args.database_url or f"sqlite:///{(out / 'store.db').resolve()}"
    env = {**model.env(), "RECSYS_DATABASE_URL": url}
    run_id = f"soak{uuid.uuid4().hex[:10]}"
    with recsys_serve(env, args.workers, out / "logs") as server:
        say(
            f"recsys serve --workers {args.workers}: ready in {server.ready_s:.1f} s "
            f"at {server.address}; store {url}; run id {run_id}"
        )
        mix = Mix(
            server.address,
            tuple(model.customer_ids(args.customers)),  # events spread over the whole bank
            tuple(product_ids(model)),
            run_id,
        )
        figures = _phases(args, models, server, mix, url)
    figures.stored_ids = stored_event_ids(url, run_id)
    passed = report(figures)
    save(out, figures)
    say(f"\nfigures and calls written to {out}")
    sys.exit(0 if passed else 1)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="soak length")
    parser.add_argument("--customers", type=int, default=20_000, help="bank size")
    parser.add_argument("--family", default="itemknn", help="model family of A and B")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--out", type=Path, default=None, help="folder for the run's files")
    parser.add_argument(
        "--database-url",
        default=None,
        help="event/offer store (default: a fresh SQLite file in --out)",
    )
    parser.add_argument("--share", type=float, default=0.7, help="soak rate / peak QPS")
    parser.add_argument("--unloaded-rate", type=float, default=20.0, help="calls/s")
    parser.add_argument("--unloaded-seconds", type=float, default=15.0)
    parser.add_argument("--peak-concurrency", type=int, default=32)
    parser.add_argument("--peak-seconds", type=float, default=15.0)
    parser.add_argument("--sample-every", type=float, default=2.0, help="RSS sampling, s")
    args = parser.parse_args()
    if args.minutes < MIN_MINUTES:
        # the swap check needs answers sent SWAP_WITHIN_S after the promotion at 1/3
        parser.error(f"--minutes must be at least {MIN_MINUTES:g}, got {args.minutes:g}")
    return args


def _phases(
    args: argparse.Namespace, models: SoakModels, server: Server, mix: Mix, url: str
) -> Figures:
    """Unloaded, peak and soak runs against the started server, and what they showed."""
    fig = Figures(
        run_id=mix.run_id,
        version_a=models.version_a,
        version_b=models.version_b,
        seconds=args.minutes * 60,
        workers=args.workers,
        clients=args.clients,
        share=args.share,
    )
    fig.versions_before = served_versions(server.address)
    cpu = server.cpu_seconds()
    fig.unloaded = run_mixed(
        mix,
        rate=args.unloaded_rate,
        seconds=args.unloaded_seconds,
        processes=args.clients,
        label="u",
    )
    fig.cpu_ms["unloaded"], cpu = _cpu_ms(server, cpu, fig.unloaded), server.cpu_seconds()
    say(
        f"unloaded ({args.unloaded_rate:g}/s for {args.unloaded_seconds:g} s): "
        f"p50 {fig.unloaded.p(50):.2f} ms, p99 {fig.unloaded.p(99):.2f} ms, "
        f"failed {fig.unloaded.failed()}"
    )
    fig.peak_calls = run_mixed(
        mix,
        concurrency=args.peak_concurrency,
        seconds=args.peak_seconds + PEAK_WARMUP_S,
        processes=args.clients,
        label="p",
    )
    fig.cpu_ms["peak"] = _cpu_ms(server, cpu, fig.peak_calls)
    fig.peak = fig.peak_calls.answered_qps(PEAK_WARMUP_S, PEAK_WARMUP_S + args.peak_seconds)
    say(
        f"peak (closed loop, c={args.peak_concurrency}): {fig.peak:.0f} calls/s, "
        f"p99 {fig.peak_calls.p(99):.2f} ms, failed {fig.peak_calls.failed()}"
    )
    fig.rate = args.share * fig.peak
    _soak(args, models, server, mix, url, fig)
    fig.versions_after = served_versions(server.address)
    fig.log_errors = server_log_errors(server)
    return fig


def _soak(
    args: argparse.Namespace,
    models: SoakModels,
    server: Server,
    mix: Mix,
    url: str,
    fig: Figures,
) -> None:
    """The fixed-rate soak with the model swap and the offer's start and pause on schedule."""
    from recsys.offers.model import Status
    from recsys.stores.sql_offers import open_offer_store

    store = open_offer_store(url)
    product = offer_product(models.model)
    offer_id = ""
    say(
        f"soak: {fig.rate:.0f} calls/s ({args.share:g} x peak) for {fig.seconds:.0f} s; "
        f"swap to version {models.version_b} at 1/3, offer on {product} at 1/2, paused at 2/3"
    )
    load = start_mixed(mix, rate=fig.rate, seconds=fig.seconds, processes=args.clients, label="s")
    sampler = Sampler(server, args.sample_every).start(load.started_at)
    try:
        _at(load.started_at + fig.seconds / 3)
        models.promote_b()
        fig.marks["promote"] = time.time() - load.started_at
        _at(load.started_at + fig.seconds / 2)
        offer_id = _start_offer(store, product, mix.run_id)
        fig.marks["offer_on"] = time.time() - load.started_at
        _at(load.started_at + fig.seconds * 2 / 3)
        store.set_status(offer_id, Status.paused, ACTOR)
        fig.marks["offer_paused"] = time.time() - load.started_at
        say(
            f"  promoted at {fig.marks['promote']:.1f} s, offer {offer_id} on at "
            f"{fig.marks['offer_on']:.1f} s, paused at {fig.marks['offer_paused']:.1f} s"
        )
        fig.soak = load.result()
    finally:
        fig.samples = sampler.stop()
        if offer_id:
            store.set_status(offer_id, Status.ended, ACTOR)  # no live offer left behind
        store.close()


def _cpu_ms(server: Server, before: float, calls: Calls) -> float:
    """Server CPU ms per answered call since `before` (its CPU seconds then)."""
    return 1000 * (server.cpu_seconds() - before) / max(1, int(calls.ok.sum()))


def _start_offer(store: OfferStore, product: str, run_id: str) -> str:
    """Create the soak's offer (pin to slot 1, anyone, every channel) and activate it."""
    from recsys.offers.model import Action, Offer, Status

    now = datetime.now(UTC)
    offer = Offer(
        name=f"soak {run_id}",
        product_id=product,
        start_at=now - timedelta(minutes=1),
        end_at=now + timedelta(days=1),
        action=Action.pin,
        pin=1,
    )
    created = store.create(offer, ACTOR)
    return store.set_status(created.id, Status.active, ACTOR).id


def _at(moment: float) -> None:
    """Sleep until the wall-clock `moment`."""
    time.sleep(max(0.0, moment - time.time()))


if __name__ == "__main__":
    main()
