from pathlib import Path

import pytest

from training.config import (
    ConfigError,
    ModelSection,
    SplitConfig,
    TrainConfig,
    dump_train_config,
    load_train_config,
)


def test_defaults_without_a_file():
    cfg = load_train_config(None)
    assert cfg.model.family == "als" and cfg.split.kind == "time" and cfg.evaluation.k == 5


def test_dump_then_load_gives_the_same_config(tmp_path: Path):
    cfg = TrainConfig(
        model=ModelSection(family="itemknn", params={"similarity": "bm25", "k": 24, "b": 0.75}),
        split=SplitConfig(kind="hide_one", hide_customers=100),
    )
    path = tmp_path / "train.toml"
    path.write_text(dump_train_config(cfg))
    assert load_train_config(path) == cfg


def test_unknown_key_names_the_file_and_the_key(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text('[split]\nkind = "time"\nwindow = 3\n')
    with pytest.raises(ConfigError, match=r"bad\.toml: split\.window"):
        load_train_config(path)


def test_bad_family_and_missing_file(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text('[model]\nfamily = "svd"\n')
    with pytest.raises(ConfigError, match=r"model\.family"):
        load_train_config(path)
    with pytest.raises(ConfigError, match="file not found"):
        load_train_config(tmp_path / "missing.toml")


def test_weights_section_round_trips_including_no_decay(tmp_path: Path):
    from recsys.settings import InteractionWeights, Settings
    from training.config import effective_settings

    for half_life in (30.0, None):
        cfg = TrainConfig(weights=InteractionWeights(view=0.2, half_life_days=half_life))
        path = tmp_path / "w.toml"
        path.write_text(dump_train_config(cfg))
        loaded = load_train_config(path)
        assert loaded == cfg
        assert effective_settings(Settings(), loaded).weights.half_life_days == half_life
    assert effective_settings(Settings(), TrainConfig()).weights == Settings().weights
