"""Find a table's file in a dataset folder and read it raw: CSV all as strings, Parquet as stored.

Reading here never casts or guesses: CSV cells stay text (an unquoted empty cell is null) and
Parquet columns keep their stored dtypes. Casting to the canonical dtypes, with a problem for
every value that cannot be read exactly, happens in `recsys.data.checks_columns`.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from recsys.data.problems import Problem
from recsys.data.schema import EXTENSIONS

logger = logging.getLogger(__name__)

Format = Literal["parquet", "csv"]


@dataclass(frozen=True)
class RawTable:
    """One table as stored: its file name (e.g. `events.csv`), format and untyped frame."""

    file: str
    fmt: Format
    frame: pl.DataFrame


def find_table_file(folder: Path, table: str) -> tuple[Path | None, list[Problem]]:
    """The one file holding `table` (`<table>.parquet` or `<table>.csv`), or a problem why not."""
    candidates = [folder / f"{table}{ext}" for ext in EXTENSIONS]
    present = [p for p in candidates if p.is_file()]
    if len(present) == 1:
        return present[0], []
    names = " or ".join(p.name for p in candidates)
    if not present:
        return None, [Problem(file=names, column=None, message="missing file")]
    both = " and ".join(p.name for p in present)
    message = f"both {both} exist; keep exactly one so the table is not ambiguous"
    return None, [Problem(file=both, column=None, message=message)]


def read_raw_table(path: Path) -> tuple[RawTable | None, list[Problem]]:
    """Read one table file without any type conversion; unreadable files become a problem."""
    fmt: Format = "csv" if path.suffix == ".csv" else "parquet"
    try:
        frame = _read_csv_text(path) if fmt == "csv" else pl.read_parquet(path)
    except _HeaderError as exc:
        return None, [Problem(file=path.name, column=exc.column, message=str(exc))]
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError, ValueError) as exc:
        # polars' message already says what is wrong (ragged row, bad footer, ...)
        message = f"cannot read {fmt.upper()} file: {_first_line(exc)}"
        return None, [Problem(file=path.name, column=None, message=message)]
    logger.debug("read %s: %d rows, %d columns", path.name, frame.height, frame.width)
    return RawTable(file=path.name, fmt=fmt, frame=frame), []


class _HeaderError(ValueError):
    """A CSV header polars would silently repair (duplicate or empty column names)."""

    def __init__(self, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


def _read_csv_text(path: Path) -> pl.DataFrame:
    """Every CSV cell as a string; a duplicate header name is an error, not a rename."""
    _check_csv_header(path)
    # infer_schema=False: nothing is guessed here; checks_columns casts per column, strictly
    return pl.read_csv(path, infer_schema=False, raise_if_empty=True)


def _check_csv_header(path: Path) -> None:
    with path.open(newline="", encoding="utf-8-sig") as handle:  # polars drops a BOM too
        header = next(csv.reader(handle), None)
    if not header:
        raise _HeaderError("empty file: no header line")
    seen: set[str] = set()
    for name in header:
        if not name:
            raise _HeaderError("a column has an empty name in the header")
        if name in seen:
            raise _HeaderError("column name appears more than once in the header", name)
        seen.add(name)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
