"""Validation problems: what is wrong, and where (file, column, example rows and values)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Problem:
    """One kind of problem found in one column of one file.

    `rows` are 1-based data row numbers (the header is not counted), so row 1 is the first
    record: the same number a spreadsheet shows minus the header line.
    """

    file: str
    column: str | None
    message: str
    rows: tuple[int, ...] = ()
    values: tuple[str, ...] = ()
    count: int = 0

    def __str__(self) -> str:
        where = self.file if self.column is None else f"{self.file}, column {self.column}"
        if not self.rows:
            return f"{where}: {self.message}"
        shown = ", ".join(str(r) for r in self.rows[:MAX_EXAMPLES])
        more = (
            f" (+{self.count - len(self.rows[:MAX_EXAMPLES])} more)"
            if self.count > MAX_EXAMPLES
            else ""
        )
        vals = ""
        if self.values:
            vals = " [" + ", ".join(repr(v) for v in self.values[:MAX_EXAMPLES]) + "]"
        label = "row" if self.count == 1 else "rows"
        return f"{where}, {label} {shown}{more}: {self.message}{vals}"


def problem_at(
    file: str, column: str | None, message: str, rows: Sequence[int], values: Sequence[object] = ()
) -> Problem:
    """A problem with up to MAX_EXAMPLES example rows/values and the total count kept."""
    return Problem(
        file=file,
        column=column,
        message=message,
        rows=tuple(int(r) for r in rows[:MAX_EXAMPLES]),
        values=tuple("null" if v is None else str(v) for v in list(values)[:MAX_EXAMPLES]),
        count=len(rows),
    )


@dataclass
class DataValidationError(Exception):
    """Raised when a dataset does not meet its contract; carries every problem found."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{len(self.problems)} data problem(s):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)
