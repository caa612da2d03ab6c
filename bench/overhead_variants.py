"""The server side of bench/serve_overhead.py: one server process per variant.

    python bench/overhead_variants.py VARIANT --port PORT --probe-file FILE

Each variant is the real server (`serving.transport.server.run_process`) with parts left out
or replaced, for the bench only; see bench/serve_overhead.py for what each one measures. The
process rewrites FILE every PROBE_EVERY_S with its thread ids, the CPU spent inside
SuggestionService.recommend and the answer caches' hit counts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROBE_EVERY_S = 0.2  # how often a server rewrites its probe file (thread ids, service CPU)
# variant -> (interceptor classes left out, decision log on, canned service, answer cache on)
VARIANTS: dict[str, tuple[frozenset[str], bool, bool, bool]] = {
    "full": (frozenset(), True, False, True),
    "no-cache": (frozenset(), True, False, False),
    "no-dlog": (frozenset(), False, False, True),
    "no-metrics": (frozenset({"AioMetricsInterceptor"}), False, False, True),
    "no-undecodable": (frozenset({"UndecodableInterceptor"}), False, False, True),
    "no-intercept": (frozenset({"*"}), False, False, True),
    "canned": (frozenset({"*"}), False, True, False),
}
EMPTY = "empty"


def serve(variant: str, port: int, probe_file: Path) -> None:
    """One server process of `variant`, until SIGTERM."""
    import threading

    import serving.transport.server as srv
    from recsys.settings import Settings

    drop, decision_log, canned, answer_cache = VARIANTS[variant]
    real_loop_server = srv.LoopServer

    def loop_server(setup: Any, *, interceptors: list[Any], **kw: Any) -> Any:
        kept = [i for i in interceptors if "*" not in drop and type(i).__name__ not in drop]
        return real_loop_server(setup, interceptors=kept, **kw)

    srv.LoopServer = loop_server  # type: ignore[assignment,misc]
    service_cpu = _time_service(srv.SuggestionService)
    caches = _seen_caches(srv)
    if canned:
        srv.SuggestionService = _canned_service(srv.SuggestionService)  # type: ignore[misc]
    settings = Settings(decision_log=decision_log, answer_cache_size=100_000 * answer_cache)

    def report() -> None:  # both threads are started by build(), before serving
        wanted = {"grpc-loop"} | ({"decision-log"} if decision_log else set())
        while not wanted <= (names := {t.name: t.native_id for t in threading.enumerate()}).keys():
            time.sleep(0.05)
        while True:  # replaced whole (rename), so the bench never reads half a file
            partial = probe_file.with_suffix(".tmp")
            hits = sum(c.hits for c in caches)
            misses = sum(c.misses for c in caches)
            found = {"threads": names, "service_s": service_cpu[0], "hits": hits, "misses": misses}
            partial.write_text(json.dumps(found))
            partial.replace(probe_file)
            time.sleep(PROBE_EVERY_S)

    threading.Thread(target=report, daemon=True).start()
    srv.run_process(settings, port, 0, reuse_port=False)


def _time_service(service: type) -> list[float]:
    """Wrap `service.recommend` with a CPU timer (thread time); [seconds]."""
    spent = [0.0]
    recommend = service.recommend

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return recommend(self, *args, **kwargs)
        finally:
            spent[0] += time.thread_time() - started

    service.recommend = timed  # type: ignore[attr-defined]
    return spent


def _seen_caches(srv: Any) -> list[Any]:
    """The answer caches the server builds (read for their hit counts)."""
    seen: list[Any] = []
    real = srv.AnswerCache

    def made(*args: Any, **kwargs: Any) -> Any:
        seen.append(real(*args, **kwargs))
        return seen[-1]

    srv.AnswerCache = made
    return seen


def _canned_service(base: type) -> type:
    """`base` whose recommend answers every customer with the first answer of its (channel, k).

    A few customers' answers, reused: the payloads are more than the calls, so a memo per
    customer would rarely hit. The answers' size is that of real ones.
    """

    class Canned(base):  # type: ignore[valid-type,misc]
        memo: dict[tuple, list[Any]] = {}

        def recommend(self, customer_id: str, channel: str, k: int = 0, *a: Any) -> Any:
            answers = self.memo.setdefault((channel, k), [])
            if len(answers) < 16:
                answers.append(super().recommend(customer_id, channel, k, *a))
            return answers[hash(customer_id) % len(answers)]

    return Canned


def main() -> None:
    """Serve the variant named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", choices=sorted(VARIANTS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--probe-file", required=True)
    args = parser.parse_args()
    serve(args.variant, args.port, Path(args.probe_file))


if __name__ == "__main__":
    main()
