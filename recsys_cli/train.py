"""`recsys train`: one training run from a data folder, optionally registered and promoted."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from recsys.data.problems import DataValidationError
from recsys.evaluation.report import Report
from recsys.settings import Settings
from recsys.stores.base import StoreUnavailable
from recsys.stores.sql_events import open_event_store
from recsys_cli.console import console, err_console, progress
from recsys_cli.train_auto import train_auto
from recsys_cli.train_options import base_config, stepper
from training.config import FAMILIES, TrainConfig
from training.pipeline import TrainOutcome, run_training
from training.store_events import left_out_lines

DEFAULT_DATA = Path("var/demo-data")
AUTO = "auto"
EXIT_NOT_PROMOTED = 3  # registered, but the gate kept the champion (not a failure of the run)


def register(app: typer.Typer) -> None:
    """Add `train` to the root app."""
    app.command("train")(train)


def train(
    data: Path = typer.Option(DEFAULT_DATA, "--data", help="canonical dataset folder"),
    model: str = typer.Option(
        None, "--model", help=f"one of {', '.join(FAMILIES)}, or auto (select, tune, blend)"
    ),
    config: Path = typer.Option(None, "--config", help="train.toml (model params, split, k)"),
    register_: bool = typer.Option(False, "--register", help="register a model version"),
    promote: bool = typer.Option(False, "--promote", help="move `champion` if it is better"),
    events_from_store: bool = typer.Option(
        False, "--events-from-store", help="add the feedback events of RECSYS_DATABASE_URL"
    ),
    skip_unchanged: bool = typer.Option(
        False,
        "--skip-unchanged",
        help="train nothing when a version was registered from the same data, config and code",
    ),
    budget: str = typer.Option(
        "15m", "--budget", help="--model auto: time for the search, e.g. 15m, 90s"
    ),
) -> None:
    """Validate, split, fit, evaluate against popularity, log to MLflow; register/promote.

    Exit 2: bad input (data, config, options); exit 3: registered but not promoted.
    """
    cfg = base_config(config, None if model == AUTO else model)
    settings = Settings()
    for flag, given in (("--promote", promote), ("--skip-unchanged", skip_unchanged)):
        if given and not register_:
            err_console.print(f"[red]error:[/] {flag} needs --register")
            raise typer.Exit(2)
    if model == AUTO:
        if events_from_store:
            err_console.print("[red]error:[/] --model auto does not take --events-from-store yet")
            raise typer.Exit(2)
        train_auto(
            data,
            cfg,
            settings,
            budget=budget,
            register=register_,
            promote=promote,
            skip_unchanged=skip_unchanged,
        )
        return
    extra = _store_events(settings) if events_from_store else None
    try:
        with progress() as bar:
            outcome = run_training(
                data,
                cfg,
                settings,
                register=register_,
                promote=promote,
                step=stepper(bar),
                extra_events=extra,
                skip_unchanged=skip_unchanged,
            )
    except DataValidationError as exc:
        err_console.print(f"[red]{data}: data failed validation; nothing trained or registered[/]")
        err_console.print(escape(str(exc)))
        raise typer.Exit(2) from exc
    except (ValueError, FileNotFoundError) as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    for line in left_out_lines(outcome.left_out):
        console.print(line)
    if outcome.unchanged is not None:
        _report_unchanged(outcome)
        return
    _report(outcome, cfg)
    if outcome.verdict is not None and not outcome.verdict.promote:
        err_console.print(f"[red]not promoted:[/] {escape(outcome.verdict.reason)}")
        raise typer.Exit(EXIT_NOT_PROMOTED)


def _store_events(settings: Settings) -> pl.DataFrame:
    """Every event in the store (exit 1 when it cannot be read, 2 for an unusable URL)."""
    try:
        events = open_event_store(settings.resolved_database_url).export()
    except StoreUnavailable as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    except ValueError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    console.print(f"read {events.height} events from the event store")
    return events


def _report_unchanged(outcome: TrainOutcome) -> None:
    u = outcome.unchanged
    assert u is not None
    if outcome.verdict is not None:
        console.print(f"[green]promoted to champion:[/] {outcome.verdict.reason}")
    if u.champion == u.version:
        console.print(
            f"unchanged: champion v{u.champion} kept ({u.family}, trained on this data, config "
            "and code; nothing trained)"
        )
        return
    kept = f"champion v{u.champion} kept" if u.champion is not None else "no champion"
    console.print(
        f"unchanged: version {u.version} ({u.family}) was trained on this data, config and "
        f"code, so nothing was trained or registered; {kept}"
    )


def _report(outcome: TrainOutcome, cfg: TrainConfig) -> None:
    best = outcome.strongest
    strong = outcome.baselines.get(best, outcome.baseline)
    table = Table(
        title=f"{cfg.model.family} vs the baselines (holdout, k={cfg.evaluation.k}); "
        f"strongest: {best}"
    )
    for col in ("metric", cfg.model.family, "popularity", best, f"lift vs {best}"):
        table.add_column(col)
    for key, value in outcome.metrics.items():
        if key == Report.n_customers:
            continue
        base = outcome.baseline.get(key, float("nan"))
        top = strong.get(key, float("nan"))
        lift = f"{value / top - 1:+.1%}" if top else "-"
        table.add_row(key, f"{value:.4f}", f"{base:.4f}", f"{top:.4f}", lift)
    console.print(table)
    metric = cfg.evaluation.metric
    figures = ", ".join(
        f"{n} {m.get(metric, float('nan')):.4f}" for n, m in outcome.baselines.items()
    )
    console.print(f"baselines' {metric}: {figures}", soft_wrap=True)
    n = int(outcome.metrics.get(Report.n_customers, 0))
    console.print(f"evaluated on {n} customers; MLflow run {outcome.run_id}")
    if outcome.version is not None:
        console.print(f"registered bank-recsys version {outcome.version}")
    if outcome.verdict is not None and outcome.verdict.promote:
        console.print(f"[green]promoted to champion:[/] {outcome.verdict.reason}")
