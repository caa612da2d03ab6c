"""Conclude: the champion alias moves to the challenger only when the report allows it (or
when forced, which the audit keeps); a real MLflow registry and a real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import mlflow
import numpy as np
import pytest

from recsys.experiments.model import Arm, Draft
from recsys.stores.base import StoredEvent
from recsys.stores.sql_decisions import decision_row, open_decision_store
from recsys.stores.sql_events import open_event_store
from recsys.stores.sql_experiments import open_experiment_store
from serving.experiments.manage import ExperimentManager, NotAllowed
from tests.serving.registered import register_bundle, trained_registry

CUSTOMERS = 600  # per arm


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a test's tuple
    """A champion (version 1) and a challenger (version 2, alias `challenger`)."""
    base = tmp_path_factory.mktemp("conclude-registry")
    trained = trained_registry(base)
    challenger = register_bundle(
        trained.settings, trained.bundle, tags={"family": "popularity"}, metrics={}
    )
    return trained, challenger


def _client(settings) -> mlflow.MlflowClient:  # noqa: ANN001
    uri = settings.resolved_tracking_uri
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def _played(manager: ExperimentManager, name: str, rates: dict[str, float], seed: int) -> str:
    """An experiment whose customers saw a product and bought it at each arm's rate."""
    made = manager.create(Draft(name, (Arm("champion", 0.5), Arm("challenger", 0.5))), "alice")
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    rows, events = [], []
    for arm, rate in rates.items():
        for i in range(CUSTOMERS):
            c, rid = f"{name}-{arm}-{i}", f"{name}-r-{arm}-{i}"
            at = now + timedelta(milliseconds=i)
            rows.append(
                decision_row(
                    rid,
                    at,
                    c,
                    "web",
                    "1",
                    "[]",
                    "{}",
                    experiment_id=made.id,
                    arm=arm,
                    latency_ms=2.0,
                )
            )
            events.append(StoredEvent(c, "P1", "impression", at, request_id=rid))
            if rng.random() < rate:
                events.append(StoredEvent(c, "P1", "purchase", at + timedelta(hours=1)))
    url = manager.settings.resolved_database_url
    decisions = open_decision_store(url)
    decisions.append_rows(rows)
    decisions.close()
    store = open_event_store(url)
    store.append(events)
    store.close()
    return made.id


def test_conclude_promotes_only_when_the_report_allows(registry, tmp_path: Path) -> None:  # noqa: ANN001
    trained, challenger = registry
    settings = trained.settings.model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'recsys.db'}"}
    )
    client = _client(settings)
    client.set_registered_model_alias(settings.registered_model, "challenger", challenger)
    store = open_experiment_store(settings.resolved_database_url)
    manager = ExperimentManager(store, store.engine, settings)
    name = settings.registered_model

    # no difference: refused, the champion stays, the experiment still runs
    same = _played(manager, "same", {"champion": 0.2, "challenger": 0.2}, seed=1)
    with pytest.raises(NotAllowed, match="not significant under the sequential test"):
        manager.conclude(same, "bob", promote="challenger")
    assert str(client.get_model_version_by_alias(name, "champion").version) == trained.champion
    assert manager.get(same)[0].status == "running"
    # forced: promoted, and the audit says it was forced and why the report said no
    forced = manager.conclude(same, "bob", promote="challenger", force=True, note="deadline")
    assert forced.promoted and forced.champion_version == challenger and forced.reasons
    assert str(client.get_model_version_by_alias(name, "champion").version) == challenger
    entry = manager.get(same)[1][-1]
    assert entry.action == "conclude" and entry.actor == "bob"
    assert '"forced": true' in entry.note and "deadline" in entry.note
    assert forced.experiment.concluded == f"promoted challenger version {challenger} (forced)"

    # back to version 1; a challenger that sells far more is promoted without force
    client.set_registered_model_alias(name, "champion", trained.champion)
    better = _played(manager, "better", {"champion": 0.1, "challenger": 0.4}, seed=2)
    report = manager.report(better)
    lift = report.arm("challenger").lift
    assert lift.sequential_significant and lift.ci_low > 0 and not report.srm.flagged
    done = manager.conclude(better, "carol", promote="challenger")
    assert done.promoted and not done.reasons
    assert str(client.get_model_version_by_alias(name, "champion").version) == challenger
    history = manager.get(better)[1]
    assert [h.action for h in history] == ["create", "conclude"]
    assert history[-1].after["concluded"] == f"promoted challenger version {challenger}"
    store.close()


def test_a_worse_challenger_is_refused(registry, tmp_path: Path) -> None:  # noqa: ANN001
    trained, challenger = registry
    settings = trained.settings.model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'recsys.db'}"}
    )
    client = _client(settings)
    client.set_registered_model_alias(settings.registered_model, "champion", trained.champion)
    store = open_experiment_store(settings.resolved_database_url)
    manager = ExperimentManager(store, store.engine, settings)
    worse = _played(manager, "worse", {"champion": 0.4, "challenger": 0.1}, seed=3)
    with pytest.raises(NotAllowed, match="sells less than the champion"):
        manager.conclude(worse, "bob", promote="challenger")
    kept = manager.conclude(worse, "bob")  # ends it, keeping the champion
    assert not kept.promoted and kept.champion_version == trained.champion
    assert kept.experiment.concluded == "kept the champion"
    store.close()
