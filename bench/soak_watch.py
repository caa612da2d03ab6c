"""What the soak bench looks at besides the calls: server memory, machine load, model, store.

`Sampler` reads the server's resident memory and CPU time (the whole process tree: supervisor
+ workers) and the load average every few seconds in a thread; `served_versions` asks
GetModelInfo over several connections (each may land on another worker); `stored_event_ids`
reads the request ids of a run's events back from the store.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from serve_servers import Server


@dataclass
class Samples:
    """RSS and load over time; t in seconds from the soak's start."""

    t: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)  # bytes, whole server tree
    per_process: list[list[int]] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # server CPU seconds used so far
    load1: list[float] = field(default_factory=list)

    def median_rss(self, start: float, end: float) -> float:
        """Median RSS (bytes) of the samples in [start, end); nan when none."""
        t, rss = np.asarray(self.t), np.asarray(self.rss, dtype=float)
        window = rss[(t >= start) & (t < end)]
        return float(np.median(window)) if len(window) else float("nan")

    def cpu_between(self, start: float, end: float) -> float:
        """Server CPU seconds used between the samples nearest `start` and `end`."""
        if len(self.t) < 2:
            return float("nan")
        t, cpu = np.asarray(self.t), np.asarray(self.cpu)
        i, j = np.abs(t - start).argmin(), np.abs(t - end).argmin()
        return float(cpu[j] - cpu[i]) if j > i else float("nan")


class Sampler:
    """Samples a server's RSS and CPU time and the load average every `every` seconds."""

    def __init__(self, server: Server, every: float) -> None:
        self.server = server
        self.every = every
        self.samples = Samples()
        self.t0 = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)

    def start(self, t0: float) -> Sampler:
        """Sample from now on, times relative to the wall-clock `t0`."""
        self.t0 = t0
        self._thread.start()
        return self

    def stop(self) -> Samples:
        """Stop sampling; the samples taken."""
        self._stop.set()
        self._thread.join(self.every + 5)
        return self.samples

    def _run(self) -> None:
        while True:
            total, per = self.server.rss_bytes()
            s = self.samples
            s.t.append(time.time() - self.t0)
            s.rss.append(total)
            s.per_process.append(per)
            s.cpu.append(self.server.cpu_seconds())
            s.load1.append(os.getloadavg()[0])
            if self._stop.wait(self.every):
                return


def served_versions(address: str, connections: int = 8) -> list[str]:
    """GetModelInfo's version over `connections` separate connections."""
    import grpc

    from serving._proto.recsys.v1 import recommendation_pb2 as pb
    from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc

    options = [("grpc.use_local_subchannel_pool", 1)]
    out = []
    for _ in range(connections):
        with grpc.insecure_channel(address, options=options) as channel:
            stub = pb_grpc.RecommendationServiceStub(channel)
            out.append(stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=10).version)
    return out


def stored_event_ids(database_url: str, run_id: str) -> list[str]:
    """Request ids of the stored events of this run (one entry per stored event)."""
    import polars as pl

    from recsys.stores.sql_events import open_event_store
    from recsys.stores.tables import REQUEST_ID

    store = open_event_store(database_url)
    try:
        frame = store.export()
    finally:
        store.close()
    mine = frame.filter(pl.col(REQUEST_ID).str.starts_with(f"{run_id}-"))
    return mine[REQUEST_ID].to_list()


def server_log_errors(server: Server) -> list[str]:
    """Lines of the server's log at ERROR level or worse (JSON logs, or a traceback)."""
    text = server.log.read_text(errors="replace")
    marks = ('"level": "ERROR"', '"levelname": "ERROR"', '"level": "CRITICAL"', "Traceback")
    return [line for line in text.splitlines() if any(m in line for m in marks)]
