"""Experiment values <-> recsys.v1 experiment messages (no logic beyond the mapping)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from google.protobuf import json_format

from recsys.experiments.model import Arm, Draft, Experiment, ExperimentProblem, Problem
from recsys.experiments.report import Report
from recsys.stores.sql_experiments import AuditEntry
from serving._proto.recsys.v1 import experiments_pb2 as pb
from serving.offers.protos import timestamp


def experiment_to_pb(e: Experiment) -> pb.Experiment:
    """An experiment as its message."""
    return pb.Experiment(
        id=e.id,
        name=e.name,
        arms=[pb.ArmShare(name=a.name, share=a.share) for a in e.arms],
        channels=list(e.channels),
        start_at=timestamp(e.start_at),
        end_at=timestamp(e.end_at),
        challenger=e.challenger,
        control_policy=e.control_policy,
        attribution_days=e.attribution_days,
        status=str(e.status),
        concluded=e.concluded,
        created_by=e.created_by,
        created_at=timestamp(e.created_at),
        updated_by=e.updated_by,
        updated_at=timestamp(e.updated_at),
        revision=e.revision,
    )


def draft_from_pb(r: pb.CreateExperimentRequest) -> Draft:
    """A create request as a draft (unset fields take the draft's defaults)."""
    defaults = Draft(name="", arms=())
    problems: list[Problem] = []
    start_at, end_at = (_moment(r, name, problems) for name in ("start_at", "end_at"))
    if problems:
        raise ExperimentProblem(problems)  # the draft's own checks need valid moments
    return Draft(
        name=r.name,
        arms=tuple(Arm(a.name, a.share) for a in r.arms),
        channels=tuple(r.channels),
        start_at=start_at,
        end_at=end_at,
        challenger=r.challenger or defaults.challenger,
        control_policy=r.control_policy or defaults.control_policy,
        attribution_days=r.attribution_days or defaults.attribution_days,
    )


def audit_to_pb(a: AuditEntry) -> pb.AuditEntry:
    """One audit row as its message (before/after as JSON text)."""
    return pb.AuditEntry(
        action=a.action,
        actor=a.actor,
        at=timestamp(a.at),
        before_json=json.dumps(a.before) if a.before else "",
        after_json=json.dumps(a.after) if a.after else "",
        note=a.note,
    )


def report_to_pb(report: Report) -> pb.ExperimentReport:
    """A report as its message: the message's fields are the report's, by name."""
    return json_format.ParseDict(
        report.to_dict(), pb.ExperimentReport(), ignore_unknown_fields=False
    )


def _moment(r: pb.CreateExperimentRequest, name: str, problems: list[Problem]) -> datetime | None:
    if not r.HasField(name):
        return None
    try:
        return getattr(r, name).ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        problems.append(Problem(name, f"out of range: {exc}"))
        return None
