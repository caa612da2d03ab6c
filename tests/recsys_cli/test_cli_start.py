"""The `recsys` entry point: what a command imports at start, and what its help shows."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from typer.testing import CliRunner

from recsys_cli.main import COMMANDS, app, load_command
from tests.serving.free_port import free_port

HEAVY = ("mlflow", "polars", "pandas", "numpy", "sklearn", "implicit", "sqlalchemy")
# Runs the CLI in a fresh interpreter and prints which heavy modules it had imported by the end.
PROBE = """
import json, sys
args, heavy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
from recsys_cli.main import app
sys.argv = ["recsys", *args]
try:
    app()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""


def heavy_modules_loaded(*args: str) -> list[str]:
    """The HEAVY modules that `recsys ARGS` imports, in a subprocess of its own."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_help_imports_neither_mlflow_nor_polars() -> None:
    loaded = heavy_modules_loaded("--help")
    assert "mlflow" not in loaded and "polars" not in loaded, loaded
    assert loaded == []


@pytest.mark.parametrize(
    "args",
    [
        ("recommend", "--help"),
        ("offers", "--help"),
        ("simulate", "--help"),
        ("recommend", "C00000001", "--server"),
        ("offers", "list", "--server"),
    ],
)
def test_server_clients_start_without_the_model_stack(args: tuple[str, ...]) -> None:
    if args[-1] == "--server":  # a port nobody listens on: the call fails, the imports count
        args = (*args, f"127.0.0.1:{free_port()}")
    assert heavy_modules_loaded(*args) == []


def test_the_root_lists_every_command_without_loading_it() -> None:
    result = CliRunner().invoke(app, ["--help"], terminal_width=120)
    assert result.exit_code == 0, result.output
    for name, (_module, text) in COMMANDS.items():
        assert f"{name} " in result.output and text.split(";")[0] in result.output


def _help_pages(command: click.Command, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    pages = [path]
    for name, sub in getattr(command, "commands", {}).items():
        pages += _help_pages(sub, (*path, name))
    return pages


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_pages_show_no_type_after_flags(name: str) -> None:
    """Regression: rich's help panels printed `<bool>` after every flag (--local, --help)."""
    command = load_command(name)
    assert command.short_help == COMMANDS[name][1]
    for path in _help_pages(command, (name,)):
        result = CliRunner().invoke(app, [*path, "--help"], terminal_width=120)
        assert result.exit_code == 0, (path, result.output)
        assert "--help" in result.output and "<bool>" not in result.output, result.output


def test_recommend_takes_server_and_still_the_old_target() -> None:
    port = free_port()
    result = CliRunner().invoke(app, ["recommend", "C1", "--server", f"127.0.0.1:{port}"])
    assert result.exit_code == 1 and f"running at 127.0.0.1:{port}" in result.output
    result = CliRunner().invoke(app, ["recommend", "C1", "--target", f"127.0.0.1:{port}"])
    assert result.exit_code == 1 and f"running at 127.0.0.1:{port}" in result.output
    assert "--target is deprecated: use --server" in result.output
    shown = CliRunner().invoke(app, ["recommend", "--help"]).output
    assert "--server" in shown and "--target" not in shown
