"""`recsys models ...`: list registered versions, promote one, roll the champion back."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from recsys.settings import Settings
from recsys_cli.console import console, err_console
from training.registry import Registry, RegistryError
from training.tracking import configure_mlflow

app = typer.Typer(no_args_is_help=True)
SHOWN_METRICS = ("ndcg_at_5", "map_at_5", "recall_at_5", "hit_rate_at_5", "mrr", "coverage")


def _registry() -> Registry:
    settings = Settings()
    configure_mlflow(settings)
    return Registry(settings.registered_model, settings.champion_alias)


@app.command("list")
def list_versions() -> None:
    """Registered versions with their holdout metrics; the champion is marked."""
    reg = _registry()
    versions = reg.versions()
    if not versions:
        console.print(f"no versions of {reg.name!r} registered yet")
        return
    table = Table(title=f"{reg.name} versions")
    for col in ("version", "", "family", "created", *SHOWN_METRICS):
        table.add_column(col)
    for v in versions:
        created = datetime.fromtimestamp(v.created_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
        metrics = [f"{v.metrics[m]:.4f}" if m in v.metrics else "-" for m in SHOWN_METRICS]
        mark = f"[bold green]{reg.alias}[/]" if v.is_champion else ""
        table.add_row(str(v.version), mark, v.family, created, *metrics)
    console.print(table)


@app.command("promote")
def promote(version: int = typer.Argument(..., help="version number to serve")) -> None:
    """Point the champion alias at VERSION (no gate: this is the operator's decision)."""
    reg = _registry()
    try:
        reg.promote(version)
    except RegistryError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"{reg.name}@{reg.alias} -> version {version}")


@app.command("rollback")
def rollback() -> None:
    """Move the champion alias back to the previous champion."""
    reg = _registry()
    try:
        version = reg.rollback()
    except RegistryError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"{reg.name}@{reg.alias} rolled back to version {version}")
