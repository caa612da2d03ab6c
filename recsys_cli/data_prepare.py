"""`recsys data prepare`: raw events (Parquet) into the training input, the interaction weights
per (customer, product), with polars on one machine or with Spark (`--engine spark`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from recsys_cli.console import console, err_console, progress


def register(app: typer.Typer) -> None:
    """Add the `prepare` command to the `recsys data` group."""
    app.command("prepare")(prepare_command)


def prepare_command(
    events: Annotated[Path, typer.Argument(help="events Parquet file (or a folder of them)")],
    out: Annotated[Path, typer.Option("--out", help="interaction weights (.parquet)")],
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", help="decay ages from here (UTC; default: now)")
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="polars or spark")] = "polars",
    master: Annotated[str, typer.Option("--master", help="Spark master")] = "local[2]",
) -> None:
    """Interaction weights (configured event weights, recency decay) summed per pair."""
    from recsys.settings import Settings

    if engine not in ("polars", "spark"):
        err_console.print(f"[red]error:[/] --engine: must be polars or spark, got {engine!r}")
        raise typer.Exit(2)
    if not events.exists():
        err_console.print(f"[red]error:[/] {events}: no such file or folder")
        raise typer.Exit(2)
    moment = (as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of) if as_of else None
    moment = moment or datetime.now(UTC)
    w = Settings().weights
    options = {"weights": w.as_dict(), "half_life_days": w.half_life_days, "as_of": moment}
    out.parent.mkdir(parents=True, exist_ok=True)
    with progress() as bar:
        bar.add_task(f"interaction weights ({engine})", total=None)
        try:
            rows = (
                _spark(events, out, master, options)
                if engine == "spark"
                else _polars(events, out, options)
            )
        except ValueError as exc:
            err_console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from exc
    console.print(f"{rows} (customer, product) weights written to {out}")


def _polars(events: Path, out: Path, options: dict) -> int:
    import polars as pl

    from recsys.data.interactions import interaction_weights

    source = events / "*.parquet" if events.is_dir() else events
    frame = interaction_weights(pl.read_parquet(source), **options)
    frame.write_parquet(out)
    return frame.height


def _spark(events: Path, out: Path, master: str, options: dict) -> int:
    import polars as pl

    from batch.spark_prepare import spark_interaction_weights
    from batch.spark_session import spark_session

    spark = spark_session(master)
    try:
        frame = spark_interaction_weights(spark, str(events), **options)
        folder = out.with_suffix(".parts")
        frame.write.mode("overwrite").parquet(str(folder))
    finally:
        spark.stop()
    merged = pl.read_parquet(folder / "*.parquet")
    merged.write_parquet(out)
    return merged.height
