"""The unseen-products protocol: splits that hide products, ranking figures, the flat yardstick."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.evaluation.unseen import (
    customer_auc,
    flat_metrics,
    held_out_split,
    launched_split,
    ranking_metrics,
    truth_rows,
)

CUT = datetime(2025, 1, 1, tzinfo=UTC)


def events(rows: list[tuple[str, str, str, int]]) -> pl.DataFrame:
    """(customer, product, event, day of Jan 2025 or negative for Dec 2024)."""
    return pl.DataFrame(
        {
            C.customer_id: [r[0] for r in rows],
            C.product_id: [r[1] for r in rows],
            C.event: [r[2] for r in rows],
            C.timestamp: [
                datetime(2025, 1, r[3], tzinfo=UTC)
                if r[3] > 0
                else datetime(2024, 12, -r[3], tzinfo=UTC)
                for r in rows
            ],
        }
    )


EVENTS = events(
    [
        ("a", "OLD", "purchase", -5),
        ("a", "NEW", "view", -3),
        ("b", "OLD", "purchase", -2),
        ("a", "NEW", "purchase", 3),
        ("b", "LAUNCH", "purchase", 4),
        ("b", "OLD", "purchase", 5),
    ]
)


def test_held_out_products_leave_the_training_period_entirely() -> None:
    split = held_out_split(EVENTS, ["NEW"], CUT, 30)
    assert "NEW" not in split.train[C.product_id].to_list()
    assert split.train[C.timestamp].max() < CUT
    assert split.test.rows() == [("a", "NEW")]


def test_launched_products_are_those_without_events_before_the_cutoff() -> None:
    assert launched_split(EVENTS, CUT, 30).unseen == ("LAUNCH",)
    with pytest.raises(ValueError, match="no product launched"):
        launched_split(EVENTS, datetime(2025, 1, 10, tzinfo=UTC), 30)


def test_truth_rows() -> None:
    customers, truth = truth_rows(held_out_split(EVENTS, ["NEW", "LAUNCH"], CUT, 30))
    assert customers == ["a", "b"] and truth.tolist() == [[True, False], [False, True]]


def test_perfect_and_flat_scorers() -> None:
    bought = np.array([[True, False, False], [False, False, True]])
    perfect = ranking_metrics(bought.astype(float), bought)
    assert (perfect["auc"], perfect["hit_at_1"], perfect["ndcg"]) == (1.0, 1.0, 1.0)
    flat = flat_metrics(bought)
    assert flat["auc"] == 0.5 and flat["hit_at_1"] == pytest.approx(1 / 3, abs=0.08)
    worst = ranking_metrics(-bought.astype(float), bought)
    assert worst["auc"] == 0.0 and worst["hit_at_1"] == 0.0


def test_products_the_rules_forbid_are_no_candidates() -> None:
    bought = np.array([[False, True, False]])
    scores = np.array([[9.0, 1.0, 0.0]])  # the best-scored product is not allowed
    allowed = np.array([[False, True, True]])
    assert ranking_metrics(scores, bought, allowed)["hit_at_1"] == 1.0
    assert ranking_metrics(scores, bought)["hit_at_1"] == 0.0


def test_customer_auc_tells_buyers_from_the_others() -> None:
    bought = np.array([[True], [False], [False], [True]])
    allowed = np.ones_like(bought)
    assert customer_auc(np.array([[3.0], [1.0], [2.0], [4.0]]), bought, allowed) == 1.0
    assert customer_auc(np.zeros((4, 1)), bought, allowed) == 0.5
