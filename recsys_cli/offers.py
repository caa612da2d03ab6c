"""`recsys offers`: create, change, pause, resume, end, list, show and measure marketing offers.

A gRPC client of the server's OfferManager (`--server`, RECSYS_SERVER); changes are recorded
as made by `--actor` (default $USER).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import grpc
import typer
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.json_format import MessageToJson
from rich.markup import escape

from recsys_cli import offers_print as show_
from recsys_cli.console import console, err_console
from recsys_cli.grpc_client import DEFAULT_SERVER as DEFAULT
from recsys_cli.grpc_client import (
    EXIT_USAGE,
    TIMEOUT_S,
    ActorOpt,
    ApiKeyOpt,
    Server,
    ServerOpt,
    TlsCaOpt,
    TlsCertOpt,
    TlsKeyOpt,
    channel,
    fail,
    tls_credentials,
)
from recsys_cli.offers_spec import HINTS, SpecError, load_file, to_offer
from serving._proto.recsys.v1 import offers_pb2 as pb
from serving._proto.recsys.v1 import offers_pb2_grpc as pb_grpc

T = TypeVar("T")
app = typer.Typer(no_args_is_help=True, help="Marketing offers: create, change, list, measure.")


@app.callback()
def _tls(
    ctx: typer.Context,
    tls_ca: TlsCaOpt = None,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
) -> None:
    """Marketing offers: create, change, list, measure (TLS options apply to every command)."""
    ctx.obj = tls_credentials(tls_ca, tls_cert, tls_key)  # read back by grpc_client.channel


Ref = Annotated[str, typer.Argument(help="offer id or name")]
Json = Annotated[bool, typer.Option("--json", help="print the server's answer as JSON")]


def _call(
    server: Server, method: Callable[[pb_grpc.OfferServiceStub], Callable[..., T]], request: Any
) -> T:
    """One OfferManager call; a failed call prints the server's message and exits."""
    with channel(server) as ch:
        try:
            return method(pb_grpc.OfferServiceStub(ch))(
                request, timeout=TIMEOUT_S, metadata=server.metadata()
            )
        except grpc.RpcError as exc:
            fail(exc, server, HINTS)


def _spec(from_file: Path | None, options: dict[str, Any]) -> tuple[pb.Offer, list[str]]:
    """The offer message and mask paths of the options over the file's values."""
    try:
        spec = load_file(from_file) if from_file is not None else {}
        spec.update({k: v for k, v in options.items() if v is not None})
        return to_offer(spec)
    except SpecError as exc:
        for error in exc.each:
            err_console.print(f"[red]error:[/] {escape(str(error))}")
        raise typer.Exit(EXIT_USAGE) from exc


def _changed(verb: str, out: pb.OfferChange) -> None:
    o = out.offer
    console.print(
        f"{verb} offer [bold]{o.id}[/] ({escape(o.name)}): {show_.status_name(o.status)}, "
        f"revision {o.revision}"
    )
    show_.print_warnings(list(out.warnings))


@app.command("create")
def create(  # noqa: PLR0913 - one option per offer field
    name: Annotated[str | None, typer.Option(help="unique offer name")] = None,
    product: Annotated[str | None, typer.Option(help="product id")] = None,
    start: Annotated[str | None, typer.Option(help="ISO date/time (no offset = UTC)")] = None,
    end: Annotated[str | None, typer.Option(help="ISO date/time (no offset = UTC)")] = None,
    boost: Annotated[float | None, typer.Option(help="score factor > 1")] = None,
    pin: Annotated[int | None, typer.Option(help="1-based slot position")] = None,
    segments: Annotated[str | None, typer.Option(help="comma-separated")] = None,
    channels: Annotated[str | None, typer.Option(help="comma-separated (default: all)")] = None,
    age_min: Annotated[int | None, typer.Option()] = None,
    age_max: Annotated[int | None, typer.Option()] = None,
    income_bands: Annotated[str | None, typer.Option(help="comma-separated")] = None,
    regions: Annotated[str | None, typer.Option(help="comma-separated")] = None,
    min_risk_tolerance: Annotated[int | None, typer.Option(help="1-5")] = None,
    customers_file: Annotated[
        Path | None, typer.Option(help="one customer id per line, or CSV with customer_id")
    ] = None,
    cap: Annotated[str | None, typer.Option(help="per customer: N/Dd, e.g. 2/7d")] = None,
    volume_cap: Annotated[int | None, typer.Option(help="total impressions/purchases")] = None,
    volume_event: Annotated[str | None, typer.Option(help="impression or purchase")] = None,
    max_share: Annotated[
        float | None, typer.Option(help="share (0,1] of a channel's slots")
    ] = None,
    priority: Annotated[int | None, typer.Option(help="higher wins a contested slot")] = None,
    draft: Annotated[bool, typer.Option("--draft", help="create as draft (not served)")] = False,
    from_file: Annotated[
        Path | None, typer.Option(help="offer YAML (keys = these options); options win")
    ] = None,
    server: ServerOpt = DEFAULT,
    api_key: ApiKeyOpt = None,
    actor: ActorOpt = "",
) -> None:
    """Create an offer (active at once unless --draft) and print its id and any warnings."""
    options = dict(locals())  # the offer options are named as the spec keys (offers_spec)
    conn = Server(options.pop("server"), options.pop("api_key"), options.pop("actor"))
    from_file = options.pop("from_file")
    options["draft"] = draft or None  # the file may say `draft: true`
    offer, _ = _spec(from_file, options)
    if offer.status == pb.OFFER_STATUS_UNSPECIFIED:
        offer.status = pb.OFFER_STATUS_ACTIVE
    out = _call(conn, lambda s: s.CreateOffer, pb.CreateOfferRequest(offer=offer))
    _changed("created", out)


@app.command("update")
def update(  # noqa: PLR0913 - one option per offer field
    ref: Ref,
    name: Annotated[str | None, typer.Option(help="unique offer name")] = None,
    product: Annotated[str | None, typer.Option(help="product id")] = None,
    start: Annotated[str | None, typer.Option(help="ISO date/time (no offset = UTC)")] = None,
    end: Annotated[str | None, typer.Option(help="ISO date/time (no offset = UTC)")] = None,
    boost: Annotated[float | None, typer.Option(help="score factor > 1")] = None,
    pin: Annotated[int | None, typer.Option(help="1-based slot position")] = None,
    segments: Annotated[str | None, typer.Option(help="comma-separated ('' = any)")] = None,
    channels: Annotated[str | None, typer.Option(help="comma-separated ('' = all)")] = None,
    age_min: Annotated[int | None, typer.Option()] = None,
    age_max: Annotated[int | None, typer.Option()] = None,
    income_bands: Annotated[str | None, typer.Option(help="comma-separated")] = None,
    regions: Annotated[str | None, typer.Option(help="comma-separated")] = None,
    min_risk_tolerance: Annotated[int | None, typer.Option(help="1-5")] = None,
    customers_file: Annotated[Path | None, typer.Option(help="replaces the list")] = None,
    cap: Annotated[str | None, typer.Option(help="N/Dd, or 'none' to remove")] = None,
    volume_cap: Annotated[int | None, typer.Option()] = None,
    volume_event: Annotated[str | None, typer.Option(help="impression or purchase")] = None,
    max_share: Annotated[float | None, typer.Option()] = None,
    priority: Annotated[int | None, typer.Option()] = None,
    from_file: Annotated[Path | None, typer.Option(help="offer YAML; options win")] = None,
    server: ServerOpt = DEFAULT,
    api_key: ApiKeyOpt = None,
    actor: ActorOpt = "",
) -> None:
    """Change the given fields of an offer (the others stay) and print any warnings."""
    options = dict(locals())  # the offer options are named as the spec keys (offers_spec)
    conn = Server(options.pop("server"), options.pop("api_key"), options.pop("actor"))
    ref, from_file = options.pop("ref"), options.pop("from_file")
    offer, paths = _spec(from_file, options)
    if not paths:
        err_console.print("[red]error:[/] nothing to change: give at least one option")
        raise typer.Exit(EXIT_USAGE)
    request = pb.UpdateOfferRequest(offer_ref=ref, offer=offer, update_mask=FieldMask(paths=paths))
    _changed("updated", _call(conn, lambda s: s.UpdateOffer, request))


@app.command("list")
def list_(
    status: Annotated[
        list[str] | None, typer.Option(help="only this status (repeatable): draft, active...")
    ] = None,
    as_json: Json = False,
    server: ServerOpt = DEFAULT,
    api_key: ApiKeyOpt = None,
) -> None:
    """Every offer, newest first."""
    wanted = {v: k for k, v in show_.STATUS_NAMES.items()}
    unknown = [s for s in status or [] if s not in wanted]
    if unknown:
        err_console.print(f"[red]error:[/] --status: unknown {unknown}; known: {list(wanted)}")
        raise typer.Exit(EXIT_USAGE)
    request = pb.ListOffersRequest(statuses=[wanted[s] for s in status or []])
    out = _call(Server(server, api_key), lambda s: s.ListOffers, request)
    if as_json:
        console.print_json(MessageToJson(out))
        return
    show_.print_offers(list(out.offers))


@app.command("show")
def show(
    ref: Ref, as_json: Json = False, server: ServerOpt = DEFAULT, api_key: ApiKeyOpt = None
) -> None:
    """One offer with its audit history."""
    request = pb.GetOfferRequest(offer_ref=ref, include_history=True)
    out = _call(Server(server, api_key), lambda s: s.GetOffer, request)
    if as_json:
        console.print_json(MessageToJson(out))
        return
    show_.print_offer(out.offer)
    show_.print_history(list(out.history))


@app.command("stats")
def stats(
    ref: Ref, as_json: Json = False, server: ServerOpt = DEFAULT, api_key: ApiKeyOpt = None
) -> None:
    """Served slots, impressions, clicks, purchases, CTR and conversion per channel."""
    out = _call(
        Server(server, api_key), lambda s: s.GetOfferStats, pb.GetOfferStatsRequest(offer_ref=ref)
    )
    if as_json:
        console.print_json(MessageToJson(out))
        return
    show_.print_stats(out)


def _move(verb: str, method: Callable[[pb_grpc.OfferServiceStub], Callable[..., Any]]) -> Any:
    def command(
        ref: Ref, server: ServerOpt = DEFAULT, api_key: ApiKeyOpt = None, actor: ActorOpt = ""
    ) -> None:
        out = _call(Server(server, api_key, actor), method, pb.OfferStatusRequest(offer_ref=ref))
        _changed(verb, out)

    return command


app.command("pause", help="Stop serving an active offer until it is resumed.")(
    _move("paused", lambda s: s.PauseOffer)
)
app.command("resume", help="Serve a paused offer again, or activate a draft.")(
    _move("resumed", lambda s: s.ResumeOffer)
)
app.command("end", help="End an offer for good.")(_move("ended", lambda s: s.EndOffer))
