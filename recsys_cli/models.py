"""`recsys models ...`: list registered versions, promote one, roll the champion back."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import typer
from rich.table import Table

from recsys.settings import Settings
from recsys_cli.console import console, err_console
from training.registry import Registry, RegistryError
from training.tracking import configure_mlflow

app = typer.Typer(no_args_is_help=True)
# Holdout metrics shown, by name before "_at_<k>" (k is whatever the run was evaluated at).
SHOWN_METRICS = ("ndcg", "map", "recall", "coverage")


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
    for col in ("version", "", "family", "created (UTC)", *SHOWN_METRICS):
        table.add_column(col)
    for v in versions:
        created = datetime.fromtimestamp(v.created_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
        metrics = [_metric(v.metrics, name) for name in SHOWN_METRICS]
        mark = f"[bold green]{reg.alias}[/]" if v.is_champion else ""
        table.add_row(str(v.version), mark, v.family, created, *metrics)
    console.print(table)
    champion = next((v for v in versions if v.is_champion), None)
    if champion is None:
        console.print(f"no {reg.alias} yet: `recsys models promote VERSION` sets one")
    else:
        console.print(f"{reg.alias}: version {champion.version} ({champion.family})")


def _metric(metrics: dict[str, float], name: str) -> str:
    """The run's `<name>_at_<k>` value, formatted; '-' when the run has none."""
    pattern = re.compile(rf"{name}_at_\d+")
    found = [v for key, v in metrics.items() if pattern.fullmatch(key)]
    return f"{found[0]:.4f}" if len(found) == 1 else "-"


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
