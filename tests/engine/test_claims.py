"""Claims: a model's evidence named for the fact it rests on, or dropped; facts per state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from recsys.engine.claims import GENERIC, Claim, ShownReason, claims, kind_of, offer_claim
from recsys.engine.facts import DEFAULT_RECENT_DAYS, facts_of
from recsys.engine.state import BatchState
from recsys.models.reason import CO_HELD_TEXT, POPULAR, Reason, ReasonCode
from recsys.settings import Settings

IDS = ["CA", "CC", "TD", "INS"]
NAMES = ["Current", "Card", "Deposit", "Insurance {gold}"]
NOW = datetime(2026, 7, 1, tzinfo=UTC)


def cited(p: int) -> Reason:
    return Reason(ReasonCode.co_held, CO_HELD_TEXT, (p,), 1.0)


def row(*on: int) -> np.ndarray:
    out = np.zeros(4, dtype=bool)
    out[list(on)] = True
    return out


def test_each_cited_product_becomes_the_strongest_fact_or_nothing() -> None:
    facts = (row(0), row(0, 1), row(2, 1))  # recent, held, looked
    found = [cited(0), cited(1), cited(2), cited(3)]
    assert claims(found, 3, facts, IDS, NAMES) == (
        ShownReason("recent:CA", "you recently opened Current; often taken next"),
        ShownReason("hold:CC", "you hold Card; often added to it"),
        ShownReason("looked:TD", "you looked at Deposit"),
    )  # INS: no fact, no claim


def test_a_product_is_never_its_own_reason_and_nothing_left_is_the_generic_claim() -> None:
    facts = (row(), row(1), row())
    assert claims([cited(1)], 1, facts, IDS, NAMES) == (GENERIC,)
    assert claims([POPULAR], 1, facts, IDS, NAMES) == (GENERIC,)
    assert claims([], 1, facts, IDS, NAMES) == (GENERIC,)


def test_profile_and_segment_reasons_keep_their_text_one_claim_per_code() -> None:
    segment = Reason(ReasonCode.popular_segment, "popular in your segment ({{vip}})")
    profile = Reason(ReasonCode.similar_profile, "popular with customers like you (age 30)")
    facts = (row(), row(0), row())
    got = claims([segment, cited(0), cited(0), profile], 2, facts, IDS, NAMES)
    assert [c.code for c in got] == [Claim.segment_popular, "hold:CA", Claim.popular_like_you]
    assert got[0].text == "popular in your segment ({vip})"
    assert claims([cited(3)], 0, (row(), row(3), row()), IDS, NAMES)[0].text.startswith(
        "you hold Insurance {gold}"
    )


def test_codes_and_offer_claims() -> None:
    assert offer_claim("off_1", "Spring") == ShownReason("offer:off_1", "offer: Spring")
    assert (
        kind_of("offer:off_1") == Claim.offer and kind_of("popular_like_you") == "popular_like_you"
    )
    assert Settings(mlflow_tracking_uri=None).reason_recent_days == DEFAULT_RECENT_DAYS


def micros(at: datetime) -> int:
    return (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def test_facts_read_held_quantities_purchase_dates_and_looks() -> None:
    bought = np.zeros((1, 4), np.int64)
    bought[0, 0] = micros(NOW - timedelta(days=10))
    bought[0, 1] = micros(NOW - timedelta(days=200))  # bought long ago, closed since
    looked = np.zeros((1, 4), np.int64)
    looked[0, 2] = micros(NOW - timedelta(days=900))
    held = np.array([[1, 0, 0, 2]])
    state = BatchState(
        ["c"],
        np.array([0]),
        held.astype(np.float32),
        held,
        None,
        None,
        bought_at=bought,
        looked_at=looked,
    )  # type: ignore[arg-type]
    facts = facts_of(state, NOW, 30)
    assert facts.recent[0].tolist() == [True, False, False, False]
    assert facts.held[0].tolist() == [True, False, False, True]
    assert facts.looked[0].tolist() == [False, False, True, False]
    assert facts.citable[0].tolist() == [True, False, True, True]
    assert facts_of(state, NOW, 365).recent[0].tolist() == [True, True, False, False]
    with pytest.raises(ValueError, match="recent_days"):
        facts_of(state, NOW, 0)
