"""Arbitration by value: keys, the floor, where values and levers come from."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from recsys.ranking.policy import ProductValues, product_values, value_keys
from recsys.settings import RankingConfig


def test_value_reorders_and_the_floor_keeps_unlikely_big_tickets_down() -> None:
    values = ProductValues(np.array([1, 10, 1000], np.float32), np.array([1, 1, 1], np.float32))
    p = np.array([[0.30, 0.05, 0.001]], np.float32)
    # by value alone the mortgage-like third product (0.001 x 1000 = 1) beats the first (0.3)
    assert np.argsort(-value_keys(p, values))[0].tolist() == [2, 1, 0]
    # under a floor of 1%, it ranks after both, by its probability
    assert np.argsort(-value_keys(p, values, 0.01))[0].tolist() == [1, 0, 2]


def test_lever_multiplies_the_expected_value() -> None:
    values = ProductValues(np.array([10, 10], np.float32), np.array([1.0, 1.2], np.float32))
    keys = value_keys(np.array([[0.5, 0.5]], np.float32), values)
    assert keys[0].tolist() == pytest.approx([5.0, 6.0])


def test_values_and_levers_precedence() -> None:
    out = product_values(
        ["A", "B", "C", "D"],
        ["dep", "dep", "card", "card"],
        np.array([7.0, 8.0, np.nan, np.nan]),
        values={"A": 1.0, "card": 3.0},
        levers={"dep": 1.2, "D": 0.5},
        default_value=2.0,
    )
    assert out.value.tolist() == [1.0, 8.0, 3.0, 3.0]  # id > file > category > default
    assert out.lever.tolist() == pytest.approx([1.2, 1.2, 1.0, 0.5])  # id > category > 1


def test_ranking_config_refuses_negative_values_and_unknown_policies() -> None:
    with pytest.raises(ValidationError, match="must be finite and >= 0"):
        RankingConfig(levers={"term_deposit": -1.0})
    with pytest.raises(ValidationError, match="policy"):
        RankingConfig(policy="random")  # type: ignore[arg-type]


def test_an_experiment_arm_may_rank_by_another_policy() -> None:
    config = RankingConfig(arm_policies={"challenger": "value"})
    assert config.for_arm("challenger").policy == "value"
    assert config.for_arm("champion") is config and config.for_arm("") is config
    with pytest.raises(ValidationError):
        RankingConfig(arm_policies={"challenger": "random"})  # type: ignore[dict-item]
