"""`recsys train --model auto`: the search's progress bar and the candidate table."""

from __future__ import annotations

import re
import time
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from recsys.data.problems import DataValidationError
from recsys.settings import Settings
from recsys_cli.console import console, err_console, progress
from recsys_cli.train_options import stepper
from training.config import TrainConfig

EXIT_NOT_PROMOTED = 3
_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_budget(text: str) -> float:
    """'15m', '90s', '1h' or plain seconds, as seconds; ValueError naming the text."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not found or float(found.group(1)) <= 0:
        raise ValueError(f"--budget must be a positive duration such as 15m, 90s or 1h: {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2) or "s"]


def train_auto(
    data: Path,
    cfg: TrainConfig,
    settings: Settings,
    *,
    budget: str,
    register: bool,
    promote: bool,
    skip_unchanged: bool,
) -> None:
    """Run the auto pipeline with a bar over the budget; print the table and the verdict."""
    from training.auto import run_auto

    try:
        budget_s = parse_budget(budget)
    except ValueError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    try:
        with progress() as bar:
            outcome = run_auto(
                data,
                cfg,
                settings,
                budget_s=budget_s,
                register=register,
                promote=promote,
                step=stepper(bar),
                on_trial=_TrialBar(bar, budget_s).trial,
                skip_unchanged=skip_unchanged,
            )
    except DataValidationError as exc:
        err_console.print(f"[red]{data}: data failed validation; nothing trained or registered[/]")
        err_console.print(escape(str(exc)))
        raise typer.Exit(2) from exc
    except (ValueError, FileNotFoundError) as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    if not hasattr(outcome, "table"):  # unchanged: nothing was trained
        from recsys_cli.train import _report_unchanged

        _report_unchanged(outcome)
        return
    _report(outcome, cfg)


class _TrialBar:
    """The search's bar: elapsed share of the budget, the last trial and the best."""

    def __init__(self, bar: Progress, budget_s: float) -> None:
        self.bar, self.budget = bar, budget_s
        self.task = bar.add_task("auto search", total=budget_s)
        self.started, self.best = time.perf_counter(), float("-inf")

    def trial(self, family: str, value: float) -> None:
        self.best = max(self.best, value)
        spent = min(time.perf_counter() - self.started, self.budget)
        label = f"auto search (last {family} {value:.4f}, best {self.best:.4f})"
        self.bar.update(self.task, completed=spent, description=escape(label))


def _report(outcome, cfg: TrainConfig) -> None:  # noqa: ANN001 - AutoOutcome, imported lazily
    metric = cfg.evaluation.metric
    console.print(f"protocol: {escape(outcome.protocol)}", soft_wrap=True)
    console.print(f"recency half-life from the data: {outcome.half_life_days} days")
    table = Table(title=f"candidates ({metric}; chosen on validation, holdout only reported)")
    columns = outcome.table.columns
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in outcome.table.iter_rows():
        table.add_row(*(_cell(v) for v in row))
    console.print(table)
    train = outcome.train
    strong = train.baselines.get(train.strongest, {}).get(metric, float("nan"))
    console.print(
        f"chosen: {outcome.family}; holdout {metric} {train.metrics[metric]:.4f} against the "
        f"strongest baseline {train.strongest} {strong:.4f}; MLflow run {train.run_id}",
        soft_wrap=True,
    )
    if train.version is not None:
        console.print(f"registered bank-recsys version {train.version}")
    if train.verdict is not None and train.verdict.promote:
        console.print(f"[green]promoted to champion:[/] {escape(train.verdict.reason)}")
    if train.verdict is not None and not train.verdict.promote:
        err_console.print(f"[red]not promoted:[/] {escape(train.verdict.reason)}")
        raise typer.Exit(EXIT_NOT_PROMOTED)


def _cell(value: object) -> str:
    text = f"{value:.4f}" if isinstance(value, float) else str(value)
    return escape(text)
