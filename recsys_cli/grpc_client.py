"""What every CLI command that talks to `recsys serve` shares: the channel, call metadata, errors.

Options: `--server` (RECSYS_SERVER, default localhost:50051), `--api-key` (RECSYS_API_KEY,
sent as `authorization: Bearer <key>`), `--actor` (who makes a change, default $USER, sent
as `x-actor`), and TLS: `--tls-ca` (RECSYS_TLS_CA) turns TLS on, `--tls-cert`/`--tls-key`
(RECSYS_TLS_CERT, RECSYS_TLS_KEY) add a client certificate for mutual TLS.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, NoReturn

import click
import grpc
import typer
from rich.markup import escape

from recsys_cli.console import err_console

DEFAULT_SERVER: Final = "localhost:50051"
TIMEOUT_S: Final = 30.0
# exit 2: the request was wrong (fix the command); exit 1: the server could not answer
USAGE_CODES: Final = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
    }
)
EXIT_USAGE: Final = 2
EXIT_SERVER: Final = 1

ServerOpt = Annotated[
    str, typer.Option("--server", envvar="RECSYS_SERVER", help="server host:port")
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option("--api-key", envvar="RECSYS_API_KEY", help="API key (sent as a Bearer token)"),
]


TlsCaOpt = Annotated[
    Path | None,
    typer.Option(
        "--tls-ca", envvar="RECSYS_TLS_CA", help="CA certificate (PEM) to trust: turns TLS on"
    ),
]
TlsCertOpt = Annotated[
    Path | None,
    typer.Option(
        "--tls-cert",
        envvar="RECSYS_TLS_CERT",
        help="client certificate (PEM) for mutual TLS (with --tls-key)",
    ),
]
TlsKeyOpt = Annotated[
    Path | None,
    typer.Option("--tls-key", envvar="RECSYS_TLS_KEY", help="client private key (PEM), mutual TLS"),
]


def tls_credentials(
    ca: Path | None, cert: Path | None, key: Path | None
) -> grpc.ChannelCredentials | None:
    """Channel credentials when any TLS option is given (None: plaintext); bad files exit 2."""
    if ca is None and cert is None and key is None:
        return None
    from serving.transport.tls import TlsConfigError, channel_credentials

    try:
        return channel_credentials(ca, cert, key)
    except TlsConfigError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from exc


def default_actor() -> str:
    """The login name of whoever runs the CLI ("unknown" when the system cannot tell)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


ActorOpt = Annotated[
    str | None,
    typer.Option(
        "--actor", show_default="$USER", help="who makes the change (kept in the audit trail)"
    ),
]


@dataclass(frozen=True)
class Server:
    """Where to call and what to send with every call."""

    target: str
    api_key: str | None = None
    actor: str | None = None  # None: metadata without an actor (reads); "" -> default_actor()

    def __post_init__(self) -> None:
        if self.actor is not None and not self.actor.strip():
            object.__setattr__(self, "actor", default_actor())

    def metadata(self) -> list[tuple[str, str]]:
        """Call metadata: the API key as a Bearer token, and the actor."""
        out = []
        if self.api_key:
            out.append(("authorization", f"Bearer {self.api_key}"))
        if self.actor:
            out.append(("x-actor", self.actor))
        return out


@contextmanager
def channel(server: Server) -> Iterator[grpc.Channel]:
    """A channel to `server.target` (TLS when the command group was given TLS options)."""
    context = click.get_current_context(silent=True)
    credentials = context.find_object(grpc.ChannelCredentials) if context else None
    if credentials is None:
        opened = grpc.insecure_channel(server.target)
    else:
        opened = grpc.secure_channel(server.target, credentials)
    with opened as ch:
        yield ch


def fail(exc: grpc.RpcError, server: Server, hints: dict[str, str] | None = None) -> NoReturn:
    """Print the server's status and message (with a hint where one helps) and exit 2 or 1.

    `hints` maps a request field named at the start of the message to the option that sets it.
    A message of several lines (several problems of one request) is printed a line each.
    """
    code = exc.code()
    details = exc.details() or ""
    lines = details.splitlines()
    if len(lines) > 1:
        err_console.print(f"[red]error:[/] {code.name}: {len(lines)} problems")
        for line in lines:
            err_console.print(f"  {escape(line)}{escape(_field_hint(line, hints))}")
        raise typer.Exit(EXIT_USAGE if code in USAGE_CODES else EXIT_SERVER)
    hint = ""
    if code == grpc.StatusCode.UNAVAILABLE and "connect" in details.lower():
        hint = f" (is `recsys serve` running at {server.target}? set --server or RECSYS_SERVER)"
    elif code == grpc.StatusCode.UNAUTHENTICATED:
        hint = " (pass --api-key or set RECSYS_API_KEY)"
    hint = _field_hint(details, hints) or hint
    err_console.print(f"[red]error:[/] {code.name}: {escape(details)}{escape(hint)}")
    raise typer.Exit(EXIT_USAGE if code in USAGE_CODES else EXIT_SERVER)


def _field_hint(line: str, hints: dict[str, str] | None) -> str:
    """ " (option --end)" when the line starts with a request field an option sets."""
    field = line.partition(":")[0]
    return f" (option {hints[field]})" if hints and field in hints else ""
