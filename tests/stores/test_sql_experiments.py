"""The experiment store on SQLite and PostgreSQL: create, read, stop, audit, one a channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recsys.experiments.model import Arm, Draft, Status
from recsys.stores.sql_experiments import (
    ExperimentConflict,
    ExperimentNotFound,
    open_experiment_store,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def draft(name: str, channels: tuple[str, ...] = (), days: int = 30) -> Draft:
    return Draft(
        name,
        (Arm("champion", 0.5), Arm("control", 0.5)),
        channels=channels,
        start_at=NOW,
        end_at=NOW + timedelta(days=days),
    )


def test_create_get_list_stop_with_audit(store_url: str) -> None:
    store = open_experiment_store(store_url)
    made = store.create(draft("ab", ("web",)), "alice", NOW)
    assert store.get(made.id) == made == store.get("ab")
    assert store.running() == [made]
    stopped = store.set_status("ab", Status.stopped, "bob", NOW + timedelta(hours=1), action="stop")
    assert stopped.status is Status.stopped and stopped.revision == 2
    assert store.running() == [] and store.list() == [stopped]
    audit = store.audit(made.id)
    assert [(a.action, a.actor) for a in audit] == [("create", "alice"), ("stop", "bob")]
    assert audit[1].before["status"] == "running" and audit[1].after["status"] == "stopped"
    with pytest.raises(ExperimentConflict, match="status"):
        store.set_status("ab", Status.stopped, "bob", NOW, action="stop")
    with pytest.raises(ExperimentNotFound):
        store.get("nope")
    store.close()


def test_one_running_experiment_a_channel(store_url: str) -> None:
    store = open_experiment_store(store_url)
    store.create(draft("web-only", ("web",)), "a", NOW)
    store.create(draft("mobile-only", ("mobile",)), "a", NOW)  # other channel: fine
    with pytest.raises(ExperimentConflict, match="channels: experiment .* is running on web"):
        store.create(draft("everywhere"), "a", NOW)  # every channel overlaps web
    with pytest.raises(ExperimentConflict, match="name:"):
        store.create(draft("web-only", ("branch",)), "a", NOW)
    store.set_status("web-only", Status.stopped, "a", NOW, action="stop")
    store.create(draft("web-again", ("web",)), "a", NOW)  # free once the other stopped
    store.close()
