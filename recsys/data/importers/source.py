"""Reading source files as text, and shaping frames into the canonical tables.

Sources are read with every column as a string (no type inference) so that quirks such as
space padding (`" 35"`), `NA` or a stray letter in a number column surface as explicit,
counted parse failures in the importer instead of a silent float column or a crash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from recsys.data.importers.report import ImportReport
from recsys.data.schema import UTC_DATETIME, TableSpec

# Text that means "no value" in the sources (Santander writes `NA`, often space padded).
NULL_TOKENS = ("", "NA", "NaN", "nan", "null")


class ImportSourceError(Exception):
    """The source folder or one of its files is not what the importer expects."""


def require_files(src: Path, names: Sequence[str]) -> None:
    """Raise ImportSourceError naming every expected file that `src` lacks."""
    if not src.is_dir():
        raise ImportSourceError(f"{src}: not a directory (expected files: {', '.join(names)})")
    missing = [n for n in names if not (src / n).is_file()]
    if missing:
        raise ImportSourceError(
            f"{src}: missing {', '.join(missing)} (expected files: {', '.join(names)})"
        )


def read_text_table(path: Path, columns: Sequence[str], separator: str = ",") -> pl.DataFrame:
    """All columns as stripped strings, null tokens as null; raises if `columns` are absent."""
    try:
        frame = pl.read_csv(path, separator=separator, infer_schema=False, quote_char='"')
    except pl.exceptions.PolarsError as exc:
        raise ImportSourceError(f"{path.name}: cannot be read as a table ({exc})") from exc
    # CRLF files (Berka) leave "\r" on the last header name with some readers; normalise it.
    frame = frame.rename({c: c.strip() for c in frame.columns})
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ImportSourceError(
            f"{path.name}: missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}"
        )
    return frame.with_columns(
        _null_tokens_to_null(pl.col(c).str.strip_chars()).alias(c) for c in frame.columns
    )


def _null_tokens_to_null(text: pl.Expr) -> pl.Expr:
    return pl.when(text.is_in(NULL_TOKENS)).then(None).otherwise(text)


def count_unparsed(
    raw: pl.DataFrame, parsed: Mapping[str, pl.Expr], report: ImportReport, file: str
) -> None:
    """Count, per column, values present in `raw` that `parsed` turns into null (kept as null)."""
    counts = raw.select(
        (pl.col(name).is_not_null() & expr.is_null()).sum().alias(name)
        for name, expr in parsed.items()
    )
    for name in parsed:
        report.adjust("rows", file, f"{name} not understood: treated as missing", counts[name][0])


def to_utc(date_or_epoch: pl.Expr) -> pl.Expr:
    """A Date (midnight) or a Datetime as the canonical UTC microsecond timestamp."""
    return date_or_epoch.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").cast(UTC_DATETIME)


def conform(frame: pl.DataFrame, spec: TableSpec, extra: Sequence[str] = ()) -> pl.DataFrame:
    """Canonical columns of `spec` present in `frame` (in spec order, cast), then `extra`."""
    known = [c for c in spec.columns if c.name in frame.columns]
    return frame.select(
        *[pl.col(c.name).cast(c.dtype, strict=True) for c in known], *[pl.col(e) for e in extra]
    )
