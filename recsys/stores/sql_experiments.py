"""Experiments and their audit trail in SQL (SQLite or PostgreSQL).

Each change is one transaction with its audit row (who, what, the row before and after), as
offers are kept. At most one running experiment may cover a channel at a time: `create`
checks it in the same transaction as the insert.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from recsys.experiments.model import Arm, Draft, Experiment, Status
from recsys.stores.db import make_engine
from recsys.stores.errors import unavailable
from recsys.stores.migrate import upgrade
from recsys.stores.tables import experiment_audit, experiments


class ExperimentNotFound(LookupError):
    """No experiment has that id or name."""


class ExperimentConflict(ValueError):
    """The change clashes with the stored state (a taken name, a channel already in one)."""


@dataclass(frozen=True)
class AuditEntry:
    """One change to an experiment."""

    experiment_id: str
    action: str
    actor: str
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str


class ExperimentStore:
    """Experiments over SQLAlchemy; DB errors surface as StoreUnavailable."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def close(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()

    def create(self, draft: Draft, actor: str, now: datetime) -> Experiment:
        """Store a checked draft as a running experiment, audited; ExperimentConflict when
        its name is taken or a running experiment covers one of its channels."""
        assert draft.start_at is not None and draft.end_at is not None  # model.check fills them
        made = Experiment(
            id=f"exp-{uuid.uuid4().hex[:12]}",
            name=draft.name,
            arms=draft.arms,
            channels=draft.channels,
            start_at=draft.start_at,
            end_at=draft.end_at,
            challenger=draft.challenger,
            control_policy=draft.control_policy,
            attribution_days=draft.attribution_days,
            status=Status.running,
            created_by=actor,
            created_at=now,
            updated_by=actor,
            updated_at=now,
        )
        with unavailable("experiment store", "create an experiment"), self.engine.begin() as conn:
            rows = conn.execute(sa.select(experiments)).mappings().all()
            stored = [_experiment(r) for r in rows]
            if any(e.name == made.name for e in stored):
                raise ExperimentConflict(f"name: an experiment named {made.name!r} exists")
            for other in stored:
                if other.status is Status.running and _overlap(other, made):
                    raise ExperimentConflict(
                        f"channels: experiment {other.id} ({other.name!r}) is running on "
                        f"{', '.join(other.channels) or 'every channel'} until "
                        f"{other.end_at.isoformat()}; stop it first (one experiment a channel)"
                    )
            conn.execute(experiments.insert().values(_row(made)))
            _audit(conn, made.id, "create", actor, now, None, made)
        return made

    def get(self, ref: str) -> Experiment:
        """The experiment with id or name `ref`."""
        t = experiments.c
        query = sa.select(experiments).where(sa.or_(t.id == ref, t.name == ref))
        with unavailable("experiment store", "read an experiment"), self.engine.connect() as c:
            row = c.execute(query).mappings().first()
        if row is None:
            raise ExperimentNotFound(f"experiment: no experiment has id or name {ref!r}")
        return _experiment(row)

    def list(self, statuses: Sequence[Status] = ()) -> list[Experiment]:
        """Experiments (of `statuses` when given), newest first."""
        query = sa.select(experiments).order_by(experiments.c.created_at.desc())
        if statuses:
            query = query.where(experiments.c.status.in_([str(s) for s in statuses]))
        with unavailable("experiment store", "list experiments"), self.engine.connect() as c:
            return [_experiment(r) for r in c.execute(query).mappings().all()]

    def running(self) -> list[Experiment]:
        """Experiments with status running (the router keeps those in their time window)."""
        return self.list([Status.running])

    def set_status(
        self,
        ref: str,
        status: Status,
        actor: str,
        now: datetime,
        *,
        action: str,
        concluded: str = "",
        note: str = "",
    ) -> Experiment:
        """Move an experiment to `status`, audited as `action` with `note`."""
        with unavailable("experiment store", "change an experiment"), self.engine.begin() as c:
            t = experiments.c
            row = (
                c.execute(sa.select(experiments).where(sa.or_(t.id == ref, t.name == ref)))
                .mappings()
                .first()
            )
            if row is None:
                raise ExperimentNotFound(f"experiment: no experiment has id or name {ref!r}")
            before = _experiment(row)
            if before.status is not Status.running:
                raise ExperimentConflict(
                    f"status: experiment {before.id} is {before.status}, not running"
                )
            after = before.with_status(status, actor, now, concluded)
            c.execute(
                experiments.update()
                .where(t.id == before.id)
                .values(
                    status=str(after.status),
                    updated_by=actor,
                    updated_at=now,
                    concluded=after.concluded,
                    revision=after.revision,
                )
            )
            _audit(c, before.id, action, actor, now, before, after, note)
        return after

    def audit(self, experiment_id: str) -> list[AuditEntry]:
        """The experiment's changes, oldest first."""
        t = experiment_audit.c
        query = (
            sa.select(experiment_audit).where(t.experiment_id == experiment_id).order_by(t.at, t.id)
        )
        with unavailable("experiment store", "read the audit"), self.engine.connect() as c:
            rows = c.execute(query).mappings().all()
        return [
            AuditEntry(
                r["experiment_id"],
                r["action"],
                r["actor"],
                _utc(r["at"]),
                json.loads(r["before"]) if r["before"] else None,
                json.loads(r["after"]) if r["after"] else None,
                r["note"],
            )
            for r in rows
        ]


def open_experiment_store(url: str) -> ExperimentStore:
    """An experiment store on `url`, migrated to the newest schema."""
    engine = make_engine(url)
    try:
        with unavailable("experiment store", "migrate the store"):
            upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return ExperimentStore(engine)


def experiment_json(e: Experiment) -> dict[str, Any]:
    """An experiment as plain JSON values (the audit's before/after, the CLI's --json)."""
    return {
        "id": e.id,
        "name": e.name,
        "arms": [{"name": a.name, "share": a.share} for a in e.arms],
        "channels": list(e.channels),
        "start_at": e.start_at.isoformat(),
        "end_at": e.end_at.isoformat(),
        "challenger": e.challenger,
        "control_policy": e.control_policy,
        "attribution_days": e.attribution_days,
        "status": str(e.status),
        "concluded": e.concluded,
        "created_by": e.created_by,
        "created_at": e.created_at.isoformat(),
        "updated_by": e.updated_by,
        "updated_at": e.updated_at.isoformat(),
        "revision": e.revision,
    }


def _overlap(a: Experiment, b: Experiment) -> bool:
    channels = not a.channels or not b.channels or bool(set(a.channels) & set(b.channels))
    return channels and a.start_at < b.end_at and b.start_at < a.end_at


def _row(e: Experiment) -> dict[str, Any]:
    return {
        "id": e.id,
        "name": e.name,
        "arms": json.dumps([{"name": a.name, "share": a.share} for a in e.arms]),
        "channels": json.dumps(list(e.channels)),
        "start_at": e.start_at,
        "end_at": e.end_at,
        "challenger": e.challenger,
        "control_policy": e.control_policy,
        "attribution_days": e.attribution_days,
        "status": str(e.status),
        "concluded": e.concluded,
        "created_by": e.created_by,
        "created_at": e.created_at,
        "updated_by": e.updated_by,
        "updated_at": e.updated_at,
        "revision": e.revision,
    }


def _experiment(r: Any) -> Experiment:
    return Experiment(
        id=r["id"],
        name=r["name"],
        arms=tuple(Arm(a["name"], float(a["share"])) for a in json.loads(r["arms"])),
        channels=tuple(json.loads(r["channels"])),
        start_at=_utc(r["start_at"]),
        end_at=_utc(r["end_at"]),
        challenger=r["challenger"],
        control_policy=r["control_policy"],
        attribution_days=float(r["attribution_days"]),
        status=Status(r["status"]),
        created_by=r["created_by"],
        created_at=_utc(r["created_at"]),
        updated_by=r["updated_by"],
        updated_at=_utc(r["updated_at"]),
        concluded=r["concluded"],
        revision=int(r["revision"]),
    )


def _audit(
    conn: sa.Connection,
    experiment_id: str,
    action: str,
    actor: str,
    at: datetime,
    before: Experiment | None,
    after: Experiment | None,
    note: str = "",
) -> None:
    conn.execute(
        experiment_audit.insert().values(
            experiment_id=experiment_id,
            action=action,
            actor=actor,
            at=at,
            before=json.dumps(experiment_json(before)) if before else None,
            after=json.dumps(experiment_json(after)) if after else None,
            note=note,
        )
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
