"""ModelFollower against a real SQLite MLflow registry: load, swap, refuse, cache, back off."""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import mlflow
import numpy as np
import pytest

from recsys.settings import Settings
from serving.models.follower import LoadedModel, ModelFollower, ModelHolder
from serving.models.source import ModelSource
from serving.transport.metrics import ServingMetrics
from tests.serving.registered import (
    TrainedRegistry,
    itemknn_bundle,
    register_bundle,
    registry,
    trained_registry,
)
from training.tracking import MLFLOW_CHATTER

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing answers there
ITEMKNN_TAGS = {
    "family": "itemknn",
    "trained_at": "2024-07-01T00:00:00+00:00",
    "data_fingerprint": "fp-itemknn",
}


@dataclass(frozen=True)
class Versions:
    """The trained champion and versions derived from its bundle, all in one registry."""

    trained: TrainedRegistry
    itemknn: str  # valid, a different model family
    copy: str  # valid, the champion's bundle registered again
    broken: dict[str, str]  # corruption -> version


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Versions:
    """Train once, then register the derived versions (each costs a fraction of a second)."""
    base = tmp_path_factory.mktemp("follower-registry")
    trained = trained_registry(base)
    settings, bundle = trained.settings, trained.bundle
    itemknn = register_bundle(
        settings,
        itemknn_bundle(bundle, base / "itemknn"),
        tags=ITEMKNN_TAGS,
        metrics={"ndcg_at_5": 0.5},
    )
    copy = register_bundle(settings, bundle, tags={"family": "popularity"}, metrics={})
    broken = {
        name: register_bundle(settings, corrupt(bundle, base / name), tags={}, metrics={})
        for name, corrupt in CORRUPTIONS.items()
    }
    return Versions(trained, itemknn, copy, broken)


def truncated_arrays(bundle: Path, target: Path) -> Path:
    """The model's arrays.npz cut in half, as an interrupted upload leaves it."""
    shutil.copytree(bundle, target)
    npz = target / "model" / "arrays.npz"
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    return target


def garbage_model_json(bundle: Path, target: Path) -> Path:
    """model.json that is not JSON."""
    shutil.copytree(bundle, target)
    (target / "model" / "model.json").write_text("{not json")
    return target


def nan_arrays(bundle: Path, target: Path) -> Path:
    """A model that loads but scores NaN for everyone (a diverged fit)."""
    shutil.copytree(bundle, target)
    npz = target / "model" / "arrays.npz"
    with np.load(npz) as z:
        arrays = {
            k: np.full_like(z[k], np.nan) if z[k].dtype.kind == "f" else z[k] for k in z.files
        }
    np.savez(npz, **arrays)
    return target


CORRUPTIONS = {"truncated": truncated_arrays, "garbage": garbage_model_json, "nan": nan_arrays}


@pytest.fixture
def trained(versions: Versions) -> TrainedRegistry:
    """The registry with its trained version promoted again (tests move the alias)."""
    registry(versions.trained.settings).promote(int(versions.trained.champion))
    return versions.trained


def follower_for(
    settings: Settings, cache: Path, **kw: object
) -> tuple[ModelFollower, ServingMetrics]:
    metrics = ServingMetrics()
    return ModelFollower(settings, ModelHolder(), metrics=metrics, cache_dir=cache, **kw), metrics


def serving(metrics: ServingMetrics, version: str, family: str) -> float:
    """The model-info gauge of one version and family (1 while it serves)."""
    return metrics.value("recsys_model_info", {"version": version, "family": family})


def unreachable(settings: Settings) -> Settings:
    return settings.model_copy(update={"mlflow_tracking_uri": UNREACHABLE})


def test_load_initial_serves_the_champion_with_its_registry_info(
    trained: TrainedRegistry, tmp_path: Path
) -> None:
    follower, metrics = follower_for(trained.settings, tmp_path / "cache")
    model = follower.load_initial()
    assert model is not None and follower.holder.current() is model
    assert (model.version, model.family, model.source) == (
        trained.champion,
        "popularity",
        "registry",
    )
    version = registry(trained.settings).version(int(trained.champion))
    assert model.data_fingerprint == version.tags["data_fingerprint"] != ""
    assert model.trained_at == datetime.fromisoformat(version.tags["trained_at"])
    assert model.metrics == mlflow.MlflowClient().get_run(trained.run_id).data.metrics
    assert model.metrics["ndcg_at_5"] > 0
    ids = model.engine.snapshot.customer_map.ids[:3].tolist()
    assert model.engine.recommend_frame(ids, 3).height > 0
    assert serving(metrics, trained.champion, "popularity") == 1
    assert metrics.value("recsys_model_swaps_total") == 0
    cached = follower.cache.entries()
    assert [e.folder.name for e in cached] == [f"v{trained.champion}"]
    assert json.loads((cached[0].folder / "info.json").read_text())["metrics"] == model.metrics


def test_poll_once_swaps_to_a_newly_promoted_version(
    trained: TrainedRegistry, versions: Versions, tmp_path: Path
) -> None:
    follower, metrics = follower_for(trained.settings, tmp_path / "cache")
    seen: list[LoadedModel] = []
    follower.holder.add_listener(seen.append)
    old = follower.load_initial()
    assert old is not None and seen == [old]
    assert follower.poll_once() is False  # alias unchanged

    registry(trained.settings).promote(int(versions.itemknn))
    assert follower.poll_once() is True
    new = follower.holder.current()
    assert new is not None and new is not old and seen == [old, new]
    assert (new.version, new.family, new.engine.model.family) == (
        versions.itemknn,
        "itemknn",
        "itemknn",
    )
    assert (new.metrics, new.data_fingerprint) == ({"ndcg_at_5": 0.5}, "fp-itemknn")
    assert new.trained_at == datetime.fromisoformat(ITEMKNN_TAGS["trained_at"])
    # a request that took the old model before the swap finishes on it
    ids = old.engine.snapshot.customer_map.ids[:5].tolist()
    assert old.engine.recommend_frame(ids, 3).height > 0
    assert metrics.value("recsys_model_swaps_total") == 1
    assert serving(metrics, versions.itemknn, "itemknn") == 1
    assert serving(metrics, trained.champion, "popularity") == 0
    assert follower.poll_once() is False


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_broken_version_is_refused_and_the_old_one_keeps_serving(
    trained: TrainedRegistry, versions: Versions, tmp_path: Path, corruption: str
) -> None:
    follower, metrics = follower_for(trained.settings, tmp_path / "cache")
    old = follower.load_initial()
    bad = versions.broken[corruption]
    registry(trained.settings).promote(int(bad))

    assert follower.poll_once() is False
    assert follower.holder.current() is old
    assert follower.refused == {bad}
    assert metrics.value("recsys_models_refused_total") == 1
    assert follower.poll_once() is False  # remembered: not downloaded and checked again
    assert metrics.value("recsys_models_refused_total") == 1
    assert [e.folder.name for e in follower.cache.entries()] == [f"v{trained.champion}"]
    assert list((follower.cache.root / ".tmp").iterdir()) == []  # staging cleaned up


def test_a_broken_champion_at_start_falls_back_to_the_cached_model(
    trained: TrainedRegistry, versions: Versions, tmp_path: Path
) -> None:
    first, _ = follower_for(trained.settings, tmp_path / "cache")
    assert first.load_initial() is not None
    registry(trained.settings).promote(int(versions.broken["nan"]))

    restarted, metrics = follower_for(trained.settings, tmp_path / "cache")
    model = restarted.load_initial()
    assert model is not None and (model.version, model.source) == (trained.champion, "cache")
    assert metrics.value("recsys_models_refused_total") == 1


def test_registry_unreachable_at_start_serves_the_cached_model(
    trained: TrainedRegistry, tmp_path: Path
) -> None:
    online, _ = follower_for(trained.settings, tmp_path / "cache")
    served = online.load_initial()
    assert served is not None

    offline, metrics = follower_for(
        unreachable(trained.settings), tmp_path / "cache", poll_seconds=2.0, max_backoff_seconds=5.0
    )
    started = time.perf_counter()
    model = offline.load_initial()
    assert time.perf_counter() - started < 10, "the registry timeout held up the start"
    assert model is not None and model.source == "cache"
    assert model.info() == served.info()
    assert offline.holder.current() is model
    assert metrics.value("recsys_registry_errors_total") == 1
    assert (offline.failures, offline.poll_delay()) == (1, 4.0)
    assert offline.poll_once() is False  # registry errors never raise
    assert (offline.failures, offline.poll_delay()) == (2, 5.0)  # capped
    assert offline.holder.current() is model


def test_a_missing_model_or_alias_is_no_champion_not_a_registry_error(
    trained: TrainedRegistry,
) -> None:
    uri, name = trained.settings.resolved_tracking_uri, trained.settings.registered_model
    assert ModelSource(uri, "never-registered", "champion").champion() is None
    assert ModelSource(uri, name, "no-such-alias").champion() is None
    assert str(ModelSource(uri, name, "champion").champion().version) == trained.champion


def test_no_registry_and_no_cache_means_no_model(trained: TrainedRegistry, tmp_path: Path) -> None:
    follower, _ = follower_for(unreachable(trained.settings), tmp_path / "cache")
    assert follower.load_initial() is None
    assert follower.holder.current() is None


def test_the_cache_keeps_two_models_and_skips_a_corrupt_one(
    trained: TrainedRegistry, versions: Versions, tmp_path: Path
) -> None:
    follower, _ = follower_for(trained.settings, tmp_path / "cache")
    follower.load_initial()
    for version in (versions.itemknn, versions.copy):
        registry(trained.settings).promote(int(version))
        assert follower.poll_once() is True
    entries = follower.cache.entries()
    assert [e.folder.name for e in entries] == [f"v{versions.copy}", f"v{versions.itemknn}"]

    npz = entries[0].bundle / "model" / "arrays.npz"
    npz.write_bytes(npz.read_bytes()[:100])
    offline, _ = follower_for(unreachable(trained.settings), tmp_path / "cache")
    model = offline.load_initial()
    assert model is not None and (model.version, model.family) == (versions.itemknn, "itemknn")


def test_polls_back_off_while_the_registry_fails_and_recover_when_it_answers(
    trained: TrainedRegistry, tmp_path: Path
) -> None:
    db = tmp_path / "mlflow.db"
    db.write_text("not a database")  # the registry cannot answer until the file is restored
    broken = trained.settings.model_copy(update={"mlflow_tracking_uri": f"sqlite:///{db}"})
    follower, metrics = follower_for(broken, tmp_path / "cache", poll_seconds=0.05)
    assert follower.load_initial() is None
    assert follower.poll_once() is False
    assert (follower.failures, follower.poll_delay()) == (2, 0.2)
    assert metrics.value("recsys_registry_errors_total") == 2

    with db.open("r+b") as f:  # restored in place, as a disk coming back would be
        f.write((trained.settings.home / "mlflow.db").read_bytes())
    assert follower.poll_once() is True
    assert (follower.failures, follower.poll_delay()) == (0, 0.05)
    assert follower.holder.current().version == trained.champion


def test_the_started_follower_picks_up_a_promotion_in_the_background(
    trained: TrainedRegistry, versions: Versions, tmp_path: Path
) -> None:
    follower, _ = follower_for(trained.settings, tmp_path / "cache", poll_seconds=0.05)
    follower.load_initial()
    follower.start()
    try:
        registry(trained.settings).promote(int(versions.itemknn))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            current = follower.holder.current()
            if current is not None and current.version == versions.itemknn:
                break
            time.sleep(0.02)
        assert follower.holder.current().version == versions.itemknn
    finally:
        follower.stop()
    assert follower.poll_once() is False  # stopped cleanly, nothing left to load


def test_a_follower_quiets_mlflows_chatter_when_made(tmp_path: Path) -> None:
    """The serving process's start-up quiets MLflow, as configure_mlflow does for the CLI."""
    saved = {n: logging.getLogger(n).level for n in MLFLOW_CHATTER}
    try:
        for name in MLFLOW_CHATTER:
            logging.getLogger(name).setLevel(logging.NOTSET)
        settings = Settings(home=tmp_path / "home", mlflow_tracking_uri=None)
        ModelFollower(settings, ModelHolder(), cache_dir=tmp_path / "cache")
        levels = {n: logging.getLogger(n).level for n in MLFLOW_CHATTER}
        assert levels == dict.fromkeys(MLFLOW_CHATTER, logging.WARNING)
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
