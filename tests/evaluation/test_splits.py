"""Splits: time cut with held products removed from truth, rolling months, hide-one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.schema import UTC_DATETIME
from recsys.evaluation.splits import hide_one_split, rolling_monthly_splits, time_split

CUTOFF = datetime(2024, 2, 1, tzinfo=UTC)


def _t(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2024, month, day, hour, tzinfo=UTC)


def _events(rows: list[tuple[str, str, str, datetime]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            C.customer_id: pl.String,
            C.product_id: pl.String,
            C.event: pl.String,
            C.timestamp: UTC_DATETIME,
        },
        orient="row",
    )


def _products(ids=("A", "B", "R"), repeatable=("R",)) -> pl.DataFrame:
    return pl.DataFrame({C.product_id: list(ids), C.repeatable: [p in repeatable for p in ids]})


BUY, CLOSE, VIEW = Events.purchase, Events.close, Events.view
EVENTS = _events(
    [
        ("u1", "A", BUY, _t(1, 10)),
        ("u1", "B", BUY, _t(2, 5)),  # in window: truth
        ("u1", "A", BUY, _t(2, 6)),  # already held, not repeatable: not truth
        ("u1", "R", BUY, _t(1, 5)),
        ("u1", "R", BUY, _t(2, 10)),  # held but repeatable: truth
        ("u2", "A", BUY, _t(1, 20)),
        ("u2", "A", CLOSE, _t(1, 25)),
        ("u2", "A", BUY, _t(2, 3)),  # closed before the cutoff: truth again
        ("u2", "B", VIEW, _t(2, 7)),  # not a target event
        ("u3", "A", BUY, _t(2, 1)),  # exactly at the cutoff: test side
        ("u3", "B", BUY, _t(3, 15)),  # after the window
        ("u4", "B", BUY, _t(3, 2)),  # exactly cutoff + 30 days: window end is exclusive
    ]
)


def _pairs(frame: pl.DataFrame) -> list[tuple[str, str]]:
    return list(frame.select(C.customer_id, C.product_id).iter_rows())


def test_time_split_hand_worked():
    split = time_split(EVENTS, CUTOFF, 30, products=_products())
    assert _pairs(split.test) == [("u1", "B"), ("u1", "R"), ("u2", "A"), ("u3", "A")]
    assert split.train[C.timestamp].max() < CUTOFF
    assert split.train.height == 4 and split.cutoff == CUTOFF
    assert split.test_customers.to_list() == ["u1", "u2", "u3"]


def test_time_split_other_target_events():
    split = time_split(EVENTS, CUTOFF, 30, products=_products(), target_events=(VIEW,))
    assert _pairs(split.test) == [("u2", "B")]


@pytest.mark.parametrize(
    ("cutoff", "window", "message"),
    [
        (datetime(2024, 2, 1), 30, "cutoff must be timezone-aware"),
        (CUTOFF, 0, "window_days must be an integer >= 1"),
        (datetime(2030, 1, 1, tzinfo=UTC), 30, r"no \['purchase'\] events in"),
    ],
)
def test_time_split_bad_input(cutoff, window, message):
    with pytest.raises(ValueError, match=message):
        time_split(EVENTS, cutoff, window, products=_products())


def test_unknown_product_in_training_events_is_an_error():
    with pytest.raises(ValueError, match="not in products"):
        time_split(EVENTS, CUTOFF, 30, products=_products(ids=("B", "R")))


def test_rolling_monthly_splits():
    events = _events(
        [
            ("u1", "A", BUY, _t(1, 28)),
            ("u2", "B", BUY, _t(2, 28)),
            ("u1", "A", BUY, _t(3, 28)),  # still held: not truth
            ("u1", "B", BUY, _t(3, 28)),
            ("u3", "R", BUY, _t(4, 28)),
            ("u2", "A", BUY, _t(4, 1)),
        ]
    )
    splits = rolling_monthly_splits(events, 2, products=_products())
    assert [s.label for s in splits] == ["2024-03", "2024-04"]
    assert [s.cutoff for s in splits] == [_t(3, 1), _t(4, 1)]
    assert _pairs(splits[0].test) == [("u1", "B")]
    assert _pairs(splits[1].test) == [("u2", "A"), ("u3", "R")]
    assert splits[0].train.height == 2 and splits[1].train.height == 4
    with pytest.raises(ValueError, match="need more than last_n_months=4 months"):
        rolling_monthly_splits(events, 4, products=_products())


def _santander_events(folder: Path) -> pl.DataFrame:
    raw = pl.read_csv(folder / "adoption_events.csv", infer_schema=False)
    return raw.select(
        pl.col("USER_ID").alias(C.customer_id),
        pl.col("ITEM_ID").alias(C.product_id),
        pl.lit(BUY).alias(C.event),
        pl.from_epoch(pl.col("TIMESTAMP").cast(pl.Int64), "s")
        .dt.replace_time_zone("UTC")
        .cast(UTC_DATETIME)
        .alias(C.timestamp),
    )


def test_santander_protocol_on_the_real_sample(real_dataset: Callable[[str], Path]):
    events = _santander_events(real_dataset("santander"))
    products = pl.DataFrame({C.product_id: events[C.product_id].unique(), C.repeatable: False})
    splits = rolling_monthly_splits(events, 4, products=products)
    months = events.group_by(pl.col(C.timestamp).dt.truncate("1mo")).len().sort(C.timestamp)
    for split, (start, adoptions) in zip(splits, months.tail(4).iter_rows(), strict=True):
        # Each row is a first adoption, so nothing in the month is held before it.
        assert split.cutoff == start and split.test.height == adoptions
        assert split.train[C.timestamp].max() < start
        assert split.train.height == events.filter(pl.col(C.timestamp) < start).height


HOLDINGS = pl.DataFrame(
    {
        C.customer_id: ["u1", "u1", "u1", "u2", "u3", "u3", "u4", "u4"],
        C.product_id: ["A", "B", "C", "A", "B", "C", "A", "B"],
        C.quantity: [1, 1, 1, 1, 1, 1, 1, 1],
    }
)


def test_hide_one_hides_exactly_one_held_product_per_chosen_customer():
    split = hide_one_split(HOLDINGS, 2, seed=3)
    assert split.test.height == 2 and split.test[C.customer_id].n_unique() == 2
    assert set(split.test[C.customer_id]) <= {"u1", "u3", "u4"}  # u2 holds only one
    assert split.train.height == HOLDINGS.height - 2
    assert split.train.join(split.test, on=[C.customer_id, C.product_id]).is_empty()
    restored = pl.concat([split.train.select(C.customer_id, C.product_id), split.test])
    assert sorted(_pairs(restored)) == sorted(_pairs(HOLDINGS))
    assert split.cutoff is None


def test_hide_one_is_deterministic_per_seed_and_varies_across_seeds():
    first = hide_one_split(HOLDINGS, None, seed=5)
    assert first.test.equals(hide_one_split(HOLDINGS, None, seed=5).test)
    assert first.test[C.customer_id].to_list() == ["u1", "u3", "u4"]
    hidden = {tuple(_pairs(hide_one_split(HOLDINGS, 2, seed=s).test)) for s in range(30)}
    assert len(hidden) > 3


def test_hide_one_on_events_removes_every_row_of_the_hidden_pair():
    events = _events(
        [
            ("u1", "A", BUY, _t(1, 1)),
            ("u1", "A", VIEW, _t(1, 2)),
            ("u1", "B", BUY, _t(1, 3)),
            ("u1", "B", VIEW, _t(1, 4)),
            ("u1", "C", VIEW, _t(1, 5)),  # viewed, never bought: never hidden
        ]
    )
    for seed in range(10):
        split = hide_one_split(events, 1, seed=seed)
        ((customer, product),) = _pairs(split.test)
        assert product in ("A", "B")
        assert split.train.filter(pl.col(C.product_id) == product).is_empty()
        assert split.train.height == 3


@pytest.mark.parametrize(("n", "min_held"), [(4, 2), (0, 2), (1, 4)])
def test_hide_one_refuses_impossible_requests(n, min_held):
    with pytest.raises(ValueError, match="cannot hide one product"):
        hide_one_split(HOLDINGS, n, min_held=min_held)


def test_hide_one_on_the_real_zimnat_holdings(real_dataset: Callable[[str], Path]):
    raw = pl.read_csv(real_dataset("zimnat") / "Train.csv", infer_schema=False)
    codes = raw.columns[8:]
    held = (
        raw.unpivot(codes, index="ID", variable_name=C.product_id, value_name="flag")
        .filter(pl.col("flag") == "1")
        .select(pl.col("ID").alias(C.customer_id), C.product_id)
    )
    split = hide_one_split(held, 1000, seed=0)
    assert split.test.height == 1000 and split.test[C.customer_id].n_unique() == 1000
    assert split.train.height == held.height - 1000
    left = split.train.filter(pl.col(C.customer_id).is_in(split.test[C.customer_id].implode()))
    assert left[C.customer_id].n_unique() == 1000  # everyone keeps at least one product


def test_one_more_day_of_window_takes_in_the_boundary_purchase():
    split = time_split(EVENTS, CUTOFF, 31, products=_products())
    assert ("u4", "B") in _pairs(split.test) and split.test.height == 5
