"""How long the `recsys` CLI takes to start, next to a bare `python -c pass`.

Each command runs --runs times (default 5) in a fresh interpreter; the table shows the
median wall time and what the CLI adds over bare Python. The commands only print their help,
so nothing else (a server, a registry) is needed:

    python bench/cli_start.py [--runs 5]

The CLI is run as `python -m recsys_cli.main` from this checkout, which is what the `recsys`
script of the virtual environment runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import tables

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "recsys_cli.main"]
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "recsys --help": [*CLI, "--help"],
    "recsys offers --help": [*CLI, "offers", "--help"],
    "recsys recommend --help": [*CLI, "recommend", "--help"],
}


def wall_seconds(command: list[str], env: dict[str, str]) -> float:
    """One run's wall time; a failing command stops the benchmark."""
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    """Print the median start time of each command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median shown)")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    medians = {}
    for label, command in COMMANDS.items():
        wall_seconds(command, env)  # warm the file cache and the byte-code
        medians[label] = statistics.median(wall_seconds(command, env) for _ in range(args.runs))
    bare = medians["python -c pass"]
    rows = [(label, f"{s:.3f}", f"{s - bare:+.3f}") for label, s in medians.items()]
    tables.print_table(
        f"CLI start, median of {args.runs} runs (s)", ("command", "wall", "over bare"), rows
    )


if __name__ == "__main__":
    main()
