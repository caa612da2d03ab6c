"""`recsys data generate --customers N --seed S --out DIR`: write a synthetic bank dataset."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.generate import DEFAULT_MONTHS, DEFAULT_START, total_steps
from recsys.data.generate.generator import generate_with_truth
from recsys.data.generate.timeline import add_months
from recsys.data.generate.truth import README_FILE, readme_text, write_truth
from recsys.data.write import write_dataset
from recsys_cli.console import console, progress


class Format(StrEnum):
    """Table file format."""

    parquet = "parquet"
    csv = "csv"


def register(app: typer.Typer) -> None:
    """Add the `generate` command to the `recsys data` group."""
    app.command("generate")(generate_command)


def generate_command(
    customers: Annotated[int, typer.Option("--customers", min=1, help="number of customers")],
    seed: Annotated[int, typer.Option("--seed", help="random seed (same seed, same data)")],
    out: Annotated[Path, typer.Option("--out", help="dataset folder to write (created if needed)")],
    fmt: Annotated[Format, typer.Option("--format", help="table file format")] = Format.parquet,
    start: Annotated[
        str, typer.Option(help="first day of the history (a month start, ISO date)")
    ] = DEFAULT_START.isoformat(),
    months: Annotated[int, typer.Option(min=1, max=240, help="months of history")] = DEFAULT_MONTHS,
) -> None:
    """Generate a synthetic bank (customers, products, events) with planted structure.

    Beside the tables it writes truth.npz (the latent ground truth `recsys simulate` plays
    customers by) and a README.md saying what each file holds.
    """
    first_day = parse_start(start)
    end = add_months(first_day, months)
    if end > datetime.now(UTC).date():
        # the loader rejects future timestamps, so such a dataset could never be used
        raise typer.BadParameter(
            f"the history would end on {end}, after today", param_hint="--start"
        )
    with progress() as bar:
        task = bar.add_task("generating", total=total_steps(months))

        def report(stage: str, done: int, _total: int) -> None:
            bar.update(task, completed=done, description=f"generating: {stage}")

        data, truth = generate_with_truth(
            customers, seed, start=first_day, months=months, progress=report
        )
        bar.add_task(f"writing {fmt.value} to {out}", total=None)
        write_dataset(data, out, fmt=fmt.value)
        write_truth(truth, out)
        (out / README_FILE).write_text(readme_text(customers, seed, fmt.value))
    console.print(f"[green]wrote {escape(str(out))}[/green]", soft_wrap=True)
    console.print(summary_table(data))


def parse_start(text: str) -> date:
    """The history's first day: an ISO date on the 1st of a month, or a usage error (exit 2)."""
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO date: {text!r}", param_hint="--start") from exc
    if day.day != 1:
        raise typer.BadParameter(
            f"must be the first day of a month, got {text}", param_hint="--start"
        )
    return day


def summary_table(data: BankData) -> Table:
    """Rows per table and events per type, with the events' time span."""
    table = Table(title="generated")
    table.add_column("table / event")
    table.add_column("rows", justify="right")
    for name, rows in data.summary().items():
        table.add_row(name, f"{rows:,}")
    counts = data.events.group_by(C.event).len().sort(["len", C.event], descending=[True, False])
    for event, count in counts.iter_rows():
        table.add_row(f"  {event}", f"{count:,}")
    span = data.events.select(pl.col(C.timestamp).min(), pl.col(C.timestamp).max().alias("last"))
    first, last = span.row(0)
    table.add_row("first event", f"{first:%Y-%m-%d}")
    table.add_row("last event", f"{last:%Y-%m-%d}")
    return table
