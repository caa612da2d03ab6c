"""Validate a canonical dataset folder and report EVERY problem found, with file, column and rows.

Steps, each of which keeps going after a problem so one run shows the whole picture:
1. find and read each table file (`<table>.parquet` or `<table>.csv`, exactly one);
2. cast to canonical dtypes (checks_columns): missing/unknown columns, unreadable values, nulls;
3. per-table rules (checks_values): duplicate keys, ranges, known codes, no future dates;
4. cross-table rules (checks_refs): known customers/products, no close without a holding.
A rule that needs a column which is missing or wrongly typed is skipped (its cause is reported).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.checks_columns import TypedTable, type_table
from recsys.data.checks_refs import reference_problems
from recsys.data.checks_rows import run_row_checks
from recsys.data.checks_values import customer_checks, event_checks, key_checks, product_checks
from recsys.data.dataset import BankData
from recsys.data.problems import Problem
from recsys.data.read import find_table_file, read_raw_table
from recsys.data.schema import CUSTOMERS, EVENTS, PRODUCTS, TableSpec

logger = logging.getLogger(__name__)

_CLOSE_COLUMNS = frozenset({C.customer_id, C.product_id, C.event, C.timestamp})


def validate_dataset(
    path: str | Path,
    *,
    now: datetime | None = None,
    event_types: Collection[str] = Events.all,
    channels: Collection[str] | None = None,
) -> tuple[BankData | None, list[Problem]]:
    """The dataset if it is valid, else None and every problem found (never raises on bad data).

    `now` bounds timestamps (default: the current time; a naive datetime is taken as UTC).
    `channels`, when given, is the set of known channel names; None skips that check.
    """
    folder = Path(path)
    if not folder.is_dir():
        return None, [Problem(file=str(folder), column=None, message="dataset folder not found")]
    now = as_utc(now) if now is not None else datetime.now(UTC)
    tables: dict[str, TypedTable] = {}
    problems: list[Problem] = []
    for spec in (CUSTOMERS, PRODUCTS, EVENTS):
        table, found = _typed(folder, spec)
        problems += found
        if table is not None:
            tables[spec.name] = table
            problems += _table_problems(table, spec, now, event_types, channels)
    if EVENTS.name in tables:
        problems += _reference_problems(tables)
    if problems:
        logger.info("%s: %d problem(s)", folder, len(problems))
        return None, problems
    data = BankData(*(tables[s.name].frame for s in (CUSTOMERS, PRODUCTS, EVENTS)))
    logger.debug("%s: valid, %s", folder, data.summary())  # the callers say so to their users
    return data, []


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive datetime is taken to be UTC already, as in the data files."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _typed(folder: Path, spec: TableSpec) -> tuple[TypedTable | None, list[Problem]]:
    path, problems = find_table_file(folder, spec.name)
    if path is None:
        return None, problems
    raw, problems = read_raw_table(path)
    if raw is None:
        return None, problems
    return type_table(raw, spec)


def _table_problems(
    table: TypedTable,
    spec: TableSpec,
    now: datetime,
    event_types: Collection[str],
    channels: Collection[str] | None,
) -> list[Problem]:
    checks = key_checks(spec)
    if spec is CUSTOMERS:
        checks += customer_checks(now)
    elif spec is PRODUCTS:
        checks += product_checks(channels)
    else:
        checks += event_checks(now, event_types, channels)
    # a column that is missing or wrongly typed is all null: its rules could only stay silent
    checks = [c for c in checks if c.column not in table.unusable]
    return run_row_checks(table.frame, table.file, checks)


def _reference_problems(tables: dict[str, TypedTable]) -> list[Problem]:
    events = tables[EVENTS.name]

    def usable(name: str, key: str) -> TypedTable | None:
        table = tables.get(name)
        ok = table is not None and key not in table.unusable and key not in events.unusable
        return table if ok else None

    customers = usable(CUSTOMERS.name, C.customer_id)
    products = usable(PRODUCTS.name, C.product_id)
    return reference_problems(
        events.file,
        events.frame,
        customers.frame if customers else None,
        products.frame if products else None,
        check_closes=not (_CLOSE_COLUMNS & events.unusable),
    )
