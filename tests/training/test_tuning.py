"""Hyper-parameter search: nested MLflow runs, the best is the best, its TOML retrains to it."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.data.generate import generate
from recsys.data.problems import DataValidationError
from recsys.data.write import write_dataset
from recsys.settings import Settings
from training.config import (
    ModelSection,
    SplitConfig,
    TrainConfig,
    dump_train_config,
    load_train_config,
)
from training.pipeline import run_training
from training.tracking import configure_mlflow, experiment_id
from training.tuning import run_tuning
from training.tuning_results import TuningFailed, trials_frame

NDCG = "ndcg_at_5"


@pytest.fixture(scope="module")
def bank_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated bank (600 customers), written once for the module."""
    return write_dataset(generate(600, seed=11), tmp_path_factory.mktemp("bank"), fmt="parquet")


@pytest.fixture(scope="module")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite store with its schema created once (migrations take ~1 s)."""
    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    # opening the store runs the migrations; a client of its own leaves global state alone
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def tune_settings(
    tmp_path: Path, migrated_store: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings with a fresh MLflow store of this test's own (a copy of the migrated one)."""
    settings = Settings(home=tmp_path / "home", mlflow_tracking_uri=None)
    settings.home.mkdir()
    shutil.copyfile(migrated_store, settings.home / "mlflow.db")
    # configure_mlflow exports the URI; monkeypatch puts the variable back after the test
    monkeypatch.setenv("MLFLOW_TRACKING_URI", settings.resolved_tracking_uri)
    configure_mlflow(settings)
    return settings


def config_for(family: str, **params: object) -> TrainConfig:
    return TrainConfig(model=ModelSection(family=family, params=dict(params)))


def child_runs(settings: Settings, parent_id: str) -> pl.DataFrame:
    """The nested runs of a parent, read back from MLflow, as a polars frame."""
    runs = mlflow.search_runs(
        experiment_ids=[experiment_id(settings)],
        filter_string=f"tags.mlflow.parentRunId = '{parent_id}'",
    )
    return pl.from_pandas(runs)


# --- the search ------------------------------------------------------------------------


def test_each_trial_is_a_nested_run_and_the_best_is_the_max(
    bank_dir: Path, tune_settings: Settings
) -> None:
    out = run_tuning(bank_dir, config_for("als"), tune_settings, trials=4, seed=3)
    children = child_runs(tune_settings, out.run_id).sort("tags.trial")
    assert children.height == 4
    assert children["status"].to_list() == ["FINISHED"] * 4
    for trial, row in zip(out.trials, children.iter_rows(named=True), strict=True):
        assert row["run_id"] == trial.run_id and row["tags.trial"] == str(trial.number)
        for name in ("factors", "regularization", "alpha", "iterations"):
            assert row[f"params.model.{name}"] == str(trial.params[name])
        assert row[f"metrics.{NDCG}"] == pytest.approx(trial.value)
    # the best, judged from what MLflow holds, not from the outcome object
    best_row = children.sort(f"metrics.{NDCG}", descending=True).row(0, named=True)
    assert out.best.run_id == best_row["run_id"]
    assert out.best.value == max(children[f"metrics.{NDCG}"].to_list())
    assert len({t.value for t in out.trials}) > 1  # trials really differ

    parent = mlflow.get_run(out.run_id).data
    assert parent.metrics[f"best_{NDCG}"] == pytest.approx(out.best.value)
    assert parent.metrics[f"baseline_{NDCG}"] == pytest.approx(out.baseline[NDCG])
    assert parent.params["best.factors"] == str(out.best.params["factors"])
    assert parent.tags["best_run_id"] == out.best.run_id
    assert parent.metrics["trials_complete"] == 4 and parent.metrics["trials_failed"] == 0
    logged = mlflow.artifacts.load_text(f"runs:/{out.run_id}/tuned.toml")
    assert logged == dump_train_config(out.config)


def test_tuned_toml_retrains_to_the_best_trials_metric(
    bank_dir: Path, tune_settings: Settings, tmp_path: Path
) -> None:
    # a base config with its own split and a fixed param: both must reach the tuned file
    base = TrainConfig(
        model=ModelSection(family="als", params={"seed": 7}),
        split=SplitConfig(window_days=45),
    )
    out = run_tuning(bank_dir, base, tune_settings, trials=3, seed=5, metric="recall_at_5")
    path = tmp_path / "tuned.toml"
    path.write_text(dump_train_config(out.config))
    cfg = load_train_config(path)
    assert cfg == out.config
    assert cfg.model.family == "als" and cfg.model.params == out.best.params
    assert cfg.model.params["seed"] == 7 and cfg.split.window_days == 45
    assert cfg.evaluation.metric == "recall_at_5"

    trained = run_training(bank_dir, cfg, tune_settings)
    # same data, same split, deterministic model: training reproduces the trial's numbers
    assert trained.metrics == pytest.approx(out.best.metrics)
    assert trained.baseline == pytest.approx(out.baseline)


def test_same_seed_same_trials_other_seed_other_trials(
    bank_dir: Path, tune_settings: Settings
) -> None:
    cfg = config_for("itemknn")

    def trials(seed: int) -> list[tuple[dict, float | None]]:
        out = run_tuning(bank_dir, cfg, tune_settings, trials=3, seed=seed)
        return [(t.params, t.value) for t in out.trials]

    first = trials(1)
    assert trials(1) == first
    assert [p for p, _ in trials(2)] != [p for p, _ in first]


def test_failing_trials_are_recorded_and_all_failing_is_an_error(
    bank_dir: Path, tune_settings: Settings
) -> None:
    # a fixed param that fails at fit time (no such customer column) fails every trial
    cfg = config_for("lightfm", customer_columns=["no_such_column"], epochs=1)
    with pytest.raises(TuningFailed, match="no_such_column"):
        run_tuning(bank_dir, cfg, tune_settings, trials=2, seed=0)
    runs = pl.from_pandas(mlflow.search_runs(experiment_ids=[experiment_id(tune_settings)]))
    trials = runs.filter(pl.col("tags.kind") == "tune-trial")
    assert trials["status"].to_list() == ["FAILED", "FAILED"]
    assert all("no_such_column" in e for e in trials["tags.error"].to_list())
    parent = runs.filter(pl.col("tags.kind") == "tune")
    assert parent["status"].to_list() == ["FAILED"]


def test_params_in_the_base_config_stay_fixed(bank_dir: Path, tune_settings: Settings) -> None:
    cfg = config_for("itemknn", similarity="bm25")
    out = run_tuning(bank_dir, cfg, tune_settings, trials=3, seed=2)
    children = child_runs(tune_settings, out.run_id)
    assert children["params.model.similarity"].to_list() == ["bm25"] * 3
    assert len(set(children["params.model.bm25_k1"].to_list())) == 3  # the free ones vary
    assert out.config.model.params["similarity"] == "bm25"
    assert mlflow.get_run(out.run_id).data.params["fixed.similarity"] == "bm25"


def test_timeout_stops_starting_trials(bank_dir: Path, tune_settings: Settings) -> None:
    out = run_tuning(
        bank_dir, config_for("popularity"), tune_settings, trials=10_000, timeout=1.0, seed=0
    )
    assert 1 <= len(out.trials) < 10_000
    assert len(child_runs(tune_settings, out.run_id)) == len(out.trials)


def test_trials_frame_has_a_row_per_trial(bank_dir: Path, tune_settings: Settings) -> None:
    out = run_tuning(bank_dir, config_for("popularity"), tune_settings, trials=3, seed=0)
    frame = trials_frame(out)
    assert frame["trial"].to_list() == [0, 1, 2]
    assert frame[NDCG].to_list() == [t.value for t in out.trials]
    assert {"param_shrinkage", "param_weighting", "param_by_segment"} <= set(frame.columns)
    assert out.top(2)[0] == out.best and out.top(2)[0].value >= out.top(2)[1].value


# --- refusals --------------------------------------------------------------------------


def test_bad_requests_are_refused_before_any_run(bank_dir: Path, tune_settings: Settings) -> None:
    with pytest.raises(ValueError, match=r"ndcg_at_10.*not measured at k=5.*ndcg_at_5"):
        run_tuning(bank_dir, config_for("als"), tune_settings, trials=2, metric="ndcg_at_10")
    with pytest.raises(ValueError, match="trials must be >= 1"):
        run_tuning(bank_dir, config_for("als"), tune_settings, trials=0)
    with pytest.raises(ValueError, match="factors"):
        run_tuning(bank_dir, config_for("als", factors=0), tune_settings, trials=2)
    assert mlflow.search_runs(search_all_experiments=True).empty


def test_a_config_fixing_every_param_is_searched_from_its_values(
    bank_dir: Path, tune_settings: Settings
) -> None:
    every = config_for("popularity", shrinkage=5.0, weighting="weight", by_segment=False)
    out = run_tuning(bank_dir, every, tune_settings, trials=3, seed=0)
    assert out.trials[0].params == {"shrinkage": 5.0, "weighting": "weight", "by_segment": False}
    assert len({t.params["shrinkage"] for t in out.trials}) == 3  # the rest search the space
    assert not any(k.startswith("fixed.") for k in mlflow.get_run(out.run_id).data.params)


def test_the_space_is_sized_from_the_catalogue() -> None:
    from training.tuning_space import search_space

    (knn,) = [p for p in search_space("itemknn", n_products=22) if p.name == "neighbours"]
    assert (knn.low, knn.high) == (5, 22)
    (factors,) = [p for p in search_space("als", n_products=3) if p.name == "factors"]
    assert (factors.low, factors.high) == (3, 3)
    assert search_space("itemknn") == search_space("itemknn", n_products=10_000)


def test_bad_data_raises_validation_error_and_logs_nothing(
    bank_dir: Path, tune_settings: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("customers", "products"):
        (bad / f"{name}.parquet").write_bytes((bank_dir / f"{name}.parquet").read_bytes())
    events = pl.read_parquet(bank_dir / "events.parquet")
    events.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("NO-SUCH-PRODUCT"))
        .otherwise(pl.col(C.product_id))
        .alias(C.product_id)
    ).write_parquet(bad / "events.parquet")
    with pytest.raises(DataValidationError, match="NO-SUCH-PRODUCT"):
        run_tuning(bad, config_for("als"), tune_settings, trials=2)
    assert mlflow.search_runs(search_all_experiments=True).empty
