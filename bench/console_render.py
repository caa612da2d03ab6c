"""How long the console takes to answer each page with 50 offers and 20,000 customers.

A real `recsys serve` (auth on) holds a popularity champion trained on a generated bank of
--customers; 50 active offers carry 14 days of reported impressions and clicks; one customer
has 50 logged decisions. A real `recsys console` calls that server. Each page is asked for
--requests times after two warm-ups, signed in as admin, over HTTP on localhost: the time is
the console's whole answer, its gRPC calls included. Target: under 300 ms a page.

A champion/control experiment on the branch channel has every customer visit once (batches
of RecommendBatch), an impression of the first product shown to each and a purchase by every
eighth: the experiment page's report is made by the server from those decisions and events.

    python bench/console_render.py [--customers 20000] [--offers 50] [--requests 20] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import grpc  # noqa: E402
import tables  # noqa: E402
from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

from recsys.columns import Columns as C  # noqa: E402
from recsys.data.generate import generate  # noqa: E402
from recsys.data.write import write_dataset  # noqa: E402
from recsys.settings import Settings  # noqa: E402
from recsys.stores.sql_keys import open_key_store  # noqa: E402
from serving._proto.recsys.v1 import experiments_pb2 as xpb  # noqa: E402
from serving._proto.recsys.v1 import (
    experiments_pb2_grpc,  # noqa: E402
    offers_pb2_grpc,  # noqa: E402
    recommendation_pb2_grpc,  # noqa: E402
)
from serving._proto.recsys.v1 import offers_pb2 as opb  # noqa: E402
from serving._proto.recsys.v1 import recommendation_pb2 as rpb  # noqa: E402
from training.config import TrainConfig  # noqa: E402
from training.pipeline import run_training  # noqa: E402
from training.tracking import configure_mlflow  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 300.0
DAYS = 14
BATCH = 500  # customers a RecommendBatch of the experiment's visits
EXPERIMENT_CHANNEL = "branch"  # the offers' events are on mobile and web
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--customers", type=int, default=20_000)
    p.add_argument("--offers", type=int, default=50)
    p.add_argument("--requests", type=int, default=20)
    p.add_argument("--keep", type=Path, help="work in this folder and keep it (to profile)")
    args = p.parse_args()
    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            base = args.keep
        else:
            base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="console-bench-")))
        settings, data = train(base, args.customers)
        keys = make_keys(settings)
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": settings.resolved_tracking_uri,
            "RECSYS_DATABASE_URL": settings.resolved_database_url,
            "RECSYS_HOME": str(settings.home),
            "RECSYS_AUTH_REQUIRED": "true",
            "RECSYS_EXPERIMENT_REFRESH_SECONDS": "0.5",
        }
        grpc_port, http_port = free_port(), free_port()
        procs = [start(["serve", "--port", str(grpc_port), "--metrics-port", "0"], env, base)]
        try:
            channel = serving(f"127.0.0.1:{grpc_port}", procs[0])
            offer_ids, customer, product = fill(channel, keys, data, args.offers)
            experiment = run_experiment(channel, keys, data)
            console = ["console", "--port", str(http_port), "--server", f"127.0.0.1:{grpc_port}"]
            procs.append(start(console, env, base))
            url = f"http://127.0.0.1:{http_port}/"
            about = (offer_ids[0], customer, product, experiment)
            measure(signed_in(url, keys["admin"]), url, about, args)
        except BaseException:
            for name in ("serve", "console"):  # the temporary folder goes: say what they said
                if (base / f"{name}.log").exists():
                    print(f"--- {name}.log ---\n{(base / f'{name}.log').read_text()[-4000:]}")
            raise
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
    return 0


def train(base: Path, customers: int) -> tuple[Settings, Path]:
    """A generated bank and its popularity champion, registered under `base`."""
    tables.say(f"generating {customers:,} customers and training the popularity champion...")
    data = write_dataset(generate(customers, seed=7), base / "bank", fmt="parquet")
    settings = Settings(home=base / "home", mlflow_tracking_uri=None, database_url=None)
    configure_mlflow(settings)
    config = TrainConfig.model_validate({"model": {"family": "popularity"}})
    run_training(data, config, settings, register=True, promote=True)
    return settings, data


def make_keys(settings: Settings) -> dict[str, str]:
    store = open_key_store(settings.resolved_database_url)
    try:
        return {r: store.create(f"bench-{r}", r)[1] for r in ("channel", "marketing", "admin")}
    finally:
        store.close()


def start(command: list[str], env: dict[str, str], base: Path) -> subprocess.Popen:
    log = (base / f"{command[0]}.log").open("w")
    argv = [sys.executable, "-m", "recsys_cli.main", *command]
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def serving(target: str, proc: subprocess.Popen) -> grpc.Channel:
    channel = grpc.insecure_channel(target)
    health = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest(service="recsys.v1.RecommendationService")
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"recsys serve exited with {proc.returncode}")
        try:
            if health.Check(request, timeout=2).status == health_pb2.HealthCheckResponse.SERVING:
                return channel
        except grpc.RpcError:
            pass
        time.sleep(0.5)
    raise SystemExit("recsys serve was not SERVING within 5 minutes")


def fill(
    channel: grpc.Channel, keys: dict[str, str], data: Path, n: int
) -> tuple[list[str], str, str]:
    """n active offers with DAYS days of impressions and clicks; one customer's decisions."""
    import polars as pl

    products = pl.read_parquet(data / "products.parquet")[C.product_id].to_list()
    customers = pl.read_parquet(data / "customers.parquet")[C.customer_id].to_list()
    offers = offers_pb2_grpc.OfferServiceStub(channel)
    recommend = recommendation_pb2_grpc.RecommendationServiceStub(channel)
    marketing = (("authorization", f"Bearer {keys['marketing']}"),)
    app = (("authorization", f"Bearer {keys['channel']}"),)
    now = datetime.now(UTC)
    ids = []
    tables.say(f"creating {n} offers with {DAYS} days of events...")
    for i in range(n):
        offer = opb.Offer(
            name=f"bench-{i:03d}",
            product_id=products[i % len(products)],
            channels=["mobile", "web"],
            pin=1,
            status=opb.OFFER_STATUS_ACTIVE,
            cap=opb.FrequencyCap(impressions=3, days=7),
            volume_cap=100_000,
        )
        offer.start_time.CopyFrom(stamp(now - timedelta(days=DAYS)))
        offer.end_time.CopyFrom(stamp(now + timedelta(days=30)))
        made = offers.CreateOffer(
            opb.CreateOfferRequest(offer=offer), metadata=marketing, timeout=60
        )
        ids.append(made.offer.id)
        events = [
            rpb.Event(
                customer_id=customers[(i * 97 + j) % len(customers)],
                product_id=offer.product_id,
                type="click" if j % 10 == 0 else "impression",
                channel="mobile" if j % 2 else "web",
                offer_id=made.offer.id,
                timestamp=stamp(now - timedelta(days=j % DAYS, minutes=j)),
            )
            for j in range(400)
        ]
        recommend.RecordEvents(rpb.RecordEventsRequest(events=events), metadata=app, timeout=60)
    for _ in range(50):
        ask = rpb.RecommendRequest(customer_id=customers[0], channel="mobile")
        recommend.Recommend(ask, metadata=app, timeout=30)
    time.sleep(2)  # the decision log writes from its queue
    return ids, customers[0], products[0]


def run_experiment(channel: grpc.Channel, keys: dict[str, str], data: Path) -> str:
    """A champion/control experiment every customer visits once; its id once all are logged."""
    import polars as pl

    customers = pl.read_parquet(data / "customers.parquet")[C.customer_id].to_list()
    admin = (("authorization", f"Bearer {keys['admin']}"),)
    app = (("authorization", f"Bearer {keys['channel']}"),)
    experiments = experiments_pb2_grpc.ExperimentServiceStub(channel)
    recommend = recommendation_pb2_grpc.RecommendationServiceStub(channel)
    arms = [xpb.ArmShare(name="champion", share=1), xpb.ArmShare(name="control", share=1)]
    made = experiments.Create(
        xpb.CreateExperimentRequest(name="bench", arms=arms, channels=[EXPERIMENT_CHANNEL]),
        metadata=admin,
        timeout=30,
    )
    time.sleep(2)  # every server process re-reads the running experiments each 0.5 s
    tables.say(f"{len(customers):,} customers visit experiment {made.id}...")
    for start in range(0, len(customers), BATCH):
        ask = rpb.RecommendBatchRequest(
            customer_ids=customers[start : start + BATCH], channel=EXPERIMENT_CHANNEL
        )
        answers = recommend.RecommendBatch(ask, metadata=app, timeout=120).results
        events = []
        for i, answer in enumerate(answers):
            if not answer.items:
                continue
            shown = {"customer_id": answer.customer_id, "product_id": answer.items[0].product_id}
            shown["channel"] = EXPERIMENT_CHANNEL
            events.append(rpb.Event(type="impression", request_id=answer.request_id, **shown))
            if (start + i) % 8 == 0:
                events.append(rpb.Event(type="purchase", **shown))
        recommend.RecordEvents(rpb.RecordEventsRequest(events=events), metadata=app, timeout=120)
    ref = xpb.ExperimentRef(experiment_ref=made.id)
    for _ in range(240):  # the decision log writes from its queue
        report = experiments.Report(ref, metadata=admin, timeout=120)
        assigned = sum(a.assigned for a in report.arms)
        if assigned >= len(customers):
            break
        time.sleep(0.5)
    tables.say(f"the report counts {assigned:,} customers assigned")
    return made.id


def signed_in(url: str, key: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    for _ in range(120):
        try:
            page = opener.open(url + "sign-in", timeout=5).read().decode()
            break
        except OSError:
            time.sleep(0.5)
    else:
        raise SystemExit("recsys console did not answer within a minute")
    form = {"csrf_token": CSRF.search(page).group(1), "api_key": key, "next": ""}
    reply = opener.open(url + "sign-in", data=urllib.parse.urlencode(form).encode(), timeout=30)
    if "Sign out" not in reply.read().decode():
        raise SystemExit("could not sign in to the console")
    return opener


def measure(
    opener: urllib.request.OpenerDirector,
    url: str,
    about: tuple[str, str, str, str],
    args: argparse.Namespace,
) -> None:
    """Every page's answer times, side by side, against the target."""
    offer_id, customer, product, experiment = about
    token = CSRF.search(opener.open(url + "offers/new", timeout=30).read().decode()).group(1)
    preview = {
        "csrf_token": token, "name": "what-if", "product_id": product, "action": "pin",
        "pin": "1", "start_time": "2026-01-01T00:00", "end_time": "2030-01-01T00:00",
    }  # fmt: skip
    pages = [
        ("offers list", "offers", None),
        ("new offer form", "offers/new", None),
        ("offer page (stats, charts, history)", f"offers/{offer_id}", None),
        ("reach preview (POST)", "offers/preview", preview),
        ("why was this shown (50 decisions)", f"customers?customer_id={customer}", None),
        ("models", "models", None),
        ("experiments list", "experiments", None),
        ("experiment report (every customer assigned)", f"experiments/{experiment}", None),
        ("conclude confirmation", f"experiments/{experiment}/conclude", None),
    ]
    rows, worst = [], 0.0
    for label, path, form in pages:
        times = [time_page(opener, url + path, form) for _ in range(args.requests + 2)][2:]
        median, p95 = statistics.median(times), sorted(times)[int(0.95 * (len(times) - 1))]
        worst = max(worst, p95)
        rows.append([label, f"{median:.0f}", f"{p95:.0f}", f"{max(times):.0f}"])
    tables.print_table(
        f"console answer time per page, ms ({args.offers} offers, {args.customers:,} customers, "
        f"{args.requests} requests each, signed in as admin)",
        ["page", "median", "p95", "max"],
        rows,
    )
    tables.print_checks("target", [("slowest page's p95", worst, TARGET_MS, " ms", False)])


def time_page(opener: urllib.request.OpenerDirector, url: str, form: dict | None) -> float:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    start = time.perf_counter()
    with opener.open(url, data=data, timeout=60) as reply:
        reply.read()
        if reply.status != 200:
            raise SystemExit(f"{url}: HTTP {reply.status}")
    return 1000 * (time.perf_counter() - start)


def stamp(moment: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(moment)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
