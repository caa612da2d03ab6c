"""Shared rich console and progress-bar factory for CLI commands."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

console = Console()
# Errors are never hard-wrapped: a path or value split over two lines cannot be copied.
err_console = Console(stderr=True, soft_wrap=True)


def progress() -> Progress:
    """A progress display for steps that take longer than a second."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )
