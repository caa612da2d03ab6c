"""Tests on the real public data sets: one fixture, a marker, a skip that says where the data go.

A test that reads a real data set asks for the fixture `real_dataset` and calls
`real_dataset("zimnat")` for the folder. Every such test is marked `real_data` (select them
with `-m real_data`, leave them out with `-m "not real_data"`), and is skipped, saying where
the files belong, when the folder is absent: a fresh clone without `../shared` passes.

The folder is `../shared/datasets` beside the repository, or RECSYS_TEST_DATASETS. At the end
of the run the terminal summary counts the real-data tests that ran; with
RECSYS_REAL_DATA_REPORT set, the counts are also written there (`.ci/run` prints them).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Final

import pytest

DATASETS_ENV: Final = "RECSYS_TEST_DATASETS"
REPORT_ENV: Final = "RECSYS_REAL_DATA_REPORT"
MARKER: Final = "real_data"
FIXTURE: Final = "real_dataset"
# the repository's parent holds `shared/` (never copied into the repository)
DEFAULT_DATASETS: Final = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"

_counts: Counter[str] = Counter()


def datasets_dir() -> Path:
    """Where the real data sets are looked for: RECSYS_TEST_DATASETS, else ../shared/datasets."""
    return Path(os.environ.get(DATASETS_ENV) or DEFAULT_DATASETS)


def real_dataset_dir(name: str) -> Path:
    """The folder of the real data set `name`, or a skip saying where it belongs."""
    root = datasets_dir()
    folder = root / name
    if not folder.is_dir():
        pytest.skip(
            f"real data set {name!r} not found at {folder}: the public data sets go in "
            f"../shared/datasets/ beside the repository ({DEFAULT_DATASETS}), or set {DATASETS_ENV}"
        )
    return folder


@pytest.fixture(scope="session", name=FIXTURE)
def real_dataset() -> Callable[[str], Path]:
    """real_dataset(name) -> the folder of a real data set, or a skip."""
    return real_dataset_dir


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test that asks for `real_dataset`, directly or through another fixture."""
    for item in items:
        if FIXTURE in getattr(item, "fixturenames", ()):
            item.add_marker(MARKER)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count the real-data tests by outcome (under xdist the controller sees every report)."""
    if MARKER not in report.keywords:
        return
    if report.skipped:  # in setup (a fixture) or in the call (the test asked for the folder)
        _counts["skipped"] += 1
    elif report.when == "call":
        _counts["passed" if report.passed else "failed"] += 1
    elif report.failed:  # an error in setup or teardown
        _counts["errors"] += 1


def _summary() -> str:
    ran = _counts["passed"] + _counts["failed"]
    line = f"real-data tests: {ran} ran ({_counts['passed']} passed, {_counts['failed']} failed)"
    if _counts["errors"]:
        line += f", {_counts['errors']} errors"
    if _counts["skipped"]:
        line += f", {_counts['skipped']} skipped (no data sets at {datasets_dir()})"
    return line


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line at the end of the run: how many tests ran on real data."""
    if sum(_counts.values()):
        terminalreporter.write_line(_summary())


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the counts to RECSYS_REAL_DATA_REPORT (the controller only, under xdist)."""
    target = os.environ.get(REPORT_ENV)
    if not target or hasattr(session.config, "workerinput"):
        return
    ran = _counts["passed"] + _counts["failed"]
    counts = (f"{k}={_counts[k]}" for k in ("passed", "failed", "skipped", "errors"))
    lines = [f"ran={ran}", *counts]
    lines.append(f"summary={_summary()}")
    Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")
