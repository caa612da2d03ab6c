"""`recsys data validate DIR [--now ISO]`: list every problem (exit 2), or summarise valid data."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.problems import Problem
from recsys.data.validate import as_utc, validate_dataset
from recsys_cli.console import console, err_console, progress

EXIT_BAD_DATA = 2


def register(app: typer.Typer) -> None:
    """Add the `validate` command to the `recsys data` group."""
    app.command("validate")(validate_command)


def validate_command(
    path: Annotated[Path, typer.Argument(help="dataset folder (customers, products, events)")],
    now: Annotated[
        str | None,
        typer.Option(
            help="reject timestamps after this ISO date/time (no offset = UTC); default: now"
        ),
    ] = None,
) -> None:
    """Check a dataset folder against the canonical contract and report every problem found."""
    moment = parse_now(now)
    if not path.is_dir():
        err_console.print(f"[red]{escape(str(path))}: no such dataset folder[/red]", soft_wrap=True)
        raise typer.Exit(EXIT_BAD_DATA)
    with progress() as bar:
        bar.add_task(f"validating {path}", total=None)
        data, problems = validate_dataset(path, now=moment)
    if problems or data is None:
        print_problems(path, problems)
        raise typer.Exit(EXIT_BAD_DATA)
    console.print(f"[green]{escape(str(path))}: valid[/green]", soft_wrap=True)
    console.print(summary_table(data))
    console.print(event_types_table(data.events))


def parse_now(text: str | None) -> datetime | None:
    """An aware UTC datetime from ISO text (no offset = UTC), or a usage error (exit 2)."""
    if text is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO date/time: {text!r}", param_hint="--now") from exc


def print_problems(path: Path, problems: list[Problem]) -> None:
    """Every problem, one per line; markup-free so values like '[x]' print as written."""
    err_console.print(f"[red]{escape(str(path))}: {len(problems)} problem(s)[/red]", soft_wrap=True)
    for problem in problems:
        err_console.print(f"  - {problem}", markup=False, highlight=False, soft_wrap=True)


def summary_table(data: BankData) -> Table:
    """Rows per table and the time span of the events."""
    table = Table(title="dataset")
    for header in ("table", "rows", "first", "last"):
        table.add_column(header)
    table.add_row("customers", f"{data.customers.height:,}", "", "")
    table.add_row("products", f"{data.products.height:,}", "", "")
    span = data.events.select(
        pl.col(C.timestamp).min().alias("first"), pl.col(C.timestamp).max().alias("last")
    )
    first, last = (_iso(v) for v in span.row(0))
    table.add_row("events", f"{data.events.height:,}", first, last)
    return table


def event_types_table(events: pl.DataFrame) -> Table:
    """Event counts per type, most frequent first."""
    counts = events.group_by(C.event).len().sort(["len", C.event], descending=[True, False])
    table = Table(title="events by type")
    table.add_column("event")
    table.add_column("count", justify="right")
    for event, count in counts.iter_rows():
        table.add_row(event, f"{count:,}")
    return table


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()
