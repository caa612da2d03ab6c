"""What an auto run writes to MLflow and the registry: figures, candidate table, keys."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import mlflow
import polars as pl

from recsys.settings import Settings
from training import logging_mlflow as mlog
from training.auto_folds import Pooled
from training.config import TrainConfig
from training.lineage import git_commit
from training.protocol import Protocol
from training.registry import Registry
from training.reuse import KEY_TAG, training_key


def log_auto(
    protocol: Protocol,
    chosen: TrainConfig,
    winner: Pooled,
    baselines: dict[str, Pooled],
    best: str,
    table: pl.DataFrame,
    fingerprint: str,
    split_fp: str,
    data_dir: Path,
) -> None:
    """The parent run: the winner's holdout figures, every baseline, the candidate table."""
    metric = chosen.evaluation.metric
    mlflow.log_params(
        {
            "model.family": chosen.model.family,
            "model.params_json": json.dumps(chosen.model.params, sort_keys=True)[:6000],
            "weights.half_life_days": chosen.weights.half_life_days if chosen.weights else None,
            "eval.k": chosen.evaluation.k,
            "eval.metric": metric,
            "protocol.kind": protocol.kind,
        }
    )
    mlflow.log_metrics(winner.metrics())
    for name, pooled in baselines.items():
        mlflow.log_metrics({f"baseline_{name}_{k}": v for k, v in pooled.metrics().items()})
    mlflow.log_metrics(
        {f"baseline_{k}": v for k, v in baselines["popularity_segment"].metrics().items()}
    )
    mlflow.log_metric(f"strongest_baseline_{metric}", baselines[best].mean(metric))
    mlflow.log_metric("holdout_customers", float(protocol.holdout_customers))
    mlflow.set_tags(
        {
            "family": chosen.model.family,
            "strongest_baseline": best,
            "data_fingerprint": fingerprint,
            "split_fingerprint": split_fp,
            "split_label": protocol.kind,
            "data_dir": str(data_dir.resolve()),
            "git_commit": git_commit(),
        }
    )
    mlflow.log_text(table.write_csv(), "auto/candidates.csv")
    mlog.log_per_customer(winner.per_customer)


def split_fingerprint(fingerprint: str, protocol: Protocol, config: TrainConfig) -> str:
    """Identifies the holdout of an auto run: data, protocol and what is measured."""
    spec = {
        "data": fingerprint,
        "protocol": protocol.statement,
        "k": config.evaluation.k,
        "max_eval_customers": config.evaluation.max_eval_customers,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def auto_key(
    fingerprint: str,
    config: TrainConfig,
    settings: Settings,
    budget_s: float,
    families: Sequence[str],
) -> str | None:
    """What identifies an auto run's registered model: data, config, budget, code."""
    key = training_key(fingerprint, config, settings)
    if key is None:
        return None
    spec = json.dumps({"key": key, "auto": budget_s, "families": list(families)})
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def retag_key(settings: Settings, version: int, key: str | None) -> None:
    """The version's training key is the auto run's (the chosen config is an outcome)."""
    if key is not None:
        registry = Registry(settings.registered_model, settings.champion_alias)
        registry.client.set_model_version_tag(registry.name, str(version), KEY_TAG, key)
