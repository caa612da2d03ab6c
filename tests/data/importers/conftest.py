"""Fixtures for importer tests: the real public data sets, and a validity check.

Helpers are handed out as fixtures (callables) so test modules never import conftest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from recsys.data.importers.report import ImportResult
from recsys.data.validate import validate_dataset
from recsys.data.write import write_dataset

# The repo root is three levels up; the shared data sets sit beside it (never copied in).
DATASETS = Path(__file__).resolve().parents[3].parent / "shared" / "datasets"


def real_source_dir(name: str) -> Path:
    """The folder of a real data set, or skip the test saying where it was looked for."""
    folder = DATASETS / name
    if not folder.is_dir():
        pytest.skip(f"real data set {name!r} not found at {folder} (../shared/datasets)")
    return folder


@pytest.fixture(scope="session")
def real_source() -> Callable[[str], Path]:
    """real_source(name) -> the folder of a real data set, or a skip."""
    return real_source_dir


def _assert_validates(result: ImportResult, out: Path, fmt: str = "parquet") -> None:
    write_dataset(result.data, out, fmt=fmt)
    data, problems = validate_dataset(out)
    assert problems == [], "\n".join(str(p) for p in problems)
    assert data is not None
    assert data.summary() == result.data.summary()


@pytest.fixture(scope="session")
def assert_validates() -> Callable[..., None]:
    """assert_validates(result, out_dir, fmt): written output passes the strict validator."""
    return _assert_validates


def _write_lines(path: Path, lines: list[str], newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(newline.join(lines) + newline, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def write_lines() -> Callable[..., Path]:
    """write_lines(path, lines, newline): a small hand-written source file."""
    return _write_lines
