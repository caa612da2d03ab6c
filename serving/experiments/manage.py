"""Managing experiments: create, read, stop, report and conclude, each change audited.

Domain only (no gRPC types). `conclude --promote challenger` moves the champion alias only
when the report allows it: the challenger's lift in purchases per assigned customer is
positive and significant under the sequential test, and every guardrail holds (no SRM, no
suitability violation, fallback share and p99 latency near the champion's). `force` promotes
anyway; the audit keeps that it was forced and what the report said.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import mlflow
import sqlalchemy as sa
from mlflow.exceptions import MlflowException

from recsys.experiments import report as reports
from recsys.experiments.model import CHALLENGER, Draft, Experiment, Status, check
from recsys.settings import Settings
from recsys.stores.sql_experiment_data import (
    experiment_decisions,
    experiment_events,
    experiment_values,
)
from recsys.stores.sql_experiments import AuditEntry, ExperimentConflict, ExperimentStore
from training.registry import Registry, RegistryError


class NotAllowed(ValueError):
    """Conclude refused: the report does not allow the promotion (the reasons say why)."""

    def __init__(self, reasons: Sequence[str]) -> None:
        self.reasons = tuple(reasons)
        super().__init__(
            "the report does not allow promoting the challenger: "
            + "; ".join(self.reasons)
            + " (--force overrides, audited)"
        )


@dataclass(frozen=True)
class Concluded:
    """What conclude did."""

    experiment: Experiment
    promoted: bool
    champion_version: str
    reasons: tuple[str, ...]
    report: reports.Report


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ExperimentManager:
    """Experiments over their store, the decision log and events, and the model registry."""

    def __init__(
        self,
        store: ExperimentStore,
        data: sa.Engine,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.data = data  # the database of the decision log and the events
        self.settings = settings
        self.clock = clock

    def create(self, draft: Draft, actor: str) -> Experiment:
        """A checked draft stored as a running experiment (ExperimentProblem lists what is
        wrong; ExperimentConflict when its name or a channel is taken)."""
        now = self.clock()
        return self.store.create(check(draft, list(self.settings.channels), now), actor, now)

    def get(self, ref: str) -> tuple[Experiment, list[AuditEntry]]:
        """The experiment and its audit trail."""
        experiment = self.store.get(ref)
        return experiment, self.store.audit(experiment.id)

    def list(self, statuses: Sequence[Status] = ()) -> list[Experiment]:
        """Experiments, newest first."""
        return self.store.list(statuses)

    def stop(self, ref: str, actor: str) -> Experiment:
        """No more assignments: the experiment's arms stop answering (audited)."""
        return self.store.set_status(ref, Status.stopped, actor, self.clock(), action="stop")

    def report(self, ref: str) -> reports.Report:
        """The experiment's report now."""
        return self._report(self.store.get(ref))

    def conclude(
        self, ref: str, actor: str, *, promote: str = "", force: bool = False, note: str = ""
    ) -> Concluded:
        """End the experiment; with promote="challenger" move the champion alias to the
        challenger's version when the report allows it (or `force`)."""
        experiment = self.store.get(ref)
        if experiment.status is not Status.running:
            raise ExperimentConflict(
                f"status: experiment {experiment.id} is {experiment.status}, not running"
            )
        report = self._report(experiment)
        registry = self._registry()
        if promote not in ("", CHALLENGER):
            raise ValueError(f"promote: must be {CHALLENGER!r} or empty, got {promote!r}")
        if not promote:
            champion = _version_of(registry, self.settings.champion_alias)
            done = self.store.set_status(
                experiment.id,
                Status.concluded,
                actor,
                self.clock(),
                action="conclude",
                concluded="kept the champion",
                note=note,
            )
            return Concluded(done, False, champion, (), report)
        reasons = self.promotion_problems(report)
        if reasons and not force:
            raise NotAllowed(reasons)
        version = _version_of(registry, experiment.challenger)
        if not version:
            raise ExperimentConflict(
                f"challenger: {experiment.challenger!r} names no version "
                f"of {self.settings.registered_model}"
            )
        try:
            registry.promote(int(version))
        except (RegistryError, MlflowException) as exc:
            raise ExperimentConflict(
                f"challenger: cannot promote version {version}: {exc}"
            ) from exc
        what = f"promoted challenger version {version}" + (" (forced)" if reasons else "")
        audit_note = json.dumps(
            {
                "note": note,
                "forced": bool(reasons and force),
                "reasons": list(reasons),
                "version": version,
            }
        )
        done = self.store.set_status(
            experiment.id,
            Status.concluded,
            actor,
            self.clock(),
            action="conclude",
            concluded=what,
            note=audit_note,
        )
        return Concluded(done, True, version, tuple(reasons), report)

    @staticmethod
    def promotion_problems(report: reports.Report) -> list[str]:
        """Why the report does not allow promoting the challenger (empty: it does)."""
        arm = report.arm(CHALLENGER)
        if arm is None or arm.lift is None:
            return ["the experiment has no challenger arm"]
        out = list(report.guardrail_problems(CHALLENGER))
        lift = arm.lift
        if not lift.sequential_significant:
            out.insert(
                0,
                f"the lift is not significant under the sequential test "
                f"(always-valid p = {lift.sequential_p_value:.3g})",
            )
        elif lift.absolute <= 0:
            out.insert(
                0,
                f"the challenger sells less than the champion "
                f"(lift {lift.absolute:+.4f} purchases per customer)",
            )
        return out

    def _report(self, experiment: Experiment) -> reports.Report:
        decisions = experiment_decisions(self.data, experiment.id)
        events = experiment_events(self.data, experiment.start_at, decisions["customer_id"])
        values = experiment_values(self.data, experiment.id)
        return reports.build(experiment, decisions, events, self.clock(), values=values)

    def _registry(self) -> Registry:
        registry = Registry(self.settings.registered_model, self.settings.champion_alias)
        uri = self.settings.resolved_tracking_uri
        # an explicit URI: the server's, whatever mlflow's global one is
        registry.client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
        return registry


def _version_of(registry: Registry, ref: str) -> str:
    """The version an alias (or version number) names now; "" when none."""
    if ref.isdigit():
        return ref
    try:
        return str(registry.client.get_model_version_by_alias(registry.name, ref).version)
    except MlflowException:
        return ""
