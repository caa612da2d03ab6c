"""Mixed Recommend / RecordEvents load for the soak bench, every call kept for the report.

Like bench/serve_load.py (several spawned client processes, each with its own asyncio loop and
many connections; fixed rate with latency from the scheduled send time, or closed loop), but
the mix is ~80% Recommend / 20% RecordEvents and each process returns every call: when it was
due and when it was sent (seconds from the run's start, one clock for all processes; a
server that falls behind makes the fixed-rate clients send late), its latency from the due
time, kind and status
code, the model version and offer items of each answer, and the id of every event the server
acknowledged (each event carries a unique request_id, so the store can be checked against
them). serve_load's Result keeps only latencies and an error count, hence a module of its own.

A run starts in the background (`start_mixed`) so the caller can change the world meanwhile
(promote a model, start an offer) and collect the calls afterwards (`MixedLoad.result`).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from serve_load import CALL_TIMEOUT_S, MAX_IN_FLIGHT, MIN_CONNECTIONS

RECOMMEND, RECORD = 0, 1
KINDS = ("Recommend", "RecordEvents")
OK = 0  # grpc.StatusCode.OK's number; the status column holds the others' numbers too
SHORT_ACK = -2  # RecordEvents answered with accepted != events sent
CLIENT_ERROR = -1  # not a gRPC status (the client itself failed)
READY_TIMEOUT_S = 120.0  # spawning + importing grpc on a busy machine
CHANNELS = ("mobile", "web", "branch", "call_center", "atm")
EVENT_TYPES = (("impression", 0.6), ("click", 0.25), ("view", 0.05), ("purchase", 0.1))
COLUMNS = ("due", "sent", "latency", "kind", "status", "version", "offer_items")
UNKNOWN_CONTEXT = {
    "birth_year": "1986",
    "segment": "mass",
    "risk_tolerance": "3",
    "marketing_consent": "true",
}


@dataclass(frozen=True)
class Mix:
    """What the clients send, and where."""

    address: str
    customers: tuple[str, ...]  # known customer ids
    products: tuple[str, ...]  # known product ids, for events
    run_id: str  # prefix of every event's request_id: the run's events can be counted
    record_share: float = 0.2  # share of calls that are RecordEvents
    unknown_share: float = 0.1  # share of customers the model does not know


@dataclass
class Calls:
    """Every call of a run; times in seconds from the run's start (when the first was due)."""

    due: np.ndarray  # scheduled (fixed rate) or sent (closed loop) time
    sent: np.ndarray  # when it left the client (later than `due` once MAX_IN_FLIGHT are out)
    latency: np.ndarray  # seconds from `due` to the answer (or the failure)
    kind: np.ndarray  # RECOMMEND / RECORD
    status: np.ndarray  # OK, a grpc.StatusCode number, SHORT_ACK or CLIENT_ERROR
    version: np.ndarray  # Recommend answers: model version (int), else -1
    offer_items: np.ndarray  # Recommend answers: items placed by an offer
    acked: list[str]  # request ids of the events the server acknowledged
    sent_events: int  # events in every RecordEvents sent
    client_cpu_s: float  # CPU time the client processes used while sending
    first_errors: dict[int, str] = field(default_factory=dict)  # status -> first message

    @property
    def done(self) -> np.ndarray:
        """When each call was answered (or failed)."""
        return self.due + self.latency

    @property
    def ok(self) -> np.ndarray:
        """Mask of answered calls."""
        return self.status == OK

    def failed(self) -> int:
        """Calls that did not succeed."""
        return int((~self.ok).sum())

    def answered_qps(self, start: float, end: float) -> float:
        """Answered calls finished in [start, end) per second."""
        done = self.done
        return float((self.ok & (done >= start) & (done < end)).sum()) / (end - start)

    def p(self, q: float, mask: np.ndarray | None = None) -> float:
        """Latency percentile in ms over the answered calls (and `mask`); nan when none."""
        keep = self.ok if mask is None else self.ok & mask
        return float(np.percentile(self.latency[keep], q) * 1000) if keep.any() else float("nan")


@dataclass(frozen=True)
class _Plan:
    """One client process's share of a run."""

    mode: str  # "closed" or "rate"
    concurrency: int
    rate: float
    phase: float  # fixed rate: this process's offset, so processes interleave
    seconds: float
    index: int
    label: str  # phase name in event ids (u / p / s)


class MixedLoad:
    """A started run: client processes connected and sending; `result()` waits for them."""

    def __init__(self, mix: Mix, plans: list[_Plan]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.seconds = plans[0].seconds
        self._queue = ctx.Queue()
        self._go = ctx.Event()
        self._start = ctx.Value("d", 0.0)
        self._procs = [
            ctx.Process(
                target=_process, args=(mix, p, self._queue, self._go, self._start), daemon=True
            )
            for p in plans
        ]
        for p in self._procs:
            p.start()
        deadline = time.time() + READY_TIMEOUT_S
        # every process connected before the clock starts
        self._collect("ready", lambda: deadline - time.time())
        self.started_at = time.time() + 0.2  # wall clock; every process runs from here
        self._start.value = self.started_at
        self._go.set()

    def result(self) -> Calls:
        """Wait for every process and merge their calls."""
        deadline = self.started_at + self.seconds + CALL_TIMEOUT_S + 120
        parts = self._collect("done", lambda: deadline - time.time())
        for p in self._procs:
            p.join(10)
        return _merge(parts)

    def _collect(self, expected: str, left: Callable[[], float]) -> list[Any]:
        """One `expected` message per process; on an error or a timeout, the clients stop."""
        out = []
        try:
            for _ in self._procs:
                kind, payload = self._queue.get(timeout=max(1.0, left()))
                if kind != expected:
                    raise RuntimeError(f"soak client failed: {payload}")
                out.append(payload)
        except BaseException:
            for p in self._procs:  # our own children only
                if p.is_alive():
                    p.terminate()
            raise
        return out


def start_mixed(
    mix: Mix,
    *,
    seconds: float,
    processes: int,
    label: str,
    rate: float = 0.0,
    concurrency: int = 0,
) -> MixedLoad:
    """Start a fixed-rate run (`rate` calls/s in all) or else a closed loop of `concurrency`."""
    mode = "rate" if rate > 0 else "closed"
    n = max(1, processes if mode == "rate" else min(processes, concurrency))
    shares = [concurrency // n + (i < concurrency % n) for i in range(n)]
    plans = [
        _Plan(mode, shares[i], rate / n, i / rate if rate else 0.0, seconds, i, label)
        for i in range(n)
    ]
    return MixedLoad(mix, plans)


def run_mixed(mix: Mix, **kw: Any) -> Calls:
    """`start_mixed` and wait for its calls."""
    return start_mixed(mix, **kw).result()


def _merge(parts: list[dict]) -> Calls:
    cols = {k: np.concatenate([p[k] for p in parts]) for k in COLUMNS}
    order = np.argsort(cols["due"], kind="stable")
    errors: dict[int, str] = {}
    for p in parts:
        for code, text in p["first_errors"].items():
            errors.setdefault(code, text)
    return Calls(
        **{k: v[order] for k, v in cols.items()},
        acked=[e for p in parts for e in p["acked"]],
        sent_events=sum(p["sent_events"] for p in parts),
        client_cpu_s=sum(p["cpu_s"] for p in parts),
        first_errors=errors,
    )


def _process(mix: Mix, plan: _Plan, queue: Any, go: Any, start: Any) -> None:
    try:
        queue.put(("done", asyncio.run(_client(mix, plan, queue, go, start))))
    except BaseException as exc:  # noqa: BLE001 - the parent must hear of it, not hang
        queue.put(("error", f"client {plan.index}: {type(exc).__name__}: {exc}"))


async def _client(mix: Mix, plan: _Plan, queue: Any, go: Any, start: Any) -> dict:
    sender = _Sender(mix, plan)
    await sender.connect(max(plan.concurrency, MIN_CONNECTIONS))
    queue.put(("ready", plan.index))
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    # the run's start in this process's perf_counter clock
    sender.t0 = time.perf_counter() + (start.value - time.time())
    cpu = time.process_time()
    try:
        await asyncio.sleep(max(0.0, sender.t0 - time.perf_counter()))
        if plan.mode == "closed":
            await asyncio.gather(*(sender.loop(i) for i in range(plan.concurrency)))
        else:
            await sender.scheduled()
    finally:
        await sender.close()
    return sender.report() | {"cpu_s": time.process_time() - cpu}


class _Sender:
    """One client process: builds each call from its number, sends it, records the outcome."""

    def __init__(self, mix: Mix, plan: _Plan) -> None:
        self.mix, self.plan = mix, plan
        self.rng = random.Random(f"{mix.run_id}-{plan.label}-{plan.index}")
        self.t0 = 0.0
        self.rows: list[tuple[float, float, float, int, int, int, int]] = []
        self.acked: list[str] = []
        self.sent_events = 0
        self.first_errors: dict[int, str] = {}
        self.types, self.type_weights = zip(*EVENT_TYPES, strict=True)

    async def connect(self, connections: int) -> None:
        """Open the channels (one TCP connection each) and wait until they are ready."""
        import grpc

        from serving._proto.recsys.v1 import recommendation_pb2 as pb
        from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc

        self.pb, self.grpc = pb, grpc
        options = [("grpc.use_local_subchannel_pool", 1)]  # a connection per channel
        self.channels = [
            grpc.aio.insecure_channel(self.mix.address, options=options) for _ in range(connections)
        ]
        self.stubs = [pb_grpc.RecommendationServiceStub(c) for c in self.channels]
        await asyncio.gather(*(c.channel_ready() for c in self.channels))

    async def close(self) -> None:
        """Close every channel."""
        await asyncio.gather(*(c.close() for c in self.channels))

    async def loop(self, caller: int) -> None:
        """Closed loop: the next call when the last one answered, until the run's end."""
        n = caller
        while (sent := time.perf_counter()) < self.t0 + self.plan.seconds:
            await self.one(n, sent)
            n += self.plan.concurrency

    async def scheduled(self) -> None:
        """Fixed rate: calls due evenly, sent whatever the answers (bounded in flight)."""
        gate = asyncio.Semaphore(MAX_IN_FLIGHT)
        tasks: set[asyncio.Task] = set()
        n, first = 0, self.t0 + self.plan.phase
        while (due := first + n / self.plan.rate) < self.t0 + self.plan.seconds:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            await gate.acquire()
            task = asyncio.create_task(self.one(n, due))
            tasks.add(task)
            task.add_done_callback(lambda t: (gate.release(), tasks.discard(t)))
            n += 1
        if tasks:
            await asyncio.wait(tasks)

    async def one(self, n: int, due: float) -> None:
        """Send call `n` and record it (latency from `due`)."""
        stub = self.stubs[n % len(self.stubs)]
        channel = CHANNELS[n % len(CHANNELS)]
        kind = RECORD if self.rng.random() < self.mix.record_share else RECOMMEND
        version = offers = -1
        sent = time.perf_counter()
        try:
            if kind == RECOMMEND:
                answer = await stub.Recommend(self._recommend(channel), timeout=CALL_TIMEOUT_S)
                version = int(answer.model_version) if answer.model_version.isdigit() else -1
                offers = sum(1 for item in answer.items if item.offer_id)
                status = OK
            else:
                status = await self._record(stub, n, channel)
        except self.grpc.aio.AioRpcError as exc:
            status = exc.code().value[0]
            self._error(status, f"{exc.code().name}: {exc.details()}")
        except Exception as exc:  # noqa: BLE001 - counted as a failure like any other
            status = CLIENT_ERROR
            self._error(status, f"{type(exc).__name__}: {exc}")
        latency = time.perf_counter() - due
        self.rows.append((due - self.t0, sent - self.t0, latency, kind, status, version, offers))

    def _recommend(self, channel: str) -> Any:
        customer, known = self._customer()
        context = None if known else UNKNOWN_CONTEXT
        return self.pb.RecommendRequest(customer_id=customer, channel=channel, k=0, context=context)

    async def _record(self, stub: Any, n: int, channel: str) -> int:
        """One RecordEvents of 1-3 events, each with its own request id; the call's status."""
        prefix = f"{self.mix.run_id}-{self.plan.label}{self.plan.index}-{n}"
        events = []
        for j in range(self.rng.randint(1, 3)):
            kind = self.rng.choices(self.types, self.type_weights)[0]
            events.append(
                self.pb.Event(
                    customer_id=self._customer()[0],
                    product_id=self.rng.choice(self.mix.products),
                    type=kind,
                    channel=channel,
                    request_id=f"{prefix}-{j}",
                    amount=round(self.rng.uniform(100, 5000), 2) if kind == "purchase" else 0.0,
                )
            )
        self.sent_events += len(events)
        answer = await stub.RecordEvents(
            self.pb.RecordEventsRequest(events=events), timeout=CALL_TIMEOUT_S
        )
        if answer.accepted != len(events):
            self._error(SHORT_ACK, f"accepted {answer.accepted} of {len(events)} events")
            return SHORT_ACK
        self.acked.extend(e.request_id for e in events)
        return OK

    def _customer(self) -> tuple[str, bool]:
        if self.rng.random() < self.mix.unknown_share:
            return f"SOAK-NEW-{self.rng.randrange(10**6)}", False
        return self.rng.choice(self.mix.customers), True

    def _error(self, status: int, text: str) -> None:
        self.first_errors.setdefault(status, text[:300])

    def report(self) -> dict:
        """The recorded calls as arrays (cheap to pickle back to the parent)."""
        rows = np.array(self.rows, dtype=float).reshape(-1, len(COLUMNS))
        return {
            "due": rows[:, 0],
            "sent": rows[:, 1],
            "latency": rows[:, 2],
            "kind": rows[:, 3].astype(np.int8),
            "status": rows[:, 4].astype(np.int16),
            "version": rows[:, 5].astype(np.int32),
            "offer_items": rows[:, 6].astype(np.int16),
            "acked": self.acked,
            "sent_events": self.sent_events,
            "first_errors": self.first_errors,
        }
