"""Profiles of customers the snapshot does not know, taken from the request's context map.

A channel that has just onboarded a customer can send what it knows (birth_year, segment,
risk_tolerance, marketing_consent, income_band, region, or any other column of the snapshot's
customers frame) as strings. They are parsed strictly by the column's dtype: a value that is
not exactly readable raises ValueError naming the key and the value, never a guess.

Known customers ignore their context: the bank's KYC profile in the snapshot wins, so a channel
cannot raise a customer's risk tolerance by sending one. Their context is still validated, so
a malformed request fails the same way whoever it is about.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Final

import numpy as np
import polars as pl

from recsys.columns import Columns as C
from recsys.engine.state import BatchState, rule_inputs

RISK_TOLERANCE_RANGE: Final = (1, 5)
FIRST_BIRTH_YEAR: Final = 1900
MAX_SHOWN_CHARS: Final = 40  # a hostile value is quoted, not echoed in full
MAX_DIGITS: Final = 21  # longest int64/uint64 with a sign
_INTEGER = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_BOOLEANS: Final = {"true": True, "1": True, "false": False, "0": False}
_INT_RANGES: Final = {
    pl.Int8: (-(2**7), 2**7 - 1),
    pl.Int16: (-(2**15), 2**15 - 1),
    pl.Int32: (-(2**31), 2**31 - 1),
    pl.Int64: (-(2**63), 2**63 - 1),
    pl.UInt8: (0, 2**8 - 1),
    pl.UInt16: (0, 2**16 - 1),
    pl.UInt32: (0, 2**32 - 1),
    pl.UInt64: (0, 2**64 - 1),
}


class ContextError(ValueError):
    """A context value that cannot be read exactly; the message starts with its key."""


def apply_context(
    state: BatchState,
    contexts: Sequence[Mapping[str, str] | None],
    *,
    today: date | None = None,
) -> BatchState:
    """A new state whose unknown customers (rows == -1) carry the profile their context gives."""
    if len(contexts) != len(state.rows):
        raise ValueError(f"contexts has {len(contexts)} entries for {len(state.rows)} customers")
    day = today or datetime.now(UTC).date()
    schema = state.features.schema
    parsed = []
    for customer, ctx in zip(state.customer_ids, contexts, strict=True):
        try:
            parsed.append(_parse(ctx, schema, day))
        except ValueError as exc:
            if len(contexts) == 1:
                raise ContextError(str(exc)) from None
            raise ContextError(f"customer {_quote(customer)}: {exc}") from None
    use = [i for i, p in enumerate(parsed) if p and state.rows[i] < 0]
    if not use:
        return state
    features = _override(state.features, {i: parsed[i] for i in use})
    from_context = np.zeros(len(state.rows), dtype=bool)
    from_context[use] = True
    return replace(
        state,
        context_features=features,
        customers=rule_inputs(features),
        from_context=from_context,
    )


def allowed_keys(schema: Mapping[str, pl.DataType]) -> list[str]:
    """Context keys a request may send: every profile column except the id."""
    return sorted(name for name in schema if name != C.customer_id)


def _parse(
    context: Mapping[str, str] | None, schema: Mapping[str, pl.DataType], today: date
) -> dict[str, object]:
    """Typed values of one context map; ValueError naming the first bad key."""
    if not context:
        return {}
    out: dict[str, object] = {}
    for key, value in context.items():
        if key == C.customer_id or key not in schema:
            allowed = ", ".join(allowed_keys(schema))
            raise ValueError(f"context: unknown key {_quote(key)}; allowed keys: {allowed}")
        if not isinstance(value, str):
            raise ValueError(f"context[{key}]: values are strings, got {type(value).__name__}")
        out[key] = _typed(key, value, schema[key], today)
    return out


def _typed(key: str, value: str, dtype: pl.DataType, today: date) -> object:
    """`value` read as `dtype`, exactly and within range; ValueError naming key and value."""
    if dtype == pl.String:
        if not value.strip():
            raise ValueError(f"context[{key}]: must not be empty")
        return value
    if dtype.is_integer():
        return _integer(key, value, _int_range(key, dtype, today))
    if dtype == pl.Boolean:
        if value.lower() not in _BOOLEANS:
            raise ValueError(f"context[{key}]: {_quote(value)} is not one of true, false, 1, 0")
        return _BOOLEANS[value.lower()]
    if dtype.is_float():
        if not _FLOAT.fullmatch(value) or not math.isfinite(float(value)):
            raise ValueError(f"context[{key}]: {_quote(value)} is not a finite number")
        return float(value)
    if dtype == pl.Date:
        if not _DATE.fullmatch(value):
            raise ValueError(f"context[{key}]: {_quote(value)} is not a date (YYYY-MM-DD)")
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"context[{key}]: {_quote(value)} is not a valid date") from None
        if day > today:
            raise ValueError(f"context[{key}]: {value} is in the future")
        return day
    raise ValueError(f"context[{key}]: a column of type {dtype} cannot be set from a context")


def _int_range(key: str, dtype: pl.DataType, today: date) -> tuple[int, int]:
    """The range validation applies to customers files, else what the dtype holds."""
    if key == C.risk_tolerance:
        return RISK_TOLERANCE_RANGE
    if key == C.birth_year:
        return FIRST_BIRTH_YEAR, today.year
    return _INT_RANGES[dtype.base_type()]


def _integer(key: str, value: str, bounds: tuple[int, int]) -> int:
    # length bound first: int() of thousands of digits is slow and raises its own error
    if len(value) > MAX_DIGITS or not _INTEGER.fullmatch(value):
        raise ValueError(f"context[{key}]: {_quote(value)} is not a whole number")
    number = int(value)
    if not bounds[0] <= number <= bounds[1]:
        raise ValueError(f"context[{key}]: {number} is outside {bounds[0]}-{bounds[1]}")
    return number


def _override(features: pl.DataFrame, rows: dict[int, dict[str, object]]) -> pl.DataFrame:
    """features with the given (row -> {column: value}) cells replaced, column by column."""
    b = features.height
    updates = []
    for column in sorted({k for values in rows.values() for k in values}):
        cells = [None] * b
        given = np.zeros(b, dtype=bool)
        for i, values in rows.items():
            if column in values:
                cells[i], given[i] = values[column], True
        new = pl.Series(column, cells, dtype=features.schema[column], strict=True)
        updates.append(pl.when(pl.Series(given)).then(new).otherwise(pl.col(column)).alias(column))
    return features.with_columns(updates)


def _quote(value: str) -> str:
    shown = value if len(value) <= MAX_SHOWN_CHARS else value[:MAX_SHOWN_CHARS] + "..."
    return repr(shown)
