"""Fixtures for importer tests: a validity check and small hand-written sources.

The real public data sets come from the root fixture `real_dataset` (tests/real_data.py).

Helpers are handed out as fixtures (callables) so test modules never import conftest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from recsys.data.importers.report import ImportResult
from recsys.data.validate import validate_dataset
from recsys.data.write import write_dataset


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
