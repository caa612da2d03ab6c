"""`recsys events export --out FILE`: dump the feedback event log (RECSYS_DATABASE_URL)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.markup import escape

from recsys.data.schema import EVENTS
from recsys.data.validate import as_utc
from recsys.settings import Settings
from recsys.stores.base import StoreUnavailable
from recsys.stores.sql_events import open_event_store
from recsys_cli.console import console, err_console, progress

EXIT_UNAVAILABLE = 1
EXIT_USAGE = 2
FORMATS = ("parquet", "csv")

app = typer.Typer(no_args_is_help=True, help="The feedback event log: export.")


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="file to write (.parquet or .csv)")],
    since: Annotated[
        str | None,
        typer.Option(help="only events after this ISO date/time (no offset = UTC)"),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="parquet or csv (default: by --out suffix, else parquet)"),
    ] = None,
    canonical: Annotated[
        bool,
        typer.Option(help="only the canonical events columns (usable as a dataset's events file)"),
    ] = False,
) -> None:
    """Write every stored event (oldest first) to FILE and print how many."""
    moment = _parse_since(since)
    chosen = _format(fmt, out)
    url = Settings().resolved_database_url
    try:
        with progress() as bar:
            bar.add_task("reading the event store", total=None)
            events = open_event_store(url).export(since=moment)
    except StoreUnavailable as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_UNAVAILABLE) from exc
    except ValueError as exc:  # a database URL of an unsupported kind
        err_console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from exc
    if canonical:
        events = events.select(EVENTS.names)
    _write(events, out, chosen)
    console.print(f"exported {events.height} events to {escape(str(out))}", soft_wrap=True)


def _parse_since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO date/time: {text!r}", param_hint="--since") from exc


def _format(fmt: str | None, out: Path) -> str:
    if fmt is None:
        return "csv" if out.suffix.lower() == ".csv" else "parquet"
    if fmt not in FORMATS:
        raise typer.BadParameter(
            f"must be one of {', '.join(FORMATS)}, got {fmt!r}", param_hint="--format"
        )
    return fmt


def _write(events: pl.DataFrame, out: Path, fmt: str) -> None:
    """Write via a temporary file, so a reader never sees half an export."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    if fmt == "parquet":
        events.write_parquet(tmp)
    else:
        events.write_csv(tmp)
    tmp.replace(out)
