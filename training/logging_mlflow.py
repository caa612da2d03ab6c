"""What a training run writes to MLflow: params, metrics vs baseline, plots, lineage."""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
import polars as pl

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.evaluation.plots import plot_metric_comparison, plot_segments
from recsys.evaluation.report import Report, compare
from recsys.evaluation.splits import Split
from recsys.models.base import Recommender
from training.config import TrainConfig
from training.evaluate import Evaluation
from training.lineage import git_commit, library_versions
from training.promotion import GateVerdict

BASELINE = "baseline"  # segment popularity, named apart from a popularity candidate


def log_run(
    config: TrainConfig,
    data: BankData,
    split: Split,
    model: Recommender,
    result: Evaluation,
    baseline: Evaluation,
    fingerprint: str,
    split_fp: str,
    data_dir: Path,
) -> None:
    """Log everything about one evaluated model to the active MLflow run."""
    mlflow.log_params({f"model.{k}": v for k, v in model.get_params().items()})
    mlflow.log_params({f"split.{k}": v for k, v in config.split.model_dump().items()})
    mlflow.log_params({"eval.k": config.evaluation.k, "eval.metric": config.evaluation.metric})
    mlflow.log_metrics(result.metrics)
    mlflow.log_metrics({f"baseline_{k}": v for k, v in baseline.metrics.items()})
    mlflow.log_metrics(_lifts(result.metrics, baseline.metrics))
    mlflow.log_metrics({f"rows_{name}": float(n) for name, n in data.summary().items()})
    mlflow.log_metrics(
        {
            "rows_train_events": float(split.train.height),
            "rows_test_pairs": float(split.test.height),
        }
    )
    mlflow.set_tags(
        {
            "family": config.model.family,
            "data_fingerprint": fingerprint,
            "split_fingerprint": split_fp,
            "split_label": split.label,
            "data_dir": str(data_dir.resolve()),
            "git_commit": git_commit(),
            **{f"lib.{name}": v for name, v in library_versions().items()},
        }
    )
    _log_plots(config, result, baseline)


def _lifts(metrics: dict[str, float], base: dict[str, float]) -> dict[str, float]:
    return {
        f"lift_{k}": v / base[k] - 1.0
        for k, v in metrics.items()
        if k != Report.n_customers and base.get(k)
    }


def _log_plots(config: TrainConfig, result: Evaluation, baseline: Evaluation) -> None:
    name = config.model.family
    compared = compare({name: result.metrics, BASELINE: baseline.metrics}, baseline=BASELINE)
    seg = pl.concat(
        [
            result.segments.with_columns(pl.lit(name).alias(Report.model)),
            baseline.segments.with_columns(pl.lit(BASELINE).alias(Report.model)),
        ],
        how="diagonal_relaxed",
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        metrics = [m for m in compared[Report.metric].unique(maintain_order=True).to_list()]
        plot_metric_comparison(compared, folder / "metrics_vs_baseline.png", metrics)
        plot_segments(
            seg, config.evaluation.metric, folder / f"segments_{config.evaluation.metric}.png"
        )
        compared.write_csv(folder / "metrics_vs_baseline.csv")
        seg.sort(C.segment, Report.model).write_csv(folder / "segments.csv")
        mlflow.log_artifacts(str(folder), artifact_path="evaluation")


PER_CUSTOMER = "evaluation/per_customer.parquet"


def log_baselines(
    baselines: dict[str, Evaluation], best: str, metric: str, result: Evaluation
) -> None:
    """Every simple baseline's metrics (baseline_<name>_<metric>), the strongest, and the
    candidate's per-customer figures (what a later gate on this holdout pairs with)."""
    for name, evaluation in baselines.items():
        mlflow.log_metrics({f"baseline_{name}_{k}": v for k, v in evaluation.metrics.items()})
    mlflow.set_tag("strongest_baseline", best)
    strong = baselines[best].metrics
    mlflow.log_metric(f"strongest_baseline_{metric}", strong[metric])
    if strong.get(metric):
        mlflow.log_metric(f"lift_strongest_{metric}", result.metrics[metric] / strong[metric] - 1)
    log_per_customer(result.per_customer)


def log_per_customer(per_customer: pl.DataFrame) -> None:
    """Per-customer figures as the run's artifact (what a later gate on this holdout pairs)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(PER_CUSTOMER).name
        per_customer.write_parquet(path)
        mlflow.log_artifact(str(path), artifact_path=str(Path(PER_CUSTOMER).parent))


def read_per_customer(run_id: str) -> pl.DataFrame | None:
    """The per-customer figures a run logged, or None if it logged none."""
    names = {a.path for a in mlflow.MlflowClient().list_artifacts(run_id, "evaluation")}
    if PER_CUSTOMER not in names:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=PER_CUSTOMER, dst_path=tmp
        )
        return pl.read_parquet(local)


def log_verdict(verdict: GateVerdict) -> None:
    """The gate's bootstrap intervals as metrics (gate_<opponent>_<mean|low|high>)."""
    for name, diff in (
        ("baseline", verdict.against_baseline),
        ("champion", verdict.against_champion),
    ):
        if diff is not None:
            mlflow.log_metrics(
                {
                    f"gate_{name}_diff": diff.mean,
                    f"gate_{name}_low": diff.low,
                    f"gate_{name}_high": diff.high,
                }
            )
