"""`recsys experiments`: create, list, show, stop, report and conclude online experiments.

A gRPC client of the server's ExperimentService (`--server`, RECSYS_SERVER); changes are
recorded as made by `--actor` (default $USER). The admin role manages, marketing reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import grpc
import typer
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.timestamp_pb2 import Timestamp
from rich.markup import escape

from recsys_cli import experiments_print as show_
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
from serving._proto.recsys.v1 import experiments_pb2 as pb
from serving._proto.recsys.v1 import experiments_pb2_grpc as pb_grpc

T = TypeVar("T")
app = typer.Typer(no_args_is_help=True, help="Online experiments: champion, challenger, control.")
Ref = Annotated[str, typer.Argument(help="experiment id or name")]
Json = Annotated[bool, typer.Option("--json", help="print the server's answer as JSON")]


@app.callback()
def _tls(
    ctx: typer.Context,
    tls_ca: TlsCaOpt = None,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
) -> None:
    """Online experiments (TLS options apply to every command)."""
    ctx.obj = tls_credentials(tls_ca, tls_cert, tls_key)  # read back by grpc_client.channel


def _call(
    server: Server,
    method: Callable[[pb_grpc.ExperimentServiceStub], Callable[..., T]],
    request: Any,
) -> T:
    """One ExperimentService call; a failed call prints the server's message and exits."""
    with channel(server) as ch:
        try:
            return method(pb_grpc.ExperimentServiceStub(ch))(
                request, timeout=TIMEOUT_S, metadata=server.metadata()
            )
        except grpc.RpcError as exc:
            fail(exc, server)


def as_dict(message: Any) -> dict[str, Any]:
    """A message as the JSON the CLI prints (proto field names, zero values included, 64-bit
    counts as numbers: protobuf's JSON writes them as strings)."""
    doc = MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return _numbers(message.DESCRIPTOR, doc)


_INT64 = frozenset(
    {FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_SINT64}
)


def _numbers(descriptor: Any, doc: dict[str, Any]) -> dict[str, Any]:
    for field in descriptor.fields:
        if field.name not in doc:
            continue
        value = doc[field.name]
        many = isinstance(value, list)
        values = value if many else [value]
        if field.type in _INT64:
            values = [int(v) for v in values]
        elif field.message_type is not None and field.message_type.fields:
            values = [_numbers(field.message_type, v) if isinstance(v, dict) else v for v in values]
        doc[field.name] = values if many else values[0]
    return doc


def _echo_json(message: Any) -> None:
    typer.echo(json.dumps(as_dict(message), indent=2))


def _usage(problems: list[str]) -> None:
    for p in problems:
        err_console.print(f"[red]error:[/] {escape(p)}", soft_wrap=True)
    raise typer.Exit(EXIT_USAGE)


def _moment(text: str | None, name: str, problems: list[str]) -> Timestamp | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"--{name}: {text!r} is not an ISO date/time")
        return None
    stamp = Timestamp()
    stamp.FromDatetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return stamp


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="unique experiment name")],
    arm: Annotated[
        list[str],
        typer.Option(
            "--arm",
            help="ARM=SHARE, repeated: champion, challenger, control "
            "(e.g. --arm champion=45 --arm challenger=45 --arm control=10)",
        ),
    ],
    channels: Annotated[str | None, typer.Option(help="comma-separated (default: all)")] = None,
    start: Annotated[str | None, typer.Option(help="ISO date/time (default now; UTC)")] = None,
    end: Annotated[str | None, typer.Option(help="ISO date/time (default start + 30 days)")] = None,
    challenger: Annotated[
        str, typer.Option("--challenger", help="the challenger arm's alias or version number")
    ] = "challenger",
    control_policy: Annotated[
        str, typer.Option("--control-policy", help="the control arm: popularity (within rules)")
    ] = "popularity",
    attribution_days: Annotated[
        float,
        typer.Option(
            "--attribution-days", help="purchases count this long after a product was shown"
        ),
    ] = 14.0,
    as_json: Json = False,
    server: ServerOpt = DEFAULT,
    api_key: ApiKeyOpt = None,
    actor: ActorOpt = "",
) -> None:
    """Start an experiment: each customer of its channels gets one arm, sticky."""
    from recsys.experiments.model import parse_arm

    problems: list[str] = []
    arms = []
    for text in arm:
        try:
            parsed = parse_arm(text)
        except ValueError as exc:
            problems.append(f"--arm: {exc}")
            continue
        arms.append(pb.ArmShare(name=parsed.name, share=parsed.share))
    request = pb.CreateExperimentRequest(
        name=name,
        arms=arms,
        challenger=challenger,
        control_policy=control_policy,
        attribution_days=attribution_days,
        channels=[c.strip() for c in (channels or "").split(",") if c.strip()],
    )
    for label, text in (("start", start), ("end", end)):
        stamp = _moment(text, label, problems)
        if stamp is not None:
            getattr(request, f"{label}_at").CopyFrom(stamp)
    if problems:
        _usage(problems)
    out = _call(Server(server, api_key, actor), lambda s: s.Create, request)
    if as_json:
        _echo_json(out)
        return
    console.print(f"created experiment [bold]{out.id}[/] ({escape(out.name)})")
    show_.print_experiment(out)


@app.command("list")
def list_(
    status: Annotated[
        list[str] | None, typer.Option("--status", help="running, stopped or concluded")
    ] = None,
    as_json: Json = False,
    server: ServerOpt = DEFAULT,
    api_key: ApiKeyOpt = None,
) -> None:
    """The experiments, newest first."""
    out = _call(
        Server(server, api_key), lambda s: s.List, pb.ListExperimentsRequest(statuses=status or [])
    )
    if as_json:
        _echo_json(out)
        return
    show_.print_list(list(out.experiments))


@app.command("show")
def show(
    ref: Ref, as_json: Json = False, server: ServerOpt = DEFAULT, api_key: ApiKeyOpt = None
) -> None:
    """One experiment and its audit trail."""
    out = _call(Server(server, api_key), lambda s: s.Get, pb.ExperimentRef(experiment_ref=ref))
    if as_json:
        _echo_json(out)
        return
    show_.print_experiment(out.experiment)
    show_.print_history(list(out.history))


@app.command("stop")
def stop(
    ref: Ref,
    as_json: Json = False,
    server: ServerOpt = DEFAULT,
    api_key: ApiKeyOpt = None,
    actor: ActorOpt = "",
) -> None:
    """Stop assigning customers; the report stays readable."""
    out = _call(
        Server(server, api_key, actor), lambda s: s.Stop, pb.ExperimentRef(experiment_ref=ref)
    )
    if as_json:
        _echo_json(out)
        return
    console.print(f"stopped experiment [bold]{out.id}[/] ({escape(out.name)})")


@app.command("report")
def report(
    ref: Ref,
    as_json: Json = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="write the cumulative purchase rate per arm (with its 95% band) to this PNG",
        ),
    ] = None,
    server: ServerOpt = DEFAULT,
    api_key: ApiKeyOpt = None,
) -> None:
    """Per arm: assigned, exposed, CTR, purchases; lift against the champion; SRM; guardrails."""
    out = _call(Server(server, api_key), lambda s: s.Report, pb.ExperimentRef(experiment_ref=ref))
    if plot is not None:
        show_.plot_report(out, plot)
    if as_json:
        _echo_json(out)
        return
    show_.print_report(out)
    if plot is not None:
        console.print(f"plot written to {escape(str(plot))}")


@app.command("conclude")
def conclude(
    ref: Ref,
    promote: Annotated[
        str | None,
        typer.Option(
            "--promote", help="challenger: make it the champion (only when the report allows it)"
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="promote although the report does not allow it (audited)"),
    ] = False,
    note: Annotated[str, typer.Option("--note", help="why, for the audit")] = "",
    as_json: Json = False,
    server: ServerOpt = DEFAULT,
    api_key: ApiKeyOpt = None,
    actor: ActorOpt = "",
) -> None:
    """End the experiment; with --promote challenger move the champion alias to it."""
    if force and not promote:
        _usage(["--force: only with --promote challenger"])
    request = pb.ConcludeExperimentRequest(
        experiment_ref=ref, promote=promote or "", force=force, note=note
    )
    out = _call(Server(server, api_key, actor), lambda s: s.Conclude, request)
    if as_json:
        _echo_json(out)
        return
    e = out.experiment
    console.print(
        f"concluded experiment [bold]{e.id}[/] ({escape(e.name)}): "
        f"{escape(e.concluded)}; champion is version {out.champion_version}"
    )
    for reason in out.reasons:
        err_console.print(f"[yellow]forced despite:[/] {escape(reason)}", soft_wrap=True)
