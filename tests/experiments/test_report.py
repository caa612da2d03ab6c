"""The report from decisions and events: who is in which arm, exposure, clicks, and purchases
attributed to an impression within the window."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.experiments.model import Arm, Experiment, Status
from recsys.experiments.report import build, empty_decisions, suitability_violations, violations_of

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
H = timedelta(hours=1)


def experiment(days: float = 14) -> Experiment:
    return Experiment(
        id="exp-1",
        name="t",
        arms=(Arm("champion", 0.5), Arm("control", 0.5)),
        channels=(),
        start_at=T0 - H,
        end_at=T0 + timedelta(days=30),
        challenger="challenger",
        control_policy="popularity",
        attribution_days=days,
        status=Status.running,
        created_by="me",
        created_at=T0,
        updated_by="me",
        updated_at=T0,
    )


def decisions(rows: list[tuple[str, str, str, datetime]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "arm": [r[1] for r in rows],
            "request_id": [r[2] for r in rows],
            "at": [r[3] for r in rows],
            "fallback": [False] * len(rows),
            "latency_ms": [1.0] * len(rows),
            "violations": [0] * len(rows),
            "model_version": ["1"] * len(rows),
        },
        schema=empty_decisions().schema,
    )


def events(rows: list[tuple[str, str, str, datetime, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "product_id": [r[1] for r in rows],
            "event": [r[2] for r in rows],
            "timestamp": [r[3] for r in rows],
            "request_id": [r[4] for r in rows],
        },
        schema={
            "customer_id": pl.String,
            "product_id": pl.String,
            "event": pl.String,
            "timestamp": pl.Datetime("us", "UTC"),
            "request_id": pl.String,
        },
    )


def test_purchases_count_within_the_window_after_an_impression_of_the_product() -> None:
    d = decisions(
        [
            ("a", "champion", "r1", T0),
            ("b", "champion", "r2", T0),
            ("c", "control", "r3", T0),
            ("d", "control", "r4", T0),
        ]
    )
    e = events(
        [
            ("a", "P1", "impression", T0, "r1"),
            ("a", "P1", "click", T0 + H, "r1"),
            ("a", "P1", "purchase", T0 + 2 * H, ""),  # counted: shown, bought 2 h later
            ("a", "P2", "purchase", T0 + 2 * H, ""),  # not shown: not counted
            ("b", "P1", "impression", T0, "r2"),
            ("b", "P1", "purchase", T0 + timedelta(days=15), ""),  # after the 14-day window
            ("c", "P3", "purchase", T0 - H, ""),  # before the impression
            ("c", "P3", "impression", T0, "r3"),
            ("x", "P1", "impression", T0, "other-request"),  # not the experiment's answer
        ]
    )
    r = build(experiment(), d, e, T0 + timedelta(days=20))
    champion, control = r.arm("champion"), r.arm("control")
    assert (champion.assigned, champion.exposed, champion.impressions) == (2, 2, 2)
    assert (champion.clicks, champion.purchases) == (1, 1)
    assert champion.purchase_rate == pytest.approx(0.5)
    assert champion.purchase_rate_exposed == pytest.approx(0.5)
    assert (control.assigned, control.exposed, control.purchases) == (2, 1, 0)
    assert control.lift is not None and control.lift.absolute == pytest.approx(-0.5)
    # a longer window takes b's late purchase in
    longer = build(experiment(days=20), d, e, T0 + timedelta(days=20))
    assert longer.arm("champion").purchases == 2


def test_a_purchase_shown_twice_counts_once() -> None:
    d = decisions(
        [("a", "champion", "r1", T0), ("a", "champion", "r2", T0 + H), ("c", "control", "r3", T0)]
    )
    e = events(
        [
            ("a", "P1", "impression", T0, "r1"),
            ("a", "P1", "impression", T0 + H, "r2"),
            ("a", "P1", "purchase", T0 + 2 * H, ""),
        ]
    )
    r = build(experiment(), d, e, T0 + 3 * H)
    assert r.arm("champion").purchases == 1 and r.arm("champion").impressions == 2
    assert r.to_dict()["arms"][0]["lift"] is None  # the champion is the baseline
    json.dumps(r.to_dict())  # plain values only


def test_an_empty_experiment_reports_zeros() -> None:
    r = build(experiment(), empty_decisions(), events([]), T0)
    assert [a.assigned for a in r.arms] == [0, 0] and not r.srm.flagged and r.series == []


def test_the_series_ends_at_the_last_decision() -> None:
    d = decisions(
        [(f"c{i}", "champion" if i % 2 else "control", f"r{i}", T0 + i * H) for i in range(40)]
    )
    r = build(experiment(), d, events([]), T0 + 50 * H, looks=10)
    assert len(r.series) == 20 and r.series[-1].at == T0 + 39 * H
    assert r.series[-1].customers == 20


def test_suitability_violations_read_from_the_log_row() -> None:
    items = json.dumps([{"product_id": "P1"}, {"product_id": "P2"}])
    assert suitability_violations(items, json.dumps({"suitability": ["P3"]})) == 0
    assert suitability_violations(items, json.dumps({"suitability": ["P2"], "held": ["P1"]})) == 1


def test_batch_answers_without_a_latency_leave_the_p99_undefined() -> None:
    d = decisions([("a", "champion", "r1", T0), ("b", "control", "r2", T0)])
    d = d.with_columns(pl.Series("latency_ms", [None, 2.0], dtype=pl.Float64))
    r = build(experiment(), d, events([]), T0 + H)
    assert math.isnan(r.arm("champion").latency_p99_ms) and r.arm("control").latency_p99_ms == 2.0
    assert r.to_dict()["arms"][0]["latency_p99_ms"] is None
    assert not any("latency" in p for p in r.guardrail_problems("control"))


@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(["P1", "P2", "P3", "P4"]), max_size=4, unique=True),
            st.one_of(st.none(), st.lists(st.sampled_from(["P1", "P2", "P3"]), max_size=3)),
        ),
        max_size=12,
    )
)
def test_the_bulk_count_of_violations_is_the_one_by_one_count(
    rows: list[tuple[list[str], list[str] | None]],
) -> None:
    items = [json.dumps([{"product_id": p, "rank": i} for i, p in enumerate(r[0])]) for r in rows]
    removed = [
        json.dumps({"age": ["P4"]} | ({} if r[1] is None else {"suitability": r[1]})) for r in rows
    ]
    bulk = violations_of(pl.Series(items, dtype=pl.String), pl.Series(removed, dtype=pl.String))
    by_hand = [sum(p in set(r[1] or []) for p in r[0]) for r in rows]
    assert bulk.to_list() == by_hand


def test_value_per_1000_answers_sums_the_attributed_purchases_margins() -> None:
    d = decisions(
        [
            ("a", "champion", "r1", T0),
            ("a", "champion", "r2", T0 + H),
            ("b", "champion", "r3", T0),
            ("c", "control", "r4", T0),
        ]
    )
    e = events(
        [
            ("a", "P1", "impression", T0, "r1"),
            ("a", "P1", "purchase", T0 + H, ""),
            ("b", "P2", "impression", T0, "r3"),
            ("b", "P2", "purchase", T0 + H, ""),
            ("b", "P9", "purchase", T0 + H, ""),  # never shown: no value
            ("c", "P1", "impression", T0, "r4"),
        ]
    )
    r = build(experiment(), d, e, T0 + 3 * H, values={"P1": 100.0, "P2": 20.0, "P9": 1e6})
    champion, control = r.arm("champion"), r.arm("control")
    assert (champion.answers, champion.value) == (3, 120.0)
    assert champion.value_per_1000_answers == pytest.approx(40_000.0)  # 120 over 3 answers
    assert champion.value_per_1000_low < 40_000.0 < champion.value_per_1000_high
    assert (control.answers, control.value, control.value_per_1000_answers) == (1, 0.0, 0.0)


def test_values_are_read_off_the_logged_items() -> None:
    from recsys.experiments.value import values_of

    rows = [
        json.dumps([{"product_id": "P1", "value": 12.5}, {"product_id": "P2"}]),
        json.dumps([{"product_id": "P1", "value": 13.0}]),
        "[]",
    ]
    assert values_of(rows) == {"P1": 13.0}


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.sampled_from(["P1", "P2", "P3"]),
                st.none() | st.floats(0, 1e6, allow_nan=False),
            ),
            max_size=4,
        ),
        max_size=6,
    )
)
def test_values_read_in_bulk_equal_reading_each_item_in_turn(rows) -> None:
    from recsys.experiments.value import values_of

    texts = [
        json.dumps([{"product_id": p, **({} if v is None else {"value": v})} for p, v in row])
        for row in rows
    ]
    expected: dict[str, float] = {}
    for row in rows:  # the definition: the last value logged for a product wins
        for p, v in row:
            if v is not None:
                expected[p] = v
    assert values_of(texts) == expected
