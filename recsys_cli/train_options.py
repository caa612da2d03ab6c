"""What `train` and `tune` share: reading the base config and showing pipeline steps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import Progress

from recsys_cli.console import err_console
from training.config import FAMILIES, ConfigError, TrainConfig, load_train_config
from training.pipeline import Step


def base_config(path: Path | None, model: str | None) -> TrainConfig:
    """The config file (or defaults); a --model other than the file's family starts fresh."""
    try:
        cfg = load_train_config(path)
    except ConfigError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    if model is None or model == cfg.model.family:
        return cfg
    if model not in FAMILIES:
        known = ", ".join(FAMILIES)
        err_console.print(f"[red]error:[/] --model must be one of {known}, got {model!r}")
        raise typer.Exit(2)
    # params in the file belong to the file's family
    fresh = cfg.model.model_copy(update={"family": model, "params": {}})
    return cfg.model_copy(update={"model": fresh})


def stepper(bar: Progress) -> Step:
    """A `step(name)` context manager that shows each pipeline step as a finished bar."""

    @contextmanager
    def step(name: str) -> Iterator[None]:
        task = bar.add_task(name, total=1)
        yield
        bar.update(task, completed=1)

    return step
