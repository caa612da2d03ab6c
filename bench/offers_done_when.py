"""The offers issue's done-when, checked against a running server (e.g. the one `make run` leaves).

1. `recsys offers create` (the CLI) pins a product for one segment on one channel, capped 2/7d.
2. Within 10 s, Recommend on that channel for every customer of the dataset: the offer appears
   (with offer_id) for >= 90% of the segment's consenting customers for whom the product is
   suitable, and never for anyone else.
3. One customer gets it twice, the channel reports two impressions; the next answers carry
   no offer (the 7-day window).
4. `recsys offers stats` shows the impressions. The offer is then ended (a re-run starts clean).

    python bench/offers_done_when.py --data var/demo-data [--server localhost:50051]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import numpy as np
import polars as pl

from recsys.columns import Columns as C
from recsys.data.holdings import holdings_at
from recsys.data.load import load_dataset
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc

CHANNEL = "mobile"
TAKES_EFFECT_S = 10.0
OFFER_ID = re.compile(r"off_[0-9a-f]{12}")


def main() -> int:
    args = _parse()
    data = load_dataset(args.data)
    customers, products = data.customers, data.products
    segment = args.segment or customers[C.segment].drop_nulls().mode().sort()[0]
    held = holdings_at(data.events, products, None, sort=False)
    product = args.product or _product(products, held)
    risk = int(products.filter(pl.col(C.product_id) == product)[C.risk_rating][0])
    name = f"done-when {uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    out = _cli(
        args,
        "offers",
        "create",
        "--name",
        name,
        "--product",
        product,
        "--segments",
        segment,
        "--channels",
        CHANNEL,
        "--pin",
        "1",
        "--cap",
        "2/7d",
        "--start",
        (now - timedelta(minutes=1)).isoformat(timespec="seconds"),
        "--end",
        (now + timedelta(days=30)).isoformat(timespec="seconds"),
    )
    print(out.strip())
    [offer_id] = set(OFFER_ID.findall(out))
    stub = pb_grpc.RecommendationServiceStub(grpc.insecure_channel(args.server))
    metadata = [("authorization", f"Bearer {args.api_key}")] if args.api_key else None

    def offered(customer: str) -> tuple[bool, str]:
        reply = stub.Recommend(
            pb.RecommendRequest(customer_id=customer, channel=CHANNEL),
            timeout=10,
            metadata=metadata,
        )
        return any(i.offer_id == offer_id for i in reply.items), reply.request_id

    holders = held.filter(pl.col(C.product_id) == product)[C.customer_id]
    # "for whom it is suitable": the risk rule, and not holding it already (a held account
    # cannot be opened twice); the other hard rules (age, window, channel) pass for this product
    expected = (
        (customers[C.segment] == segment).fill_null(False)
        & customers[C.marketing_consent].fill_null(False)
        & (customers[C.risk_tolerance].fill_null(1) >= risk)
        & ~customers[C.customer_id].is_in(holders.implode())
    ).to_numpy()
    ids = customers[C.customer_id].to_list()
    # a few eligible customers as probes (one may hold the product already)
    probes = iter([ids[i] for i in np.flatnonzero(expected)[-200:]])
    started = time.monotonic()
    probe = next(probes)
    while not offered(probe)[0]:
        if time.monotonic() - started > TAKES_EFFECT_S:
            print(f"MISS: the offer was not served within {TAKES_EFFECT_S} s")
            return 1
        probe = next(probes)
        time.sleep(0.2)
    took = time.monotonic() - started
    shown = np.zeros(len(ids), dtype=bool)
    answered_with_offer: dict[str, str] = {}  # customer -> request id of the answer
    t0 = time.monotonic()
    for i, customer in enumerate(ids):
        if customer != probe:
            shown[i], rid = offered(customer)
            if shown[i]:
                answered_with_offer[customer] = rid
    calls_s = time.monotonic() - t0
    shown[ids.index(probe)] = True
    reach = shown[expected].mean()
    outside = int((shown & ~expected).sum())

    # the cap: a fresh eligible customer, two answers with the offer, two impressions reported
    fresh = next(c for c, e, s in zip(ids, expected, shown, strict=True) if e and s and c != probe)
    shown_again = [offered(fresh) for _ in range(1)]
    request_ids = [rid for got, rid in shown_again if got]
    impressions = [
        pb.Event(
            customer_id=fresh,
            product_id=product,
            type="impression",
            channel=CHANNEL,
            request_id=rid,
            offer_id=offer_id,
        )
        for rid in [*request_ids, f"first-{fresh}"]
    ][:2]
    stub.RecordEvents(pb.RecordEventsRequest(events=impressions), timeout=10, metadata=metadata)
    after = [offered(fresh)[0] for _ in range(3)]
    stats = _cli(args, "offers", "stats", offer_id)
    print(stats.strip())
    impressions_shown = re.search(r"impressions", stats) is not None
    _cli(args, "offers", "end", offer_id)

    rows = [
        ("offer served in every process within", f"{took:.1f} s", took <= TAKES_EFFECT_S),
        (
            f"segment {segment!r}, consenting, suitable: got the offer",
            f"{shown[expected].sum()}/{expected.sum()} = {reach:.1%}",
            reach >= 0.9,
        ),
        ("anyone else got it", str(outside), outside == 0),
        ("after 2 impressions, answers with the offer", f"{sum(after)}/3", not any(after)),
        ("`recsys offers stats` shows impressions", str(impressions_shown), impressions_shown),
    ]
    print(f"\n{len(ids)} Recommend calls in {calls_s:.1f} s ({len(ids) / calls_s:.0f}/s)")
    for what, value, ok in rows:
        print(f"{'PASS' if ok else 'MISS'}  {what}: {value}")
    return 0 if all(ok for *_, ok in rows) else 1


def _product(products: pl.DataFrame, held: pl.DataFrame) -> str:
    """The least held low-risk product on sale today in the channel, open to every adult."""
    today = datetime.now(UTC).date()
    pick = products.filter(
        (pl.col(C.risk_rating) <= 1)
        & ~pl.col(C.repeatable).fill_null(False)
        & (pl.col(C.channels).list.len().eq(0) | pl.col(C.channels).list.contains(CHANNEL))
        & (pl.col(C.min_age).fill_null(0) <= 18)
        & pl.col(C.max_age).is_null()
        & (pl.col(C.active_from).is_null() | (pl.col(C.active_from) <= today))
        & (pl.col(C.active_to).is_null() | (pl.col(C.active_to) >= today))
    )
    if pick.height == 0:
        raise SystemExit("no low-risk product open to every adult on sale today; pass --product")
    holders = held.group_by(C.product_id).len()
    pick = pick.join(holders, on=C.product_id, how="left").with_columns(pl.col("len").fill_null(0))
    return str(pick.sort("len", C.product_id)[C.product_id][0])


def _cli(args: argparse.Namespace, *words: str) -> str:
    command = [str(Path(sys.executable).parent / "recsys"), *words, "--server", args.server]
    if args.api_key:
        command += ["--api-key", args.api_key]
    done = subprocess.run(command, capture_output=True, text=True, env=None)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(words[:2])} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=Path("var/demo-data"), help="the served bank")
    p.add_argument("--server", default="localhost:50051")
    p.add_argument("--api-key", default=None)
    p.add_argument("--segment", default=None, help="default: the largest segment")
    p.add_argument("--product", default=None, help="default: a low-risk product")
    return p.parse_args()


if __name__ == "__main__":
    sys.exit(main())
