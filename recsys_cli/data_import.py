"""`recsys data import NAME SRC --out DIR`: a public data set as a canonical, validated dataset."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from recsys.data.importers import IMPORTERS, ImportReport, ImportResult, ImportSourceError
from recsys.data.importers.zimnat import import_zimnat
from recsys.data.validate import validate_dataset
from recsys.data.write import write_dataset
from recsys_cli.console import console, err_console, progress

EXIT_BAD_INPUT = 2


class SourceName(StrEnum):
    """The public data sets an importer exists for."""

    santander = "santander"
    zimnat = "zimnat"
    berka = "berka"


class OutputFormat(StrEnum):
    """File format of the written tables."""

    parquet = "parquet"
    csv = "csv"


def register(app: typer.Typer) -> None:
    """Add the `import` command to the `recsys data` group."""
    app.command("import")(import_command)


def import_command(
    name: Annotated[SourceName, typer.Argument(help="which data set SRC holds")],
    src: Annotated[Path, typer.Argument(help="folder with the data set's original files")],
    out: Annotated[Path, typer.Option("--out", help="dataset folder to write")],
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table file format")] = (
        OutputFormat.parquet
    ),
    include_test: Annotated[
        bool, typer.Option("--include-test", help="zimnat only: also import Test.csv")
    ] = False,
) -> None:
    """Import a public data set, write it, validate the result and print what was skipped."""
    if include_test and name is not SourceName.zimnat:
        err_console.print("[red]--include-test applies to zimnat only[/red]")
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        with progress() as bar:
            bar.add_task(f"importing {name.value} from {src}", total=None)
            result = _run(name, src, include_test)
            write_dataset(result.data, out, fmt=fmt.value)
            _, problems = validate_dataset(out)
    except ImportSourceError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    print_summary(result)
    if problems:
        err_console.print(f"[red]{escape(str(out))}: the written dataset does not validate[/red]")
        for problem in problems:
            err_console.print(f"  - {problem}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    console.print(f"[green]wrote {escape(str(out))} ({fmt.value}); it validates[/green]")


def _run(name: SourceName, src: Path, include_test: bool) -> ImportResult:
    if name is SourceName.zimnat:
        return import_zimnat(src, include_test=include_test)
    return IMPORTERS[name.value](src)


def print_summary(result: ImportResult) -> None:
    """Rows read, tables written, and every skip and adjustment with its count."""
    report = result.report
    console.print(_counts_table(result))
    if report.skipped:
        console.print(_skipped_table(report))
    else:
        console.print("nothing skipped: every source item is in the dataset")
    if report.adjusted:
        console.print(_adjusted_table(report))
    for label, count in report.facts.items():
        console.print(f"{escape(label)}: {count:,}")


def _counts_table(result: ImportResult) -> Table:
    table = Table(title=f"{result.report.source}: read and written")
    table.add_column("what")
    table.add_column("rows", justify="right")
    for file, count in result.report.rows_read.items():
        table.add_row(f"read {escape(file)}", f"{count:,}")
    for name, count in result.data.summary().items():
        table.add_row(f"wrote {name}", f"{count:,}")
    return table


def _skipped_table(report: ImportReport) -> Table:
    table = Table(title="skipped")
    for header in ("item", "file", "reason"):
        table.add_column(header, overflow="fold")
    table.add_column("count", justify="right")
    for s in report.skipped:
        table.add_row(s.item, escape(s.file), escape(s.reason), f"{s.count:,}")
    return table


def _adjusted_table(report: ImportReport) -> Table:
    table = Table(title="kept with an assumption")
    for header in ("item", "file", "assumption"):
        table.add_column(header, overflow="fold")
    table.add_column("count", justify="right")
    for a in report.adjusted:
        table.add_row(a.item, escape(a.file), escape(a.note), f"{a.count:,}")
    return table
