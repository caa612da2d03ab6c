"""`recsys customers erase|prune`: a customer's personal data out of the store, and retention.

`erase` removes the customer's events, decisions, offer deliveries and offer-list entries from
the store (RECSYS_DATABASE_URL), scrubs the id out of the offer audit, and logs the erasure
without the id. Training drops erased customers from then on; the model versions registered
before the erasure were trained on the customer's data, so `erase` lists them for a retrain.
Running servers keep answers of the day in memory (the answer cache) until the next day or
model version; they log nothing new about the customer unless a channel asks for them again.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.markup import escape

from recsys.settings import Settings
from recsys.stores.base import StoreUnavailable
from recsys_cli.console import console, err_console

EXIT_UNAVAILABLE = 1
EXIT_USAGE = 2

app = typer.Typer(no_args_is_help=True, help="Customers' personal data: erase, prune.")


@app.command("erase")
def erase_command(
    customer_id: Annotated[str, typer.Argument(help="the customer's id")],
    yes: Annotated[
        bool, typer.Option("--yes", help="confirm: the rows cannot be restored")
    ] = False,
    actor: Annotated[str, typer.Option("--actor", help="who asks (default $USER)")] = "",
) -> None:
    """Erase CUSTOMER_ID's events, decisions, deliveries and offer-list entries; idempotent."""
    from recsys.stores.db import make_engine
    from recsys.stores.erasure import erase_customer

    if not yes:
        err_console.print("erase deletes the customer's rows for good; run again with --yes")
        raise typer.Exit(EXIT_USAGE)
    settings = Settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        done = erase_customer(engine, customer_id, actor=actor or _user())
    except StoreUnavailable as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_UNAVAILABLE) from exc
    except ValueError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from exc
    finally:
        engine.dispose()
    rows = ", ".join(f"{table} {n:,}" for table, n in sorted(done.counts.items())) or "none"
    again = " (erased before: nothing was left)" if done.repeated and not done.total else ""
    console.print(
        f"erased customer {escape(repr(customer_id))}: rows {rows}{again}", highlight=False
    )
    _list_versions(settings)


@app.command("prune")
def prune_command(
    events_days: Annotated[
        int | None,
        typer.Option("--events-days", help="days of events to keep (default: setting)"),
    ] = None,
    decisions_days: Annotated[
        int | None,
        typer.Option("--decisions-days", help="days of decisions to keep (default: setting)"),
    ] = None,
) -> None:
    """Retention: delete events and decisions older than their configured days (0 = keep)."""
    from recsys.stores.db import make_engine
    from recsys.stores.erasure import prune

    settings = Settings()
    now = datetime.now(UTC)
    days = {
        "events": settings.event_retention_days if events_days is None else events_days,
        "decisions": settings.decision_retention_days if decisions_days is None else decisions_days,
    }
    if any(d < 0 for d in days.values()):
        err_console.print("[red]error:[/] retention days must be >= 0 (0 = keep forever)")
        raise typer.Exit(EXIT_USAGE)
    cutoffs = {k: now - timedelta(days=d) if d else None for k, d in days.items()}
    engine = make_engine(settings.resolved_database_url)
    try:
        removed = prune(
            engine, events_before=cutoffs["events"], decisions_before=cutoffs["decisions"]
        )
    except StoreUnavailable as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_UNAVAILABLE) from exc
    finally:
        engine.dispose()
    for table, d in days.items():
        kept = "kept forever" if not d else f"{removed.get(table, 0):,} older than {d} days removed"
        console.print(f"{table}: {kept}", highlight=False)


def _list_versions(settings: Settings) -> None:
    """The registered versions trained before now: they hold the erased customer's data."""
    from training.registry import Registry
    from training.tracking import configure_mlflow

    configure_mlflow(settings)
    versions = Registry(settings.registered_model, settings.champion_alias).versions()
    if not versions:
        console.print("no registered model versions")
        return
    listed = ", ".join(f"v{v.version}{' (champion)' if v.is_champion else ''}" for v in versions)
    console.print(
        f"model versions trained before this erasure, on data that may hold the customer: "
        f"{listed}; retrain (`recsys train --register --promote`) to serve without it",
        highlight=False,
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except OSError:  # no user name in the environment
        return "unknown"
