"""--skip-unchanged: a version of the same data, config and code is found; nothing is trained."""

from __future__ import annotations

import subprocess
from pathlib import Path

import mlflow
import pytest

from recsys.settings import Settings
from tests.training.trained import generated_dataset, train_config
from training.pipeline import run_training
from training.registry import Registry
from training.reuse import KEY_TAG, code_identity, training_key

FINGERPRINT = "0123456789abcdef"


@pytest.fixture
def outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from a folder outside any git checkout: the code is named by the package version."""
    monkeypatch.chdir(tmp_path)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_the_code_is_its_commit_and_a_dirty_tree_has_no_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "model.py").write_text("W = 1\n")
    git(repo, "add", "model.py")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    monkeypatch.chdir(repo)
    assert code_identity() == git(repo, "rev-parse", "HEAD")
    (repo / "model.py").write_text("W = 2\n")
    assert code_identity() is None
    assert training_key(FINGERPRINT, train_config("popularity"), Settings()) is None


def test_the_key_changes_with_data_config_and_weights(outside_git: None) -> None:
    settings = Settings()
    key = training_key(FINGERPRINT, train_config("popularity"), settings)
    assert code_identity().startswith("bank-recsys ")
    assert key == training_key(FINGERPRINT, train_config("popularity"), settings)
    assert key != training_key("fedcba9876543210", train_config("popularity"), settings)
    assert key != training_key(FINGERPRINT, train_config("itemknn"), settings)
    assert key != training_key(FINGERPRINT, train_config("popularity", window_days=45), settings)
    weights = settings.weights.model_copy(update={"view": 9.0})
    heavier = settings.model_copy(update={"weights": weights})
    assert key != training_key(FINGERPRINT, train_config("popularity"), heavier)


def test_a_second_unchanged_run_registers_nothing_and_keeps_the_champion(
    sqlite_settings: Settings, tmp_path_factory: pytest.TempPathFactory, outside_git: None
) -> None:
    settings, data = sqlite_settings, generated_dataset(tmp_path_factory.getbasetemp())
    reg = Registry(settings.registered_model, settings.champion_alias)
    first = run_training(
        data, train_config("popularity"), settings, register=True, promote=True, skip_unchanged=True
    )
    assert first.version == 1 and first.unchanged is None
    assert reg.version(1).tags[KEY_TAG]
    runs = len(mlflow.search_runs(search_all_experiments=True, output_format="list"))

    again = run_training(
        data, train_config("popularity"), settings, register=True, promote=True, skip_unchanged=True
    )
    assert again.unchanged is not None and again.verdict is None
    assert (again.version, again.unchanged.champion, again.run_id) == (1, 1, first.run_id)
    assert [v.version for v in reg.versions()] == [1]
    assert len(mlflow.search_runs(search_all_experiments=True, output_format="list")) == runs

    other = run_training(
        data, train_config("itemknn"), settings, register=True, skip_unchanged=True
    )
    assert other.unchanged is None and other.version == 2
    without = run_training(data, train_config("popularity"), settings, register=True)
    assert without.unchanged is None and without.version == 3  # only asked for, never by default


def test_an_unchanged_version_becomes_champion_when_there_is_none(
    sqlite_settings: Settings, tmp_path_factory: pytest.TempPathFactory, outside_git: None
) -> None:
    settings, data = sqlite_settings, generated_dataset(tmp_path_factory.getbasetemp())
    reg = Registry(settings.registered_model, settings.champion_alias)
    run_training(data, train_config("popularity"), settings, register=True)
    assert reg.champion() is None
    kept = run_training(
        data, train_config("popularity"), settings, register=True, promote=True, skip_unchanged=True
    )
    assert kept.unchanged is not None and kept.verdict is not None and kept.verdict.promote
    assert int(reg.champion().version) == 1 and [v.version for v in reg.versions()] == [1]
