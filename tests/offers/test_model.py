"""Offer, Target and FrequencyCap refuse bad values with the field's name first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys.offers.model import (
    Action,
    FrequencyCap,
    Offer,
    OfferDraft,
    OfferProblem,
    OfferProblems,
    Status,
    Target,
    split_list,
)

START = datetime(2025, 3, 1, tzinfo=UTC)
END = datetime(2025, 4, 1, tzinfo=UTC)


def offer(**changes: object) -> Offer:
    base: dict[str, object] = {
        "name": "spring deposits",
        "product_id": "P1",
        "start_at": START,
        "end_at": END,
        "action": Action.boost,
        "boost": 1.5,
    }
    return Offer(**(base | changes))  # type: ignore[arg-type]


def problem_of(make: object) -> OfferProblem:
    with pytest.raises(OfferProblem) as info:
        make()  # type: ignore[operator]
    return info.value


def test_a_valid_offer_keeps_its_values_and_starts_as_a_draft() -> None:
    o = offer(channels=("mobile", "web"), cap=FrequencyCap(2, 7), volume_cap=100)
    assert o.status == Status.draft and o.max_share == 1.0 and o.priority == 0
    assert o.channels == ("mobile", "web") and str(o.cap) == "2/7d"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"name": "  "}, "name", "1-200 characters"),
        ({"name": "x" * 201}, "name", "1-200 characters"),
        ({"product_id": ""}, "product", "required"),
        ({"end_at": START}, "end", "is not after start"),
        ({"end_at": START - timedelta(days=1)}, "end", "is not after start"),
        ({"start_at": datetime(2025, 3, 1)}, "start_at", "timezone-aware"),
        ({"boost": 1.0}, "boost", "factor > 1"),
        ({"boost": float("nan")}, "boost", "factor > 1"),
        ({"boost": None}, "boost", "factor > 1"),
        ({"action": Action.pin, "boost": None, "pin": 0}, "pin", "position >= 1"),
        ({"action": Action.pin, "pin": 2}, "boost", "either a boost factor or a pin"),
        ({"pin": 2}, "pin", "either a boost factor or a pin"),
        ({"max_share": 0.0}, "max_share", "(0, 1]"),
        ({"max_share": 1.5}, "max_share", "(0, 1]"),
        ({"volume_cap": 0}, "volume_cap", "positive"),
        ({"volume_cap": -3}, "volume_cap", "positive"),
        ({"channels": ("web", "web")}, "channels", "repeated channel"),
    ],
)
def test_bad_offer_values_name_the_field(changes: dict, field: str, words: str) -> None:
    found = problem_of(lambda: offer(**changes))
    assert found.field == field
    assert str(found).startswith(f"{field}: ") and words in str(found)


# bad values that do not depend on each other: field -> the change that makes it bad
INDEPENDENT_PROBLEMS = {
    "name": {"name": " "},
    "end": {"end_at": START},
    "boost": {"boost": 0.5},
    "max_share": {"max_share": 0.0},
    "volume_cap": {"volume_cap": 0},
    "channels": {"channels": ("web", "web")},
}


@given(st.sets(st.sampled_from(sorted(INDEPENDENT_PROBLEMS)), min_size=1))
def test_every_bad_field_of_an_offer_is_reported_together(bad: set[str]) -> None:
    changes = {k: v for name in bad for k, v in INDEPENDENT_PROBLEMS[name].items()}
    found = problem_of(lambda: offer(**changes))
    assert sorted(p.field for p in found.each) == sorted(bad)
    assert isinstance(found, OfferProblems) == (len(bad) > 1)
    assert str(found).splitlines() == [str(p) for p in found.each]


def test_a_target_reports_each_bad_field() -> None:
    found = problem_of(lambda: Target(age_min=-1, age_max=151, min_risk_tolerance=9))
    assert [p.field for p in found.each] == ["age_min", "age_max", "min_risk_tolerance"]


def test_a_draft_reports_what_could_not_be_read_with_what_is_wrong() -> None:
    unread = OfferProblem("start_at", "is required")
    values = {"name": "", "product_id": "P1", "end_at": END, "action": Action.pin, "pin": 0}
    draft = OfferDraft(values, (unread,))
    assert [p.field for p in draft.all_problems()] == ["start_at", "name", "pin"]
    assert [p.field for p in problem_of(draft.build).each] == ["start_at", "name", "pin"]
    fine = OfferDraft({**values, "name": "n", "pin": 1, "start_at": START})
    assert fine.build().pin == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"age_min": -1}, "age_min"),
        ({"age_max": 151}, "age_max"),
        ({"age_min": 40, "age_max": 30}, "age_max"),
        ({"min_risk_tolerance": 0}, "min_risk_tolerance"),
        ({"min_risk_tolerance": 6}, "min_risk_tolerance"),
    ],
)
def test_bad_target_values_name_the_field(changes: dict, field: str) -> None:
    assert problem_of(lambda: Target(**changes)).field == field


def test_target_edges_are_accepted() -> None:
    t = Target(age_min=18, age_max=18, min_risk_tolerance=5, customers=frozenset())
    assert t.customers == frozenset() and Target().customers is None


@pytest.mark.parametrize("text", ["2/7d", " 2 / 7 d ", "10/30d"])
def test_cap_parses_n_per_d_days(text: str) -> None:
    cap = FrequencyCap.parse(text)
    assert (cap.impressions, cap.days) == tuple(int(x) for x in text.replace("d", "").split("/"))


@pytest.mark.parametrize("text", ["", "2/7", "2/7w", "two/7d", "-1/7d", "2/-7d", "2/7d/1"])
def test_cap_refuses_other_forms(text: str) -> None:
    found = problem_of(lambda: FrequencyCap.parse(text))
    assert found.field == "cap" and "N/Dd" in str(found)


@pytest.mark.parametrize("text", ["0/7d", "2/0d"])
def test_cap_refuses_zero(text: str) -> None:
    assert "N >= 1 and D >= 1" in str(problem_of(lambda: FrequencyCap.parse(text)))


@given(st.integers(1, 10_000), st.integers(1, 3650))
def test_cap_text_round_trips(n: int, d: int) -> None:
    cap = FrequencyCap(n, d)
    assert FrequencyCap.parse(str(cap)) == cap


def test_with_changes_rechecks_and_refuses_unknown_fields() -> None:
    o = offer()
    assert o.with_changes(priority=3).priority == 3
    assert problem_of(lambda: o.with_changes(end_at=START)).field == "end"
    assert problem_of(lambda: o.with_changes(colour="red")).field == "colour"


def test_live_only_when_active_inside_the_window() -> None:
    active = offer(status=Status.active)
    assert active.live_at(START) and not active.live_at(END)
    assert not offer().live_at(START + timedelta(days=1))
    assert not offer(status=Status.paused).live_at(START + timedelta(days=1))


@given(st.lists(st.sampled_from(["a", "b", " c ", "", "  "]), max_size=8))
def test_split_list_trims_drops_empties_and_repeats(items: list[str]) -> None:
    from_text = split_list(",".join(items))
    assert from_text == split_list(items)
    assert all(s and s == s.strip() for s in from_text)
    assert len(set(from_text)) == len(from_text)
    assert set(from_text) == {s.strip() for s in items if s.strip()}
