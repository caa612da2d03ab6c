"""The gRPC server: service + health + reflection + metrics, wired once; `serve` runs it.

`build_server` is what tests use (port 0, a holder they fill themselves); `serve` is the
`recsys serve` entry: one process, or N processes sharing one port through SO_REUSEPORT,
each with its own model follower (the event store is the shared source of truth). Each
process serves from a grpc.aio loop thread (serving.transport.loop_server says why).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import signal
import threading
import time
from concurrent import futures
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import wait as wait_for_exit
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from recsys.settings import Settings
from recsys.stores.base import EventStore
from recsys.stores.sql_decisions import open_decision_store
from recsys.stores.sql_events import open_event_store
from recsys.stores.sql_experiments import open_experiment_store
from recsys.stores.sql_offers import open_offer_store
from serving._proto.recsys.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    experiments_pb2,
    experiments_pb2_grpc,
    offers_pb2,
    offers_pb2_grpc,
    recommendation_pb2,
)
from serving.admin.models import ModelVersions
from serving.admin.servicer import AdminServicer
from serving.decisions.log import DecisionLog
from serving.experiments.wiring import Experiments, experiments_of
from serving.models.follower import ModelFollower, ModelHolder
from serving.offers.book import OfferBook
from serving.offers.deliveries import DeliveryRecorder
from serving.offers.manage import OfferManager
from serving.offers.placer import OfferPlacer
from serving.offers.servicer import OfferServicer
from serving.recommend.answer_cache import AnswerCache
from serving.recommend.service import SuggestionService
from serving.recommend.servicer import Encoded, RecommendationServicer, encoded
from serving.recommend.servicer import add_to_server as add_recommendation_service
from serving.recommend.store_guard import guard_reads
from serving.transport.auth import auth_interceptors
from serving.transport.customer_bound import CustomerInterceptor, DistinctCustomers
from serving.transport.health import LoopHealth
from serving.transport.limits import (
    LimitMetrics,
    RateLimiter,
    RateLimitInterceptor,
    ResponseBudget,
)
from serving.transport.logs import configure_json_logging
from serving.transport.loop_server import LoopServer
from serving.transport.metrics import AioMetricsInterceptor, ServingMetrics
from serving.transport.tls import server_credentials
from serving.transport.undecodable import UndecodableInterceptor

log = logging.getLogger(__name__)
SERVICE_NAME = recommendation_pb2.DESCRIPTOR.services_by_name["RecommendationService"].full_name
OFFER_SERVICE_NAME = offers_pb2.DESCRIPTOR.services_by_name["OfferService"].full_name
ADMIN_SERVICE_NAME = admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name
EXPERIMENT_SERVICE_NAME = experiments_pb2.DESCRIPTOR.services_by_name["ExperimentService"].full_name
MAX_MESSAGE_BYTES = 1024 * 1024  # 1000 events or ids fit easily; anything bigger is refused
DEFAULT_THREADS = 8  # for calls that wait (and health); the calls run on one loop thread
GRACE_SECONDS = 5.0
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass(frozen=True, eq=False)
class Built:
    """A wired, not yet started server and the parts `serve` needs to run and stop it."""

    server: LoopServer
    port: int
    health: LoopHealth
    holder: ModelHolder
    service: SuggestionService
    decision_log: DecisionLog | None = None  # close it after the server has drained
    offer_book: OfferBook | None = None  # polls the offer store; stop it at shutdown
    experiments: Experiments | None = None  # polls the experiments, follows arms; stop it


def build(
    settings: Settings,
    *,
    port: int = 0,
    host: str = "[::]",
    holder: ModelHolder | None = None,
    store: EventStore | None = None,
    metrics: ServingMetrics | None = None,
    threads: int = DEFAULT_THREADS,
    reuse_port: bool = False,
    rate_share: float = 1.0,
) -> Built:
    """Wire service, health, reflection and metrics onto a server bound to `port`.

    The server is a grpc.aio server on its own loop thread (see serving.transport.loop_server);
    `threads` is the pool for what waits (store writes, large batches, health);
    `rate_share` is this process's share of each key's rate limit (1/N of N processes).
    """
    holder = holder if holder is not None else ModelHolder()
    store = store if store is not None else open_event_store(settings.resolved_database_url)
    if metrics is None:
        metrics = ServingMetrics(settings.channels, settings.event_types)
    credentials = server_credentials(settings)  # bad TLS files fail here, naming the file
    pool = futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="grpc")
    offer_store = open_offer_store(settings.resolved_database_url)
    offer_book = OfferBook(offer_store, refresh_seconds=settings.offer_refresh_seconds)
    placer = OfferPlacer(
        offer_book,
        offer_store,
        hold=timedelta(minutes=settings.offer_hold_minutes),
        recorder=DeliveryRecorder(offer_store),
    )
    service = SuggestionService(
        holder,
        guard_reads(
            store
        ),  # bounded in time (serving.recommend.store_guard): a hung store must not stall
        settings,
        on_store_down=metrics.store_read_failed,
        offers=placer,
        answers=_answer_cache(settings, metrics),
    )
    offer_admin = OfferManager(offer_store, holder, settings)
    experiments = experiments_of(
        settings, holder, open_experiment_store(settings.resolved_database_url)
    )
    service.router = experiments.router
    decisions = _decision_log(settings, metrics)
    limit_metrics = LimitMetrics(metrics.registry)
    budget = ResponseBudget(int(settings.server.waiting_answers_mb * 2**20), limit_metrics)
    health_servicer = _health(holder)
    address = f"{host}:{port}"

    def setup(server: grpc.aio.Server) -> int:
        add_recommendation_service(
            RecommendationServicer(
                service, metrics, blocking=pool, decision_log=decisions, budget=budget
            ),
            server,
        )
        offers_pb2_grpc.add_OfferServiceServicer_to_server(
            OfferServicer(offer_admin, blocking=pool), server
        )
        admin_pb2_grpc.add_AdminServiceServicer_to_server(_admin(settings, holder, pool), server)
        experiments_pb2_grpc.add_ExperimentServiceServicer_to_server(
            experiments.servicer(pool), server
        )
        # asyncio health: a Watch stream is a coroutine, not a pool thread (transport.health)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer.servicer, server)
        health_servicer.attach(asyncio.get_running_loop())  # setup runs on the server's loop
        reflection.enable_server_reflection(
            (SERVICE_NAME, OFFER_SERVICE_NAME, ADMIN_SERVICE_NAME, EXPERIMENT_SERVICE_NAME)
            + (health.SERVICE_NAME, reflection.SERVICE_NAME),
            server,
        )
        try:
            if credentials is None:
                bound = server.add_insecure_port(address)
            else:
                bound = server.add_secure_port(address, credentials)
        except RuntimeError as exc:  # grpc raises (rather than returning 0) when it is taken
            raise OSError(f"cannot bind the gRPC server to {address}: {exc}") from exc
        if bound == 0:
            raise OSError(f"cannot bind the gRPC server to {address}")
        return bound

    server = LoopServer(
        setup,
        # metrics outside auth: refused calls are counted too, by their status code
        # innermost: a request that does not parse is INVALID_ARGUMENT, not UNKNOWN
        interceptors=[
            AioMetricsInterceptor(metrics),
            *auth_interceptors(settings, pool),
            # inside auth: it knows the caller's key
            RateLimitInterceptor(
                RateLimiter(settings.server.rate, share=rate_share), limit_metrics
            ),
            _customer_interceptor(settings, metrics),
            UndecodableInterceptor(),
        ],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            # several processes may share a port only when asked to: a second server
            # started by mistake on a busy port must fail, not silently take half the calls
            ("grpc.so_reuseport", 1 if reuse_port else 0),
            # one connection cannot hold more calls than this open (a slow reader's included)
            ("grpc.max_concurrent_streams", settings.server.max_streams_per_connection),
            # a client's calls past the limit wait for a free stream: with the core's
            # overload protection on, a burst on a new connection was refused instead
            # (REFUSED_STREAM: 40 of 45 calls in bench/decision_burst.py)
            ("grpc.http.overload_protection", 0),
        ],
        executor=pool,
        maximum_concurrent_rpcs=settings.server.max_concurrent_rpcs,
    )
    if decisions is not None:
        decisions.start()
    offer_book.start()
    experiments.start()
    return Built(
        server, server.port, health_servicer, holder, service, decisions, offer_book, experiments
    )


def build_server(
    settings: Settings,
    *,
    port: int = 0,
    holder: ModelHolder | None = None,
    store: EventStore | None = None,
    metrics: ServingMetrics | None = None,
    threads: int = DEFAULT_THREADS,
    reuse_port: bool = False,
) -> tuple[LoopServer, int]:
    """A wired server (not started) and the port it is bound to (port 0 = any free)."""
    built = build(
        settings,
        port=port,
        holder=holder,
        store=store,
        metrics=metrics,
        threads=threads,
        reuse_port=reuse_port,
    )
    return built.server, built.port


def _customer_interceptor(settings: Settings, metrics: ServingMetrics) -> CustomerInterceptor:
    """Distinct customers per key counted; customer tokens checked when they are required."""
    watch = DistinctCustomers(
        metrics.registry,
        settings.enumeration_alert_customers,
        settings.enumeration_window_minutes * 60,
    )
    key = None
    if settings.customer_tokens == "required":
        if settings.customer_token_key is None:
            raise ValueError(
                "RECSYS_CUSTOMER_TOKENS=required needs RECSYS_CUSTOMER_TOKEN_KEY (the key the "
                "channels' backends sign customer tokens with)"
            )
        key = settings.customer_token_key.get_secret_value().encode()
    return CustomerInterceptor(watch, key, settings.customer_token_max_age_seconds)


def _admin(settings: Settings, holder: ModelHolder, pool: futures.Executor) -> AdminServicer:
    """The admin service: the registry through its own client, decisions opened on first use."""
    return AdminServicer(
        holder,
        list(settings.channels),
        ModelVersions(settings.resolved_tracking_uri, settings.registered_model),
        lambda: open_decision_store(settings.resolved_database_url),
        blocking=pool,
    )


def _answer_cache(settings: Settings, metrics: ServingMetrics) -> AnswerCache[Encoded] | None:
    """The answer cache of `settings.answer_cache_size` answers, counted in `metrics`."""
    if not settings.answer_cache_size:
        return None
    cache = AnswerCache(settings.answer_cache_size, encoded)
    metrics.watch_answer_cache(cache)
    return cache


def _decision_log(settings: Settings, metrics: ServingMetrics) -> DecisionLog | None:
    """The decision log on the store's database (None when settings turn it off); not started."""
    if not settings.decision_log:
        return None
    return DecisionLog(
        # answers reach the log through a queue a crash empties anyway: a commit need not
        # wait for the disk (SQLite; an OS crash may lose the last ones, the process's kill
        # loses nothing committed)
        open_decision_store(settings.resolved_database_url, fsync_each_commit=False),
        queue_size=settings.decision_queue_size,
        retention_days=settings.decision_retention_days,
        metrics=metrics,
        # a burst past the queue goes to a local file, drained into the store after it
        spill_dir=settings.home / "decision-spill",
    )


def _health(holder: ModelHolder) -> LoopHealth:
    """NOT_SERVING until the holder has a model, SERVING from the first model on."""
    servicer = LoopHealth([SERVICE_NAME], SERVING if holder.current() is not None else NOT_SERVING)
    holder.add_listener(
        lambda model, *_: servicer.set_all(SERVING if model is not None else NOT_SERVING)
    )
    return servicer


def serve(settings: Settings, port: int, workers: int = 1, metrics_port: int = 0) -> None:
    """Run until SIGTERM/SIGINT: one server process, or `workers` sharing `port`.

    Worker i exposes its metrics on `metrics_port + i` (0 = no metrics endpoint). Workers are
    spawned, so the entry script must guard its `app()` call with `if __name__ == "__main__"`
    (console scripts and `python -m recsys_cli.main` do).
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    server_credentials(settings)  # bad TLS files: one clear error here, not one per worker
    if workers == 1:
        run_process(settings, port, metrics_port, reuse_port=False)
        return
    if port == 0:
        raise ValueError("several workers need a fixed port to share (got port 0)")
    configure_json_logging()
    _run_workers(settings, port, workers, metrics_port)


def run_process(
    settings: Settings, port: int, metrics_port: int, *, reuse_port: bool, rate_share: float = 1.0
) -> None:
    """One server process: start serving (NOT_SERVING), load the model, follow the alias."""
    configure_json_logging()
    metrics = ServingMetrics(settings.channels, settings.event_types)
    holder = ModelHolder()
    built = build(
        settings,
        port=port,
        host=settings.grpc_host,
        holder=holder,
        metrics=metrics,
        reuse_port=reuse_port,
        rate_share=rate_share,
    )
    follower = ModelFollower(settings, holder, metrics=metrics)
    stop = _stop_on_signals()
    built.server.start()
    if metrics_port:
        metrics.start_http(metrics_port, addr=settings.metrics_host)
    log.info(
        "listening",
        extra={
            "host": settings.grpc_host,
            "port": built.port,
            "metrics_host": settings.metrics_host,
            "metrics_port": metrics_port,
        },
    )
    follower.load_initial()  # swaps into the holder, which turns health SERVING
    _freeze_heap()
    follower.start()
    while not stop.wait(1.0):
        pass
    log.info("stopping: health NOT_SERVING, draining calls", extra={"grace_s": GRACE_SECONDS})
    built.health.enter_graceful_shutdown()
    follower.stop()
    # load balancers poll health: give them time to see NOT_SERVING before calls are refused
    time.sleep(settings.shutdown_delay_seconds)
    built.server.stop(GRACE_SECONDS).wait()
    if built.offer_book is not None:
        built.offer_book.stop()
    if built.experiments is not None:
        built.experiments.stop()
    placer = built.service.offers
    if placer is not None and placer.recorder is not None:
        placer.recorder.close()  # the slots of the last answers, for the stats
    if built.decision_log is not None:
        built.decision_log.close()  # after the drain: the last answers are queued by now
    metrics.stop_http()


def _freeze_heap() -> None:
    """Keep what start-up loaded (libraries, the model) out of the cyclic collector's walks.

    Those millions of objects live as long as the process; left in the oldest generation,
    every full collection walked them all, with every call in flight stalled (the p99.9 of a
    loaded server). Later model versions are not frozen, so a swapped-out model
    can still be collected.
    """
    gc.collect()
    gc.freeze()


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (handlers only set it: the main loop does the work)."""
    stop = threading.Event()

    def handler(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def _run_workers(settings: Settings, port: int, workers: int, metrics_port: int) -> None:
    """Spawn the workers; forward SIGTERM/SIGINT; if one dies, stop the others."""
    # spawn, not fork: a forked child would inherit gRPC's and BLAS's threads in a bad state
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(
            target=run_process,
            args=(settings, port, metrics_port + i if metrics_port else 0),
            # the kernel spreads connections evenly: each process keeps 1/N of a key's rate
            kwargs={"reuse_port": True, "rate_share": 1.0 / workers},
            name=f"recsys-serve-{i}",
        )
        for i in range(workers)
    ]
    stop = _stop_on_signals()
    for p in procs:
        p.start()
    log.info("started %d workers on port %d", workers, port)
    while not stop.is_set() and all(p.is_alive() for p in procs):
        wait_for_exit([p.sentinel for p in procs], timeout=1.0)
    for p in procs:
        if p.is_alive():
            p.terminate()  # SIGTERM: each worker drains its own calls
    for p in procs:
        p.join(GRACE_SECONDS + 5.0)
    failed = [p.name for p in procs if p.exitcode not in (0, -signal.SIGTERM)]
    if failed and not stop.is_set():
        raise RuntimeError(f"worker(s) exited unexpectedly: {failed}")
