"""Properties: any single corruption of a valid dataset is reported, naming its file and column;
the vectorised close check agrees with a hand replay."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.checks_closes import close_without_holding_query
from recsys.data.dataset import BankData
from recsys.data.schema import UTC_DATETIME
from recsys.data.validate import validate_dataset
from recsys.data.write import write_dataset

NOW = datetime(2024, 12, 31, tzinfo=UTC)
KEYS = {
    "customers": [C.customer_id],
    "products": [C.product_id],
    "events": [C.customer_id, C.product_id, C.event, C.timestamp],
}
TYPED = {
    "customers": [C.birth_year, C.risk_tolerance, C.marketing_consent, C.joined_at],
    "products": [C.risk_rating, C.min_age, C.max_age, C.repeatable, C.active_from, C.active_to],
    "events": [C.timestamp, C.amount],
}
RATINGS = {"customers": C.risk_tolerance, "products": C.risk_rating}


def with_cell(frame: pl.DataFrame, column: str, row: int, value: object) -> pl.DataFrame:
    """`frame` with 0-based `row` of `column` set to `value` (column dtype kept unless text)."""
    values = frame[column].to_list()
    values[row] = value
    dtype = pl.String if isinstance(value, str) else frame.schema[column]
    return frame.with_columns(pl.Series(column, values, dtype=dtype))


def as_text(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """The column as the text CSV would hold: in Parquet a string column of a typed field."""
    return frame.with_columns(pl.col(column).cast(pl.String))


@st.composite
def corruptions(draw: st.DrawFn) -> tuple[str, str, str, object]:
    """(kind, table, column, detail) of one corruption."""
    kind = draw(
        st.sampled_from(["null_key", "break_type", "rating", "unknown_id", "duplicate", "future"])
    )
    if kind == "null_key":
        table = draw(st.sampled_from(list(KEYS)))
        return kind, table, draw(st.sampled_from(KEYS[table])), None
    if kind == "break_type":
        table = draw(st.sampled_from(list(TYPED)))
        column = draw(st.sampled_from(TYPED[table]))
        garbage = ["??", "3.5", "yes", "2024-13-45", "1e999x", "N/A"]
        if column == C.amount:  # a float column: "3.5" is a valid amount, not garbage
            garbage.remove("3.5")
        return kind, table, column, draw(st.sampled_from(garbage))
    if kind == "rating":
        table = draw(st.sampled_from(list(RATINGS)))
        return kind, table, RATINGS[table], draw(st.sampled_from([0, 6, -3, 127]))
    if kind == "unknown_id":
        return kind, "events", draw(st.sampled_from([C.customer_id, C.product_id])), "zz-unknown"
    if kind == "duplicate":
        table = draw(st.sampled_from(["customers", "products"]))
        return kind, table, KEYS[table][0], None
    return kind, "events", C.timestamp, draw(st.integers(1, 10**6))


def corrupt(
    data: BankData, kind: str, table: str, column: str, detail: object, rows: tuple[int, int]
) -> BankData:
    """`data` with one corruption applied at one row (or two, for duplicates)."""
    frame: pl.DataFrame = getattr(data, table)
    row, other = (r % frame.height for r in rows)
    if kind == "null_key":
        frame = with_cell(frame, column, row, None)
    elif kind == "break_type":
        frame = with_cell(as_text(frame, column), column, row, detail)
    elif kind in ("rating", "unknown_id"):
        frame = with_cell(frame, column, row, detail)
    elif kind == "duplicate":
        other = other if other != row else (row + 1) % frame.height
        frame = with_cell(frame, column, row, frame[column][other])
    else:
        frame = with_cell(frame, column, row, NOW + timedelta(seconds=int(detail)))
    return replace(data, **{table: frame})


# the fixture's frames are immutable and never mutated here, so sharing them across examples is safe
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    corruption=corruptions(),
    rows=st.tuples(st.integers(0, 100), st.integers(0, 100)),
    fmt=st.sampled_from(["parquet", "csv"]),
)
def test_a_corrupted_dataset_never_validates_silently(
    tiny_bank_data: BankData,
    corruption: tuple[str, str, str, object],
    rows: tuple[int, int],
    fmt: str,
) -> None:
    kind, table, column, detail = corruption
    broken = corrupt(tiny_bank_data, kind, table, column, detail, rows)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(broken, Path(tmp), fmt=fmt)
        data, problems = validate_dataset(folder, now=NOW)
    assert data is None
    named = [p for p in problems if p.file == f"{table}.{fmt}" and p.column == column]
    assert named, f"{kind} at {table}.{column} not reported; got {[str(p) for p in problems]}"


def test_the_uncorrupted_dataset_validates(tiny_bank_data: BankData, tmp_path: Path) -> None:
    for fmt in ("parquet", "csv"):
        folder = write_dataset(tiny_bank_data, tmp_path / fmt, fmt=fmt)
        assert validate_dataset(folder, now=NOW)[1] == []


def replayed_wrong_closes(moves: list[tuple[str, str, str, int]]) -> set[int]:
    """Reference: 1-based rows of closes with nothing held, replaying each pair by hand."""
    order = sorted(range(len(moves)), key=lambda i: (moves[i][3], moves[i][2] != Events.purchase))
    held: dict[tuple[str, str], int] = {}
    wrong = set()
    for i in order:
        customer, product, event, _ = moves[i]
        pair = (customer, product)
        if event == Events.purchase:
            held[pair] = held.get(pair, 0) + 1
        elif event == Events.close and held.get(pair, 0) == 0:
            wrong.add(i + 1)
        elif event == Events.close:
            held[pair] -= 1
    return wrong


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["c1", "c2"]),
            st.sampled_from(["p1", "p2"]),
            st.sampled_from([Events.purchase, Events.close, Events.view]),
            st.integers(0, 6),
        ),
        max_size=30,
    )
)
def test_close_check_matches_a_hand_replay(moves: list[tuple[str, str, str, int]]) -> None:
    events = pl.DataFrame(
        {
            C.customer_id: [m[0] for m in moves],
            C.product_id: [m[1] for m in moves],
            C.event: [m[2] for m in moves],
            C.timestamp: [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=m[3]) for m in moves],
        },
        schema={
            C.customer_id: pl.String,
            C.product_id: pl.String,
            C.event: pl.String,
            C.timestamp: UTC_DATETIME,
        },
    )
    found = close_without_holding_query(events).collect()
    assert set(found[C.row].to_list()) == replayed_wrong_closes(moves)
