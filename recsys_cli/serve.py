"""`recsys serve`: the gRPC server following `bank-recsys@champion`, until SIGTERM/Ctrl-C."""

from __future__ import annotations

import typer

from recsys.settings import Settings
from recsys_cli.console import err_console

DEFAULT_PORT = 50051
DEFAULT_METRICS_PORT = 9100


def register(app: typer.Typer) -> None:
    """Add `serve` to the root app."""
    app.command("serve")(serve)


def serve(
    port: int = typer.Option(DEFAULT_PORT, "--port", "-p", help="gRPC port"),
    workers: int = typer.Option(1, "--workers", "-w", help="processes sharing the port"),
    metrics_port: int = typer.Option(
        DEFAULT_METRICS_PORT,
        "--metrics-port",
        help="Prometheus /metrics port (worker i: port + i; 0 = off)",
    ),
) -> None:
    """Serve Recommend, RecommendBatch, SimilarProducts, RecordEvents, GetModelInfo over gRPC."""
    # imported here: gRPC and the model stack are heavy and other commands do not need them
    from serving.transport.server import serve as run

    if not 0 <= port <= 65535 or not 0 <= metrics_port <= 65535:
        err_console.print(f"[red]error:[/] ports must be 0..65535, got {port}, {metrics_port}")
        raise typer.Exit(2)
    if workers < 1:
        err_console.print(f"[red]error:[/] --workers must be >= 1, got {workers}")
        raise typer.Exit(2)
    settings = Settings()
    metrics_at = f"{settings.metrics_host}:{metrics_port}" if metrics_port else "no port"
    err_console.print(
        f"serving on {settings.grpc_host}:{port} ({workers} worker(s)); metrics on "
        f"{metrics_at}; model {settings.registered_model}@{settings.champion_alias}"
    )
    # with auth off, each server process logs a warning saying so (serving.transport.auth)
    try:
        run(settings, port, workers, metrics_port)
    except (ValueError, OSError) as exc:
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2 if isinstance(exc, ValueError) else 1) from exc
