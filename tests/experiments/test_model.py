"""Experiment drafts: defaults filled, shares normalised, every problem reported at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recsys.experiments.model import Arm, Draft, ExperimentProblem, check, parse_arm

NOW = datetime(2026, 12, 1, tzinfo=UTC)
CHANNELS = ["mobile", "web", "branch"]


def test_defaults_and_normalised_shares() -> None:
    out = check(
        Draft("ab", (Arm("champion", 45), Arm("challenger", 45), Arm("control", 10))), CHANNELS, NOW
    )
    assert [a.share for a in out.arms] == pytest.approx([0.45, 0.45, 0.10])
    assert out.start_at == NOW and out.end_at == NOW + timedelta(days=30)


def test_every_problem_at_once() -> None:
    draft = Draft(
        " ",
        (Arm("control", 0), Arm("control", 1)),
        channels=("fax",),
        challenger="bad alias!",
        control_policy="dice",
        attribution_days=0,
    )
    with pytest.raises(ExperimentProblem) as found:
        check(draft, CHANNELS, NOW)
    fields = [p.field for p in found.value.each]
    for f in ("name", "arms", "channels", "challenger", "control_policy", "attribution_days"):
        assert f in fields
    assert any("champion" in p.problem for p in found.value.each)
    assert any("twice" in p.problem for p in found.value.each)


def test_end_before_start() -> None:
    draft = Draft(
        "x", (Arm("champion", 1), Arm("control", 1)), start_at=NOW, end_at=NOW - timedelta(hours=1)
    )
    with pytest.raises(ExperimentProblem, match="end_at: must be after start_at"):
        check(draft, CHANNELS, NOW)


def test_parse_arm() -> None:
    assert parse_arm("champion=0.5") == Arm("champion", 0.5)
    with pytest.raises(ValueError, match="expected ARM=SHARE"):
        parse_arm("champion")
    with pytest.raises(ValueError, match="is not a number"):
        parse_arm("champion=half")
