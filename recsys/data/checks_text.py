"""Read CSV text as canonical dtypes, exactly: a value that does not match the format becomes null.

Accepted text, per canonical dtype (anything else is reported by the caller as unreadable):

- integers: optional sign and decimal digits only (`3`, `-1`, `+7`); `3.5`, `3.0`, ` 3` and
  values outside the dtype's range (e.g. 300 for Int8) are errors.
- floats: what polars reads as a float (`1.5`, `-2`, `1e3`); `nan`/`inf` parse here and are
  then rejected as not finite by the value checks.
- booleans: `true`/`false` in any case, and `1`/`0` (what spreadsheets and pandas exports use);
  `yes`, `t`, `y` and the like are errors rather than guesses.
- dates: `YYYY-MM-DD` exactly (zero-padded, a real calendar day).
- timestamps: ISO-8601 `YYYY-MM-DDTHH:MM:SS[.f up to 6 digits][Z|+HH:MM|+HHMM]` (a space may
  replace `T`). An offset is converted to UTC; a timestamp WITHOUT offset is taken as UTC.
  More than 6 fractional digits is an error (the canonical unit is microseconds).
- channel lists: `|`-separated names; an empty cell means "every channel" (an empty list).
"""

from __future__ import annotations

import polars as pl

_DATE_SHAPE = r"^\d{4}-\d{2}-\d{2}$"
_TIMESTAMP_SHAPE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})?$"
_OFFSET_AT_END = r"[+-]\d{2}:?\d{2}$"
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%z"
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}

LIST_SEPARATOR = "|"


def text_cast(column: str, dtype: pl.DataType) -> tuple[pl.Expr, str]:
    """An expression reading text `column` as `dtype` (null where unreadable), and what it wants."""
    text = pl.col(column)
    if dtype == pl.String:
        return text, "text"
    if dtype.is_integer():
        return _integer(text, dtype), f"an integer that fits {dtype}"
    if dtype.is_float():
        return text.cast(dtype, strict=False), "a number"
    if dtype == pl.Boolean:
        return _boolean(text), "true/false (or 1/0)"
    if dtype == pl.Date:
        return _date(text), "a date YYYY-MM-DD"
    if isinstance(dtype, pl.Datetime):
        return _timestamp(
            text, dtype
        ), "an ISO-8601 timestamp YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM]"
    if isinstance(dtype, pl.List):
        return split_list(text), f"a '{LIST_SEPARATOR}'-separated list"
    raise TypeError(f"no text reader for canonical dtype {dtype}")


def split_list(text: pl.Expr) -> pl.Expr:
    """`a|b` -> ["a", "b"]; null or "" -> [] (sold everywhere); empty names stay, to be reported."""
    empty = text.is_null() | (text == "")
    return (
        pl.when(empty)
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(text.str.split(LIST_SEPARATOR))
    )


def _integer(text: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    # to_integer rejects "3.5" and " 3"; the cast then nulls values outside the dtype's range
    return text.str.to_integer(base=10, strict=False).cast(dtype, strict=False)


def _boolean(text: pl.Expr) -> pl.Expr:
    return text.str.to_lowercase().replace_strict(_BOOLEANS, default=None, return_dtype=pl.Boolean)


def _date(text: pl.Expr) -> pl.Expr:
    # the shape check stops chrono from accepting unpadded months/days such as 2024-1-5
    parsed = text.str.to_date("%Y-%m-%d", strict=False)
    return pl.when(text.str.contains(_DATE_SHAPE)).then(parsed)


def _timestamp(text: pl.Expr, dtype: pl.Datetime) -> pl.Expr:
    normal = text.str.replace(r"^(\d{4}-\d{2}-\d{2}) ", "${1}T").str.replace(r"Z$", "+00:00")
    # no offset = UTC (documented); appending one gives every value the same parse format
    normal = pl.when(normal.str.contains(_OFFSET_AT_END)).then(normal).otherwise(normal + "+00:00")
    parsed = normal.str.to_datetime(
        _TIMESTAMP_FORMAT, time_unit=dtype.time_unit or "us", time_zone="UTC", strict=False
    )
    return pl.when(text.str.contains(_TIMESTAMP_SHAPE)).then(parsed)
