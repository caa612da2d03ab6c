"""Cast Parquet columns to canonical dtypes when the stored dtype holds the same values exactly.

Compatible (cast, value by value, with a problem for any value that does not survive):

- text: String, Categorical or Enum. Numbers stored where text is expected are an error:
  an id written as 12 or 12.0 cannot be told apart from a different id.
- integers: any integer dtype; values outside the canonical range (e.g. 300 for Int8) are
  errors. Floats are not integers, even when whole (they mark a lossy export).
- floats: any integer, float or decimal dtype.
- booleans and dates: only Boolean and Date.
- timestamps: any Datetime. A time zone is converted to UTC; a naive Datetime is taken as UTC,
  as in CSV. Values finer than a microsecond are errors rather than truncated.
- channel lists: List(String/Categorical), or String `|`-separated as in CSV.
- a column of dtype Null (every value null) suits any dtype; the null checks then apply.
"""

from __future__ import annotations

import polars as pl

from recsys.data.checks_text import split_list

_TEXT = (pl.String, pl.Categorical, pl.Enum)


def stored_cast(column: str, stored: pl.DataType, dtype: pl.DataType) -> tuple[pl.Expr, str] | str:
    """(cast expression, what a failed value lacks), or the reason the whole column is unusable."""
    col = pl.col(column)
    if stored == pl.Null:
        # an all-null column (e.g. written from pl.lit(None)) holds no value to misread
        return _all_null(col, dtype), str(dtype)
    if dtype == pl.String:
        return (col.cast(pl.String), "text") if _is_text(stored) else _wrong(stored, "text")
    if dtype.is_integer():
        if stored.is_integer():
            return col.cast(dtype, strict=False), f"an integer that fits {dtype}"
        return _wrong(stored, "integers")
    if dtype.is_float():
        if stored.is_integer() or stored.is_float() or stored.is_decimal():
            return col.cast(dtype), "a number"  # as exact as reading the same text from CSV
        return _wrong(stored, "numbers")
    if dtype in (pl.Boolean, pl.Date):
        return (col, str(dtype)) if stored == dtype else _wrong(stored, str(dtype))
    if isinstance(dtype, pl.Datetime):
        if isinstance(stored, pl.Datetime):
            return _timestamp(col, stored, dtype), "a timestamp with at most microsecond precision"
        return _wrong(stored, "Datetime")
    if isinstance(dtype, pl.List):
        return _text_list(col, stored)
    raise TypeError(f"no Parquet reader for canonical dtype {dtype}")


def _all_null(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.List):
        return pl.lit([], dtype=dtype)  # no channels listed = sold everywhere, as in CSV
    return col.cast(dtype)


def _is_text(stored: pl.DataType) -> bool:
    return isinstance(stored, _TEXT) or stored == pl.String


def _wrong(stored: pl.DataType, expected: str) -> str:
    return f"stored as {stored}, expected {expected}"


def _timestamp(col: pl.Expr, stored: pl.Datetime, dtype: pl.Datetime) -> pl.Expr:
    utc = (
        col.dt.replace_time_zone("UTC")
        if stored.time_zone is None
        else col.dt.convert_time_zone("UTC")
    )
    converted = utc.cast(dtype)
    if stored.time_unit != "ns":
        return converted
    # nanoseconds that are not whole microseconds would be truncated by the cast: refuse them
    return pl.when(col.dt.epoch("ns") % 1000 == 0).then(converted)


def _text_list(col: pl.Expr, stored: pl.DataType) -> tuple[pl.Expr, str] | str:
    expected = "a list of text (or '|'-separated text)"
    if isinstance(stored, pl.List) and _is_text(stored.inner):
        empty = pl.lit([], dtype=pl.List(pl.String))
        return col.cast(pl.List(pl.String)).fill_null(empty), expected
    if _is_text(stored):
        return split_list(col.cast(pl.String)), expected
    return _wrong(stored, expected)
