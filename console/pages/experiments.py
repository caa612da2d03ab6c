"""Experiments: the list, and one experiment's report with its plot (cumulative purchase rate
per arm with its band), the lift with its interval, both p-values, the SRM flag, the
guardrails, the settings and the audit trail. Everything comes from ExperimentService."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Final

from starlette.responses import Response
from starlette.routing import Route

from console.experiment_view import CHAMPION, STATUSES, lift_view, split_text, srm_text
from console.rate_chart import arm_class, rate_chart
from console.web import Page, page
from recsys.security.roles import ADMIN, MARKETING
from serving._proto.recsys.v1 import experiments_pb2 as pb

ROLES: Final = (MARKETING, ADMIN)


def routes() -> list[Route]:
    """GET /experiments and GET /experiments/{id}."""
    return [
        Route("/experiments", list_experiments, methods=["GET"]),
        Route("/experiments/{ref}", show, methods=["GET"]),
    ]


@page(*ROLES)
async def list_experiments(p: Page) -> Response:
    """Every experiment, newest first, filtered by status."""
    status = p.request.query_params.get("status", "")
    wanted = [status] if status in STATUSES else []
    found = await p.call(
        p.console.backend.stubs.experiments.List, pb.ListExperimentsRequest(statuses=wanted)
    )
    return p.render(
        "experiments.html",
        title="Experiments",
        experiments=found.experiments,
        statuses=STATUSES,
        status=status if wanted else "",
    )


@page(*ROLES)
async def show(p: Page) -> Response:
    """The experiment's report, settings and history."""
    experiment, history, report = await read(p)
    return p.render(
        "experiment.html", title=f"Experiment {experiment.name}", **report_values(p, report),
        experiment=experiment, history=history,
    )  # fmt: skip


async def read(p: Page) -> tuple[pb.Experiment, list[dict[str, Any]], pb.ExperimentReport]:
    """The experiment of the path, its audit trail (newest first) and its report now."""
    stub = p.console.backend.stubs.experiments
    ref = pb.ExperimentRef(experiment_ref=p.request.path_params["ref"])
    found, report = await asyncio.gather(p.call(stub.Get, ref), p.call(stub.Report, ref))
    return found.experiment, [_entry(e) for e in reversed(found.history)], report


def report_values(p: Page, report: pb.ExperimentReport) -> dict[str, Any]:
    """What the report's parts of a page show (the report page and the conclude page)."""
    arms = [a.arm for a in report.arms]
    return {
        "report": report,
        "lifts": [lift_view(a) for a in report.arms if a.arm != CHAMPION and a.HasField("lift")],
        "split": split_text(report),
        "srm": srm_text(report.srm),
        "chart": rate_chart(report.series, arms),
        "arm_class": {a: arm_class(a) for a in arms},
        "series": sorted(
            report.series, key=lambda s: (s.at, arms.index(s.arm) if s.arm in arms else 0)
        ),
        "admin": p.user.role == ADMIN,
    }


def _entry(e: pb.AuditEntry) -> dict[str, Any]:
    before = json.loads(e.before_json) if e.before_json else {}
    after = json.loads(e.after_json) if e.after_json else {}
    changed = [
        (k, _text(before.get(k)), _text(after.get(k)))
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k) and k not in ("revision", "updated_at", "updated_by")
    ]
    return {
        "action": e.action,
        "actor": e.actor,
        "at": e.at,
        "note": _note(e.note),
        "changes": changed,
    }


def _note(raw: str) -> str:
    """The audit note as a sentence (conclude keeps a JSON note: its text, forced, reasons)."""
    try:
        doc = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(doc, dict):
        return raw
    parts = [str(doc["note"])] if doc.get("note") else []
    if doc.get("forced"):
        parts.append("forced despite: " + "; ".join(map(str, doc.get("reasons", []))))
    return " — ".join(parts)


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    return str(value)
