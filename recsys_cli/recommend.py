"""`recsys recommend`: suggestions with reasons from the server, or (--local) from the registry.

Asking the server needs gRPC only: mlflow, polars and the model stack are imported by --local.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from recsys_cli.console import console, err_console
from recsys_cli.grpc_client import (
    DEFAULT_SERVER,
    ServerOpt,
    TlsCaOpt,
    TlsCertOpt,
    TlsKeyOpt,
    tls_credentials,
)

if TYPE_CHECKING:
    import polars as pl

    from recsys.engine.engine import Engine
    from recsys.settings import Settings

TIMEOUT_S = 10.0
# `--target` was this command's name for what every other client command calls --server
TargetOpt = Annotated[
    str | None, typer.Option("--target", "-t", hidden=True, help="deprecated: use --server")
]


def register(app: typer.Typer) -> None:
    """Add `recommend` to the root app."""
    app.command("recommend")(recommend)


def recommend(
    customers: list[str] = typer.Argument(..., help="customer ids"),
    channel: str = typer.Option("mobile", "--channel", "-c", help="channel asking"),
    k: int = typer.Option(0, "-k", help="suggestions per customer (0 = channel default)"),
    server: ServerOpt = DEFAULT_SERVER,
    context: list[str] = typer.Option(
        [], "--context", "-x", help="KEY=VALUE profile field for unknown customers (repeatable)"
    ),
    local: bool = typer.Option(
        False, "--local", help="load the champion here instead of asking the server"
    ),
    api_key: str | None = typer.Option(
        None,
        "--api-key",
        envvar="RECSYS_API_KEY",
        show_default=False,
        help="API key sent as 'authorization: Bearer KEY' (servers with auth required)",
    ),
    tls_ca: TlsCaOpt = None,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
    target: TargetOpt = None,
) -> None:
    """Top-k next-best products with reasons: asks `recsys serve` at --server over gRPC."""
    if target is not None:
        err_console.print("[yellow]warning:[/] --target is deprecated: use --server")
        server = target
    if local:
        _local(customers, channel, k)
        return
    from recsys_cli.recommend_remote import recommend_remote  # gRPC only when used

    credentials = tls_credentials(tls_ca, tls_cert, tls_key)
    recommend_remote(
        server,
        customers,
        channel,
        k,
        _context(context),
        TIMEOUT_S,
        credentials=credentials,
        api_key=api_key,
    )


def _context(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            err_console.print(f"[red]error:[/] --context expects KEY=VALUE, got {pair!r}")
            raise typer.Exit(2)
        out[key] = value
    return out


def _local(customers: list[str], channel: str, k: int) -> None:
    """The champion loaded in this process from the registry (no server needed)."""
    from recsys.columns import Columns as C
    from recsys.settings import Settings

    settings = Settings()
    if channel not in settings.channels:
        err_console.print(
            f"[red]error:[/] unknown channel {channel!r}; known: {list(settings.channels)}"
        )
        raise typer.Exit(2)
    k = k or settings.channels[channel].default_k
    if not 1 <= k <= 50:
        err_console.print(f"[red]error:[/] k must be 1..50, got {k}")
        raise typer.Exit(2)
    engine, version = _champion(settings)
    frame = engine.recommend_frame(customers, k, channel=channel)
    names = engine.snapshot.products.select(C.product_id, C.name, C.category)
    shown = frame.join(names, on=C.product_id, how="left", maintain_order="left")
    _print(shown, customers, engine, channel, version)


def _champion(settings: Settings) -> tuple[Engine, str]:
    import mlflow
    from mlflow.exceptions import MlflowException

    from training.tracking import configure_mlflow

    configure_mlflow(settings)
    uri = f"models:/{settings.registered_model}@{settings.champion_alias}"
    try:
        version = (
            mlflow.MlflowClient()
            .get_model_version_by_alias(settings.registered_model, settings.champion_alias)
            .version
        )
        model = mlflow.pyfunc.load_model(uri)
    except MlflowException as exc:
        err_console.print(f"[red]error:[/] no champion model at {uri}: train one with --promote")
        raise typer.Exit(2) from exc
    return model.unwrap_python_model().engine, str(version)


def _print(
    frame: pl.DataFrame, customers: list[str], engine: Engine, channel: str, version: str
) -> None:
    import polars as pl

    from recsys.columns import Columns as C
    from recsys_cli.recommend_remote import unknown_line

    known = engine.snapshot.customer_map
    for customer in customers:
        rows = frame.filter(pl.col(C.customer_id) == customer)
        table = Table(title=f"{customer} on {channel} (model v{version})")
        for col in ("#", "product", "category", "score", "reason"):
            table.add_column(col)
        for r in rows.iter_rows(named=True):
            table.add_row(
                str(r["rank"]), r[C.name], r[C.category], f"{r['score']:.3f}", r["reason"]
            )
        console.print(table)
        if customer not in known:
            console.print(unknown_line(customer, version))
