"""Load generators for the serving benchmark: closed loop and fixed rate, over gRPC or HTTP.

The load comes from several client processes (spawned, each with its own asyncio loop), so
the client is not one GIL-bound process. Every gRPC client process opens many connections
(channels with a local subchannel pool) and spreads its calls over them round-robin: servers
sharing a port through SO_REUSEPORT get connections, not calls, from the kernel, and a handful
of connections would leave one server process idle by chance.

Closed loop: `concurrency` callers, each sending its next request when the last one answered.
Fixed rate: requests are sent on a schedule (rate per second, evenly spaced) whatever the
answers, and latency counts from the scheduled send time, so a stalled server is not hidden
by a client that waits for it (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_CONNECTIONS = 8  # per client process, see the module docstring
CALL_TIMEOUT_S = 10.0
MAX_IN_FLIGHT = 512  # fixed-rate runs: beyond this the server is hopelessly behind


@dataclass(frozen=True)
class Target:
    """What to call: 'grpc' (host:port, Recommend) or 'http' (URL of /invocations)."""

    kind: str
    address: str
    payloads: tuple[Any, ...]  # (customer_id, channel, k) per request, used round-robin


@dataclass(frozen=True)
class Result:
    """One load run: calls answered in the window, errors, and latencies in seconds."""

    seconds: float
    latencies: np.ndarray
    errors: int
    first_error: str

    @property
    def qps(self) -> float:
        """Answered calls per second of the measured window."""
        return len(self.latencies) / self.seconds

    def percentile(self, q: float) -> float:
        """Latency percentile in milliseconds (nan without answers)."""
        if not len(self.latencies):
            return float("nan")
        return float(np.percentile(self.latencies, q) * 1000.0)


def closed_loop(
    target: Target, concurrency: int, seconds: float, warmup: float, processes: int
) -> Result:
    """`concurrency` callers split over up to `processes` client processes."""
    return _run(target, "closed", concurrency, 0.0, seconds, warmup, processes)


def fixed_rate(
    target: Target, rate: float, seconds: float, warmup: float, processes: int
) -> Result:
    """Requests sent at `rate` per second in total, latency from the scheduled send time."""
    return _run(target, "rate", 0, rate, seconds, warmup, processes)


@dataclass(frozen=True)
class _Plan:
    """One client process's share of a run (times in the wall clock, time.time())."""

    mode: str  # "closed" or "rate"
    concurrency: int  # closed loop: callers in this process
    rate: float  # fixed rate: requests per second from this process
    phase: float  # fixed rate: offset of this process's schedule, so processes interleave
    start_at: float  # warm-up starts
    warmup: float
    seconds: float
    index: int


def _run(
    target: Target, mode: str, concurrency: int, rate: float, seconds: float, warmup: float,
    processes: int,
) -> Result:
    n = max(1, min(processes, concurrency)) if mode == "closed" else max(1, processes)
    shares = [concurrency // n + (i < concurrency % n) for i in range(n)]
    start_at = time.time() + 2.0  # every process started and connected by then
    plans = [
        _Plan(mode, shares[i], rate / n, i / rate if rate else 0.0, start_at, warmup, seconds, i)
        for i in range(n)
    ]
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_client_process, args=(queue, target, p)) for p in plans]
    for p in procs:
        p.start()
    parts = [queue.get(timeout=start_at - time.time() + warmup + seconds + 60) for _ in procs]
    for p in procs:
        p.join(10)
    latencies = np.concatenate([np.asarray(x["latencies"], dtype=float) for x in parts])
    first = next((x["first_error"] for x in parts if x["first_error"]), "")
    return Result(seconds, latencies, sum(x["errors"] for x in parts), first)


def _client_process(queue: Any, target: Target, plan: _Plan) -> None:
    queue.put(asyncio.run(_client(target, plan)))


async def _client(target: Target, plan: _Plan) -> dict:
    caller = await _caller(target, max(plan.concurrency, MIN_CONNECTIONS))
    # the measured window in this process's perf_counter clock
    begin = time.perf_counter() + (plan.start_at - time.time()) + plan.warmup
    end = begin + plan.seconds
    stats = {"latencies": [], "errors": 0, "first_error": ""}
    try:
        await asyncio.sleep(max(0.0, begin - plan.warmup - time.perf_counter()))
        if plan.mode == "closed":
            offset = plan.index * 104729  # processes walk the payloads from different places
            loops = [_loop(caller, offset + i, begin, end, stats) for i in range(plan.concurrency)]
            await asyncio.gather(*loops)
        else:
            first = begin - plan.warmup + plan.phase
            await _scheduled(caller, plan.rate, first, begin, end, stats)
    finally:
        await caller.close()
    return stats


async def _loop(caller: _Caller, n: int, begin: float, end: float, stats: dict) -> None:
    while True:
        sent = time.perf_counter()
        if sent >= end:
            return
        await _one(caller, n, sent, begin, end, stats)
        n += 7919  # a prime stride: callers walk the payloads in different orders


async def _scheduled(
    caller: _Caller, rate: float, first: float, begin: float, end: float, stats: dict
) -> None:
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)
    tasks: set[asyncio.Task] = set()
    n = 0
    while True:
        due = first + n / rate
        if due >= end:
            break
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await gate.acquire()
        task = asyncio.create_task(_one(caller, n, due, begin, end, stats))
        tasks.add(task)
        task.add_done_callback(lambda t: (gate.release(), tasks.discard(t)))
        n += 1
    if tasks:
        await asyncio.wait(tasks)


async def _one(caller: _Caller, n: int, sent: float, begin: float, end: float, stats: dict) -> None:
    try:
        await caller.call(n)
    except Exception as exc:  # noqa: BLE001 - every failure is counted and the first shown
        if sent >= begin:
            stats["errors"] += 1
            stats["first_error"] = stats["first_error"] or f"{type(exc).__name__}: {exc}"[:300]
        return
    done = time.perf_counter()
    if begin <= sent and done <= end:
        stats["latencies"].append(done - sent)


class _Caller:
    async def call(self, n: int) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class _GrpcCaller(_Caller):
    def __init__(self, target: Target, connections: int) -> None:
        import grpc

        from serving._proto.recsys.v1 import recommendation_pb2 as pb
        from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc

        options = [("grpc.use_local_subchannel_pool", 1)]  # a connection per channel
        self.channels = [
            grpc.aio.insecure_channel(target.address, options=options) for _ in range(connections)
        ]
        self.stubs = [pb_grpc.RecommendationServiceStub(c) for c in self.channels]
        self.requests = [
            pb.RecommendRequest(customer_id=c, channel=ch, k=k) for c, ch, k in target.payloads
        ]

    async def connect(self) -> None:
        await asyncio.gather(*(c.channel_ready() for c in self.channels))

    async def call(self, n: int) -> None:
        stub = self.stubs[n % len(self.stubs)]
        await stub.Recommend(self.requests[n % len(self.requests)], timeout=CALL_TIMEOUT_S)

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.channels))


class _HttpCaller(_Caller):
    def __init__(self, target: Target, connections: int) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max(connections, 1)),
            timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT_S),
        )
        self.url = target.address
        self.bodies = [
            json.dumps(
                {
                    "dataframe_split": {"columns": ["customer_id"], "data": [[c]]},
                    "params": {"k": k, "channel": ch},
                }
            ).encode()
            for c, ch, k in target.payloads
        ]

    async def connect(self) -> None:
        return None

    async def call(self, n: int) -> None:
        body = self.bodies[n % len(self.bodies)]
        headers = {"Content-Type": "application/json"}
        async with self.session.post(self.url, data=body, headers=headers) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")

    async def close(self) -> None:
        await self.session.close()


async def _caller(target: Target, connections: int) -> _Caller:
    caller: _Caller
    if target.kind == "grpc":
        caller = _GrpcCaller(target, connections)
    elif target.kind == "http":
        caller = _HttpCaller(target, connections)
    else:
        raise ValueError(f"unknown target kind {target.kind!r}")
    await caller.connect()
    return caller
