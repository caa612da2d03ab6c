"""Create requests as drafts: every out-of-range moment named, not a server fault."""

from __future__ import annotations

import pytest

from recsys.experiments.model import ExperimentProblem
from serving._proto.recsys.v1 import experiments_pb2 as pb
from serving.experiments.protos import draft_from_pb


def _request(**moments: tuple[int, int]) -> pb.CreateExperimentRequest:
    r = pb.CreateExperimentRequest(name="x", arms=[pb.ArmShare(name="champion", share=1)])
    for name, (seconds, nanos) in moments.items():
        getattr(r, name).seconds, getattr(r, name).nanos = seconds, nanos
    return r


def test_out_of_range_moments_are_each_named() -> None:
    bad = _request(start_at=(0, -2_147_483_648), end_at=(2**56, 0))
    with pytest.raises(ExperimentProblem) as raised:
        draft_from_pb(bad)
    assert [p.field for p in raised.value.each] == ["start_at", "end_at"]
    assert all("out of range" in p.problem for p in raised.value.each)


def test_valid_moments_pass_through() -> None:
    draft = draft_from_pb(_request(start_at=(1_796_603_382, 0)))
    assert draft.start_at is not None and draft.start_at.year == 2026
    assert draft.end_at is None
