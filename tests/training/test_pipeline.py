"""run_training end to end: bad data logs nothing; runs, versions and the gate on each backend."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pandas as pd
import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.data.problems import DataValidationError
from recsys.settings import Settings
from tests.training.trained import champion_registry, generated_dataset, train_config
from training.pipeline import TrainOutcome, run_training
from training.registry import Registry
from training.tracking import EXPERIMENT


@pytest.fixture
def champion(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, TrainOutcome]:
    """The shared registry with an item-kNN champion (MLflow pointed at it for this test)."""
    return champion_registry(tmp_path_factory.getbasetemp())


@pytest.fixture
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated dataset the champion was trained on."""
    return generated_dataset(tmp_path_factory.getbasetemp())


def corrupt(source: Path, target: Path, table: str, column: str, value: object) -> Path:
    """A copy of the dataset with `column` of the 3rd row of `table` set to `value`."""
    shutil.copytree(source, target)
    path = target / f"{table}.parquet"
    frame = pl.read_parquet(path)
    dtype = frame.schema[column]
    values = frame[column].to_list()
    values[2] = value
    frame.with_columns(pl.Series(column, values, dtype=dtype)).write_parquet(path)
    return target


def run_ids(settings: Settings) -> list[str]:
    found = mlflow.MlflowClient().get_experiment_by_name(EXPERIMENT)
    if found is None:
        return []
    runs = mlflow.search_runs([found.experiment_id], output_format="list")
    return sorted(r.info.run_id for r in runs)


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [("events", C.product_id, "ZZZ9"), ("products", C.risk_rating, 9)],
)
def test_bad_data_raises_and_nothing_is_logged_or_registered(
    champion: tuple[Settings, TrainOutcome],
    dataset: Path,
    tmp_path: Path,
    table: str,
    column: str,
    value: object,
) -> None:
    settings, _ = champion
    reg = Registry(settings.registered_model, settings.champion_alias)
    runs_before, versions_before = run_ids(settings), [v.version for v in reg.versions()]
    bad = corrupt(dataset, tmp_path / "bad", table, column, value)
    with pytest.raises(DataValidationError) as caught:
        run_training(bad, train_config("popularity"), settings, register=True, promote=True)
    assert any(p.column == column and table in p.file for p in caught.value.problems), str(
        caught.value
    )
    assert run_ids(settings) == runs_before
    assert [v.version for v in reg.versions()] == versions_before
    assert int(reg.champion().version) == versions_before[0]


def test_a_run_without_register_is_logged_but_not_registered(
    champion: tuple[Settings, TrainOutcome], dataset: Path
) -> None:
    settings, first = champion
    reg = Registry(settings.registered_model, settings.champion_alias)
    versions_before = [v.version for v in reg.versions()]
    outcome = run_training(dataset, train_config("popularity"), settings)
    assert outcome.version is None and outcome.verdict is None
    assert [v.version for v in reg.versions()] == versions_before
    run = mlflow.MlflowClient().get_run(outcome.run_id)
    assert run.data.params["model.family"] == "popularity"
    metrics = run.data.metrics
    assert metrics["ndcg_at_5"] == pytest.approx(outcome.metrics["ndcg_at_5"])
    # popularity is its own baseline: no lift, exactly
    assert metrics["baseline_ndcg_at_5"] == pytest.approx(metrics["ndcg_at_5"])
    assert metrics["lift_ndcg_at_5"] == pytest.approx(0.0)
    # same data and split as the champion's run: the fingerprints say so
    champion_run = mlflow.MlflowClient().get_run(first.run_id)
    for tag in ("data_fingerprint", "split_fingerprint"):
        assert run.data.tags[tag] == champion_run.data.tags[tag]
    logged = {a.path for a in mlflow.MlflowClient().list_artifacts(outcome.run_id, "evaluation")}
    assert "evaluation/metrics_vs_baseline.csv" in logged


def test_register_promote_gate_and_predict_round_trip(
    registry_settings: Settings, dataset: Path
) -> None:
    settings = registry_settings
    reg = Registry(settings.registered_model, settings.champion_alias)
    first = run_training(dataset, train_config("itemknn"), settings, register=True, promote=True)
    assert first.version == 1 and first.verdict is not None and first.verdict.promote
    assert int(reg.champion().version) == 1

    ids = pl.read_parquet(dataset / "customers.parquet")[C.customer_id].head(20).to_list()
    model = mlflow.pyfunc.load_model(f"models:/{settings.registered_model}@champion")
    out = model.predict(pd.DataFrame({C.customer_id: ids}), params={"k": 3})
    assert set(out[C.customer_id]) <= set(ids) and out[C.customer_id].nunique() >= 15
    assert out.groupby(C.customer_id)["rank"].max().max() == 3

    # judged on another holdout: the gate re-fits the champion's config on this one
    second = run_training(
        dataset, train_config("popularity", window_days=45), settings, register=True, promote=True
    )
    assert second.version == 2 and second.verdict is not None and not second.verdict.promote
    assert int(reg.champion().version) == 1
    metrics = mlflow.MlflowClient().get_run(second.run_id).data.metrics
    assert metrics["champion_ndcg_at_5"] > metrics["ndcg_at_5"]
    assert metrics["champion_ndcg_at_5"] != pytest.approx(first.metrics["ndcg_at_5"])
    assert [(v.version, v.is_champion) for v in reg.versions()] == [(2, False), (1, True)]

    unpromoted = mlflow.pyfunc.load_model(f"models:/{settings.registered_model}/2")
    out = unpromoted.predict(pd.DataFrame({C.customer_id: ids[:3]}), params={"k": 2})
    assert out["reason"].str.startswith("popular").all()
