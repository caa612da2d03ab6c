"""`recsys tune`: hyper-parameter search for one family; writes the best config as TOML."""

from __future__ import annotations

from pathlib import Path

import optuna
import typer
from rich.markup import escape
from rich.progress import Progress, TaskID
from rich.table import Table

from recsys.data.problems import DataValidationError
from recsys.settings import Settings
from recsys_cli.console import console, err_console, progress
from recsys_cli.train_options import base_config, stepper
from training.config import FAMILIES, dump_train_config
from training.tuning import run_tuning
from training.tuning_results import TrialResult, TuneOutcome, TuningFailed

DEFAULT_DATA = Path("var/demo-data")
DEFAULT_OUT = Path("tuned.toml")
TOP_TRIALS = 5


def register(app: typer.Typer) -> None:
    """Add `tune` to the root app."""
    app.command("tune")(tune)


def tune(
    data: Path = typer.Option(DEFAULT_DATA, "--data", help="canonical dataset folder"),
    model: str = typer.Option(None, "--model", help=f"one of {', '.join(FAMILIES)}"),
    trials: int = typer.Option(20, "--trials", min=1, help="number of trials"),
    config: Path = typer.Option(None, "--config", help="base train.toml: split, k, fixed params"),
    out: Path = typer.Option(DEFAULT_OUT, "--out", help="where the tuned train.toml is written"),
    metric: str = typer.Option(None, "--metric", help="metric to maximise (default: config's)"),
    timeout: float = typer.Option(None, "--timeout", min=1, help="stop starting trials after S s"),
    seed: int = typer.Option(None, "--seed", help="sampler seed (default: RECSYS_SEED)"),
) -> None:
    """Search one family's hyper-parameters on the training holdout; log trials to MLflow."""
    cfg = base_config(config, model)
    settings = Settings()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the progress bar reports trials
    try:
        with progress() as bar:
            trials_bar = _TrialBar(bar)
            outcome = run_tuning(
                data,
                cfg,
                settings,
                trials=trials,
                metric=metric,
                timeout=timeout,
                seed=settings.seed if seed is None else seed,
                step=stepper(bar),
                on_start=trials_bar.start,
                on_trial=trials_bar.trial,
            )
    except DataValidationError as exc:
        err_console.print(f"[red]{data}: data failed validation; nothing tuned[/]")
        err_console.print(escape(str(exc)))
        raise typer.Exit(2) from exc
    except (ValueError, FileNotFoundError) as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except TuningFailed as exc:
        err_console.print(f"[red]tuning failed:[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dump_train_config(outcome.config))
    _report(outcome)
    # soft_wrap: the command must stay on one line to be copied
    console.print(
        f"wrote {out}; train it with: recsys train --data {data} --config {out}", soft_wrap=True
    )


class _TrialBar:
    """A bar for the trials; its label shows the last and the best value."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task: TaskID | None = None

    def start(self, trials: int) -> None:
        self.task = self.bar.add_task("trials", total=trials)

    def trial(self, result: TrialResult, best: float | None) -> None:
        last = "failed" if result.value is None else f"{result.value:.4f}"
        best_text = "-" if best is None else f"{best:.4f}"
        label = f"trials (last {last}, best {best_text})"
        self.bar.update(self.task, advance=1, description=label)


def _report(outcome: TuneOutcome) -> None:
    metric, base = outcome.metric, outcome.baseline.get(outcome.metric)
    done = [t for t in outcome.trials if t.value is not None]
    failed = len(outcome.trials) - len(done)
    family = outcome.config.model.family
    table = Table(title=f"top trials of {len(done)} ({failed} failed), {family}, {metric}")
    for col in ("rank", "trial", metric, "lift", "params", "MLflow run"):
        table.add_column(col, overflow="fold")
    for rank, t in enumerate(outcome.top(TOP_TRIALS), start=1):
        lift = f"{t.value / base - 1:+.1%}" if base else "-"
        params = "\n".join(f"{k}={_short(v)}" for k, v in t.params.items())
        table.add_row(str(rank), str(t.number), f"{t.value:.4f}", lift, params, t.run_id)
    console.print(table)
    console.print(
        f"lift is against popularity ({metric} = {base:.4f}); parent MLflow run {outcome.run_id}",
        soft_wrap=True,
    )


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
