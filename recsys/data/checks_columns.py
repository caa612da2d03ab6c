"""Turn a raw table into canonical columns and dtypes, reporting every column and value it can't.

Problems found here: a required column is missing, a column nobody knows is present (only
customers keep extra columns), a column is stored in an unusable dtype, a value cannot be read
exactly, a required value is missing (null or empty text).
Unreadable values become null in the typed frame, so later checks skip them rather than
reporting the same cell twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from recsys.columns import Columns as C
from recsys.data.checks_dtypes import stored_cast
from recsys.data.checks_rows import RowCheck, run_row_checks
from recsys.data.checks_text import text_cast
from recsys.data.problems import Problem
from recsys.data.read import RawTable
from recsys.data.schema import ColumnSpec, TableSpec

_TYPED = "\x00typed:"  # prefix of the cast columns while they sit next to the raw ones


@dataclass(frozen=True)
class TypedTable:
    """A table in canonical dtypes; `unusable` columns are missing or wrongly typed (all null)."""

    file: str
    frame: pl.DataFrame
    unusable: frozenset[str]


def type_table(raw: RawTable, spec: TableSpec) -> tuple[TypedTable, list[Problem]]:
    """Canonical columns (absent optional ones filled), customers' extras kept, and problems."""
    present = set(raw.frame.columns)
    problems = _column_set_problems(raw, spec)
    casts: dict[str, pl.Expr] = {}
    checks: list[RowCheck] = []
    unusable = {c.name for c in spec.columns if c.required and c.name not in present}
    for col in spec.columns:
        if col.name not in present:
            continue
        cast = _cast_for(raw, col)
        if isinstance(cast, str):
            problems.append(Problem(file=raw.file, column=col.name, message=cast))
            unusable.add(col.name)
            casts[col.name] = pl.lit(None, dtype=col.dtype)
            continue
        expr, expected = cast
        casts[col.name] = expr
        checks += _value_checks(col, pl.col(_TYPED + col.name), expected)
    both = raw.frame.with_columns([e.alias(_TYPED + n) for n, e in casts.items()])
    problems += run_row_checks(both, raw.file, checks)
    typed = both.select(_canonical_columns(spec, casts, raw.frame.columns))
    return TypedTable(raw.file, typed, frozenset(unusable)), problems


def _column_set_problems(raw: RawTable, spec: TableSpec) -> list[Problem]:
    present = raw.frame.columns
    problems = [
        Problem(file=raw.file, column=c.name, message="missing required column")
        for c in spec.columns
        if c.required and c.name not in present
    ]
    if not spec.keep_extra:
        problems += [
            Problem(
                file=raw.file,
                column=name,
                message=f"unknown column (expected only: {', '.join(spec.names)})",
            )
            for name in present
            if name not in spec.names
        ]
    return problems


def _cast_for(raw: RawTable, col: ColumnSpec) -> tuple[pl.Expr, str] | str:
    if raw.fmt == "csv":
        return text_cast(col.name, col.dtype)
    return stored_cast(col.name, raw.frame.schema[col.name], col.dtype)


def _value_checks(col: ColumnSpec, typed: pl.Expr, expected: str) -> list[RowCheck]:
    raw = pl.col(col.name)
    checks = [
        RowCheck(col.name, f"cannot read value as {expected}", raw.is_not_null() & typed.is_null())
    ]
    if not col.nullable:
        missing = raw.is_null()
        if col.dtype == pl.String:
            # an empty or blank id/name is as missing as a null one
            missing = missing | (typed.str.strip_chars() == "")
        checks.append(RowCheck(col.name, "missing value", missing))
    return checks


def _canonical_columns(
    spec: TableSpec, casts: dict[str, pl.Expr], columns: list[str]
) -> list[pl.Expr]:
    out = []
    for col in spec.columns:
        if col.name in casts:
            out.append(_blank_as_null(col, pl.col(_TYPED + col.name)).alias(col.name))
        else:
            out.append(_absent_default(col).alias(col.name))
    if spec.keep_extra:
        out += [pl.col(name) for name in columns if name not in spec.names]
    return out


def _blank_as_null(col: ColumnSpec, typed: pl.Expr) -> pl.Expr:
    """A blank required text value is reported as missing; later checks must skip it likewise."""
    if col.nullable or col.dtype != pl.String:
        return typed
    return pl.when(typed.str.strip_chars() != "").then(typed)


def _absent_default(col: ColumnSpec) -> pl.Expr:
    """Value of an optional column a file leaves out: its documented default, else null."""
    if col.name == C.repeatable:
        return pl.lit(False, dtype=pl.Boolean)
    if col.name in (C.channels, C.tags):
        return pl.lit([], dtype=col.dtype)  # empty list = sold in every channel / no tags
    return pl.lit(None, dtype=col.dtype)
