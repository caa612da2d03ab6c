"""The gRPC edge of `recsys simulate`: Recommend per visit, RecordEvents in batches, summary.

Events wait in a batch until it is full, except that a customer's pending events are sent
before that customer's next visit: the server must know about a purchase before it answers
the buyer again. Each event is stamped with this machine's clock at its visit, plus its rank
in the visit in microseconds, so an impression comes before its click and the click before
the purchase.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import typer
from google.protobuf.timestamp_pb2 import Timestamp
from rich.markup import escape
from rich.table import Table

from recsys.simulate.bank import SimEvent, SimulatedBank, UnknownShownProduct
from recsys.simulate.tally import Tally
from recsys.simulate.visits import Visits
from recsys_cli.console import console, err_console, progress
from recsys_cli.grpc_client import EXIT_SERVER, TIMEOUT_S, Server, fail
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as pb_grpc


@dataclass(frozen=True)
class Outcome:
    """What the simulation did: the tally by arm, events sent, and the wall time it took."""

    tally: Tally
    events: int
    seconds: float

    @property
    def visits_per_s(self) -> float:
        """Visits played per second of wall time."""
        return self.tally.total().visits / self.seconds if self.seconds > 0 else 0.0


class _Sender:
    """RecordEvents in batches; remembers whose events are still waiting."""

    def __init__(self, stub: pb_grpc.RecommendationServiceStub, server: Server,
                 batch: int) -> None:
        self.stub, self.server, self.batch = stub, server, batch
        self.pending: list[pb.Event] = []
        self.waiting: set[str] = set()
        self.sent = 0

    def add(self, events: tuple[SimEvent, ...], micros: int) -> None:
        for e in events:
            stamp = Timestamp()
            stamp.FromMicroseconds(micros + e.order)
            self.pending.append(pb.Event(
                customer_id=e.customer_id, product_id=e.product_id, type=e.type,
                channel=e.channel, request_id=e.request_id, timestamp=stamp,
            ))
            self.waiting.add(e.customer_id)
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        request = pb.RecordEventsRequest(events=self.pending)
        try:
            reply = self.stub.RecordEvents(
                request, timeout=TIMEOUT_S, metadata=self.server.metadata()
            )
        except grpc.RpcError as exc:
            fail(exc, self.server)
        self.sent += reply.accepted
        self.pending, self.waiting = [], set()


def run_simulation(server: Server, credentials: grpc.ChannelCredentials | None,
                   bank: SimulatedBank, visits: Visits, *, batch: int) -> Outcome:
    """Play `visits` against the server; every event is stored before this returns."""
    if credentials is None:
        opened = grpc.insecure_channel(server.target)
    else:
        opened = grpc.secure_channel(server.target, credentials)
    tally = Tally()
    started = time.perf_counter()
    with opened as ch, progress() as bar:
        stub = pb_grpc.RecommendationServiceStub(ch)
        sender = _Sender(stub, server, batch)
        task = bar.add_task("simulating visits", total=len(visits))
        for i in range(len(visits)):
            _visit(stub, server, sender, bank, visits, i, tally)
            bar.advance(task)
        sender.flush()
    return Outcome(tally, sender.sent, time.perf_counter() - started)


def _visit(stub: pb_grpc.RecommendationServiceStub, server: Server, sender: _Sender,
           bank: SimulatedBank, visits: Visits, i: int, tally: Tally) -> None:
    customer = int(visits.customer[i])
    customer_id = str(bank.ids[customer])
    channel = str(visits.channel[i])
    if customer_id in sender.waiting:  # the server must see the last visit's purchases
        sender.flush()
    request = pb.RecommendRequest(customer_id=customer_id, channel=channel)
    try:
        response = stub.Recommend(request, timeout=TIMEOUT_S, metadata=server.metadata())
    except grpc.RpcError as exc:
        fail(exc, server)
    shown = [item.product_id for item in response.items]
    try:
        outcome = bank.visit(customer, channel, int(visits.at_us[i]), shown, response.request_id)
    except UnknownShownProduct as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_SERVER) from exc
    micros = int(datetime.now(UTC).timestamp() * 1_000_000)
    sender.add(outcome.events, micros)
    # `arm` arrives with experiments; a server without them answers for no arm
    arm = getattr(response, "arm", "")
    value = sum(bank.value_of.get(p, 0.0) for p in outcome.bought)
    tally.add(arm, response.model_version, customer_id, len(shown), len(outcome.clicked),
              len(outcome.bought), value, tuple(outcome.bought))


def print_summary(outcome: Outcome, *, as_json: bool) -> None:
    """The tally per arm as a table (or JSON on stdout), with visits per second."""
    rows = outcome.tally.rows()
    if as_json:
        doc = {"arms": rows, "events": outcome.events, "seconds": outcome.seconds,
               "visits_per_s": outcome.visits_per_s}
        typer.echo(json.dumps(doc))
        return
    table = Table(title="simulated visits")
    for col in ("arm", "model", "visits", "customers", "shown", "clicks", "CTR", "bought",
                "bought/cust"):
        table.add_column(col, justify="left" if col in ("arm", "model") else "right")
    for r in rows:
        table.add_row(
            str(r["arm"]), ", ".join(r["model_versions"]), f"{r['visits']:,}",
            f"{r['customers']:,}", f"{r['impressions']:,}", f"{r['clicks']:,}",
            f"{r['ctr']:.2%}", f"{r['purchases']:,}", f"{r['purchase_rate']:.4f}",
        )
    console.print(table)
    console.print(
        f"{outcome.events:,} events recorded; {outcome.tally.total().visits:,} visits in "
        f"{outcome.seconds:.1f} s ({outcome.visits_per_s:.0f} visits/s)"
    )
