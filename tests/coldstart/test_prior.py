"""The cold-start prior: learned from similar products, it ranks a new one for the right people."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recsys.coldstart.evaluate import evaluate_unseen
from recsys.coldstart.features import product_tokens
from recsys.coldstart.prior import ColdStartPrior, fit_prior
from recsys.columns import Columns as C
from recsys.data.generate import generate
from recsys.evaluation.unseen import held_out_split

TODAY = date(2025, 1, 1)


def customers(segments: list[str]) -> pl.DataFrame:
    n = len(segments)
    return pl.DataFrame(
        {
            C.customer_id: [f"c{i}" for i in range(n)],
            C.segment: segments,
            C.risk_tolerance: [3] * n,
            C.birth_year: [1980] * n,
        }
    )


def products(ids: list[str], categories: list[str], tags: list[list[str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            C.product_id: ids,
            C.category: categories,
            C.risk_rating: [1] * len(ids),
            C.tags: tags,
        }
    )


def test_a_new_product_is_ranked_by_what_it_is() -> None:
    people = customers(["saver"] * 30 + ["borrower"] * 30)
    seen = products(
        ["D1", "D2", "L1", "L2"], ["deposit", "deposit", "loan", "loan"], [["green"], [], [], []]
    )
    bought = np.zeros((60, 4))
    bought[:30, :2] = 1  # savers take deposits
    bought[30:, 2:] = 1  # borrowers take loans
    prior = fit_prior(people, seen, bought, TODAY)
    new = products(["D_NEW", "L_NEW"], ["deposit", "loan"], [["green"], ["never_seen"]])
    s = prior.scores(people, new)
    assert (s[:30, 0] > s[:30, 1]).all() and (s[30:, 1] > s[30:, 0]).all()


def test_tokens_name_every_attribute_the_contract_has() -> None:
    frame = pl.DataFrame(
        {
            C.category: ["term_deposit"],
            C.risk_rating: [1],
            C.term_months: [12],
            C.channels: [["mobile", "web"]],
            C.tags: [["green"]],
            C.min_age: [18],
            C.max_age: [None],
        },
        schema_overrides={C.max_age: pl.Int16},
    )
    assert product_tokens(frame) == [
        [
            "constant",
            "category=term_deposit",
            "risk=1",
            "min_age=<=25",
            "term=<=12",
            "channel=mobile",
            "channel=web",
            "tag=green",
        ]
    ]


def test_prior_round_trips_through_npz(tmp_path: Path) -> None:
    people = customers(["a", "b", "a"])
    seen = products(["P1", "P2"], ["x", "y"], [[], []])
    prior = fit_prior(people, seen, np.array([[1, 0], [0, 1], [1, 0]]), TODAY)
    prior.save(tmp_path / "prior.npz")
    loaded = ColdStartPrior.load(tmp_path / "prior.npz")
    np.testing.assert_array_equal(loaded.scores(people, seen), prior.scores(people, seen))
    assert loaded.today == TODAY


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="bought has shape"):
        fit_prior(customers(["a"]), products(["P"], ["x"], [[]]), np.zeros((2, 1)), TODAY)


def test_on_a_generated_bank_the_prior_beats_a_flat_prior() -> None:
    bank = generate(3000, seed=7)
    held = ["CC_PLATINUM", "CA_SALARY", "MF_BALANCED", "TD_12M", "INS_HOME", "AL_NEW"]
    split = held_out_split(bank.events, held, datetime(2025, 9, 1, tzinfo=UTC), 90)
    got = evaluate_unseen(bank, split)
    assert got["flat"]["auc"] == 0.5 and got["flat"]["customer_auc"] == 0.5
    assert got["prior"]["auc"] > 0.6
    assert got["prior"]["customer_auc"] > 0.6
    assert got["prior"]["hit_at_1"] > got["flat"]["hit_at_1"]
