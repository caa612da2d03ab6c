"""`recsys console`: the marketing web console, a client of `recsys serve` (see console/)."""

from __future__ import annotations

import typer

from recsys_cli.console import err_console
from recsys_cli.grpc_client import (
    DEFAULT_SERVER,
    ServerOpt,
    TlsCaOpt,
    TlsCertOpt,
    TlsKeyOpt,
    tls_credentials,
)

DEFAULT_PORT = 8080
LOCAL = "127.0.0.1"


def register(app: typer.Typer) -> None:
    """Add `console` to the root app."""
    app.command("console")(console)


def console(
    port: int = typer.Option(DEFAULT_PORT, "--port", "-p", help="HTTP port"),
    host: str = typer.Option(LOCAL, "--host", help="address to listen on (all: 0.0.0.0)"),
    server: ServerOpt = DEFAULT_SERVER,
    tls_ca: TlsCaOpt = None,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
) -> None:
    """Serve the web console until Ctrl-C; users sign in with a marketing or admin API key.

    HTTPS with RECSYS_TLS_CERT_FILE and RECSYS_TLS_KEY_FILE (as `recsys serve`); --tls-ca etc.
    are for the console's own calls to the gRPC server.
    """
    # imported here: the web stack is needed by this command only
    from console.run import Where, serve, tls_options, url
    from recsys.settings import Settings
    from serving.transport.tls import TlsConfigError

    if not 0 <= port <= 65535:
        err_console.print(f"[red]error:[/] --port must be 0..65535, got {port}")
        raise typer.Exit(2)
    settings = Settings()
    where = Where(host, port, server, tls_credentials(tls_ca, tls_cert, tls_key))
    try:
        tls = bool(tls_options(settings))
    except TlsConfigError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    err_console.print(
        f"console on {url(where, tls)} (calls the server at {server}); sign in with a "
        "marketing or admin API key (recsys keys create --name NAME --role marketing)",
        soft_wrap=True,
    )
    try:
        serve(where, settings)
    except OSError as exc:
        err_console.print(f"[red]error:[/] cannot serve on {host}:{port}: {exc}")
        raise typer.Exit(1) from exc
