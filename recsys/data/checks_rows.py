"""Row-level checks as boolean masks, evaluated together and turned into problems with row numbers.

Every check is a polars expression that is True on a bad row. Null means "cannot tell" (the
value is missing or unreadable, which another check already reports), so it never fires.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from recsys.data.problems import MAX_EXAMPLES, Problem, problem_at


@dataclass(frozen=True)
class RowCheck:
    """One rule over one column: `bad` is True on offending rows, `shown` the value to quote."""

    column: str
    message: str
    bad: pl.Expr
    shown: pl.Expr | None = None  # default: the column itself


def run_row_checks(frame: pl.DataFrame, file: str, checks: Sequence[RowCheck]) -> list[Problem]:
    """Evaluate all checks in one pass and return one problem per check that fires."""
    if not checks or frame.height == 0:
        return []
    # one select lets polars evaluate the masks in parallel over a single scan of the frame
    masks = frame.select([c.bad.fill_null(False).alias(f"check_{i}") for i, c in enumerate(checks)])
    problems = []
    for i, check in enumerate(checks):
        mask = masks.to_series(i)
        if mask.any():
            problems.append(_problem_from_mask(frame, file, check, mask))
    return problems


def _problem_from_mask(frame: pl.DataFrame, file: str, check: RowCheck, mask: pl.Series) -> Problem:
    positions = mask.arg_true()
    shown = check.shown if check.shown is not None else pl.col(check.column)
    examples = frame.select(shown.gather(positions.head(MAX_EXAMPLES))).to_series()
    return problem_at(
        file,
        check.column,
        check.message,
        rows=(positions.to_numpy() + 1),  # 1-based data rows, header not counted
        values=[_show(v) for v in examples.to_list()],
    )


def rows_problem(
    file: str, column: str, message: str, rows: pl.Series, values: pl.Series
) -> Problem:
    """A problem from already-selected 1-based `rows` and their `values` (same length)."""
    return problem_at(
        file,
        column,
        message,
        rows=rows.to_numpy(),
        values=[_show(v) for v in values.head(MAX_EXAMPLES).to_list()],
    )


def _show(value: object) -> object:
    """Lists (channels) read better joined the way CSV writes them."""
    if isinstance(value, list):
        return "|".join("null" if v is None else str(v) for v in value)
    return value
