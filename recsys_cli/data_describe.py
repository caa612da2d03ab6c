"""`recsys data describe DIR`: load a dataset and print its summary tables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from recsys.data.describe import describe
from recsys.data.problems import DataValidationError
from recsys_cli.console import console, err_console, progress


def register(app: typer.Typer) -> None:
    """Add the `describe` command to the `recsys data` group."""
    app.command("describe")(describe_command)


def describe_command(
    path: Annotated[Path, typer.Argument(help="dataset folder (customers, products, events)")],
    cutoff: Annotated[
        str | None,
        typer.Option(help="holdings at this ISO date/time (UTC if no offset); default: all events"),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="purchases for every month, not their summary")
    ] = False,
) -> None:
    """Print counts, date range, categories, holdings, purchases per month, events by channel."""
    from recsys.data.load import load_dataset  # written alongside; imported late on purpose

    at = parse_cutoff(cutoff)
    if not path.is_dir():
        err_console.print(f"[red]{path}: not a dataset folder[/red]")
        raise typer.Exit(2)
    try:
        with progress() as bar:
            bar.add_task(f"loading {path}", total=None)
            data = load_dataset(path)
    except DataValidationError as exc:
        err_console.print(f"[red]{path}: cannot describe invalid data[/red]\n{exc}")
        raise typer.Exit(2) from exc
    for title, frame in describe(data, at, every_month=full).items():
        console.print(frame_table(frame, title))
    if not full:
        console.print("[dim]--full lists the purchases of every month[/]")


def parse_cutoff(text: str | None) -> datetime | None:
    """An aware UTC datetime from ISO text (a bare date means its end, 23:59:59.999999)."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, datetime.max.time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"--cutoff: not an ISO date/time: {text!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def frame_table(frame: pl.DataFrame, title: str) -> Table:
    """A rich table of a small frame; numbers right-aligned, floats to 2 decimals, nulls blank."""
    table = Table(title=title, title_justify="left")
    numeric = {name for name, dtype in frame.schema.items() if dtype.is_numeric()}
    for name in frame.columns:
        table.add_column(name, justify="right" if name in numeric else "left")
    for row in frame.iter_rows():
        table.add_row(*(_cell(v) for v in row))
    return table


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
