"""`recsys train`: validate -> split -> fit -> evaluate vs popularity -> log -> register -> promote."""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.load import load_dataset
from recsys.engine.engine import Engine
from recsys.engine.snapshot import Snapshot
from recsys.evaluation.splits import Split
from recsys.models.base import Recommender
from recsys.models.registry import build_model
from recsys.settings import Settings
from training import logging_mlflow as mlog
from training.config import TrainConfig
from training.evaluate import Evaluation, engine_for, fit_and_evaluate, split_snapshot, train_data
from training.lineage import data_fingerprint
from training.promotion import Decision, promotion_decision
from training.pyfunc import log_pyfunc
from training.registry import Registry
from training.splitting import make_split, split_fingerprint
from training.tracking import configure_mlflow, experiment_id

log = logging.getLogger(__name__)
FAMILY_NAMES = {"popular": "popularity"}  # CLI name -> model family
PROBE_CUSTOMERS = 1000
Step = Callable[[str], AbstractContextManager[object]]


class PromotionRefused(RuntimeError):
    """The candidate was registered but did not beat the champion."""


@dataclass(frozen=True)
class TrainOutcome:
    """What a training run produced."""

    run_id: str
    metrics: dict[str, float]
    baseline: dict[str, float]
    version: int | None = None
    decision: Decision | None = None


def model_factory(family: str, params: dict) -> Callable[[], Recommender]:
    """A zero-argument constructor of a configured, unfitted model."""
    name = FAMILY_NAMES.get(family, family)
    build_model(name, params)  # validate params now, before any work is done
    return lambda: build_model(name, params)


def fallback_factory() -> Recommender:
    """Segment popularity: the answer for customers with no history."""
    return build_model("popularity", {})


def run_training(
    data_dir: Path,
    config: TrainConfig,
    settings: Settings,
    *,
    register: bool = False,
    promote: bool = False,
    step: Step = lambda _name: nullcontext(),
) -> TrainOutcome:
    """The whole pipeline; bad data raises DataValidationError before anything is logged."""
    make_model = model_factory(config.model.family, config.model.params)
    with step("load + validate"):
        data = load_dataset(data_dir, event_types=settings.event_types, channels=list(settings.channels))
    configure_mlflow(settings)
    fingerprint = data_fingerprint(data)
    split_fp = split_fingerprint(fingerprint, config)
    with step("split"):
        split = make_split(data, config)
        snap = split_snapshot(data, split, settings)
    k, cap = config.evaluation.k, config.evaluation.max_eval_customers
    with step(f"fit + evaluate {config.model.family}"):
        engine, result = fit_and_evaluate(make_model, fallback_factory, snap, split, settings, k=k, max_customers=cap)
    with step("fit + evaluate popularity baseline"):
        _, baseline = fit_and_evaluate(fallback_factory, fallback_factory, snap, split, settings, k=k, max_customers=cap)
    with mlflow.start_run(experiment_id=experiment_id(settings)) as run:
        with step("log to MLflow"):
            mlog.log_run(config, data, split, engine.model, result, baseline, fingerprint, split_fp, data_dir)
        outcome = TrainOutcome(run.info.run_id, result.metrics, baseline.metrics)
        if not register:
            return outcome
        with step("refit on all data + register"):
            version = _register(data, config, settings, make_model, fingerprint, split_fp, run.info.run_id)
        outcome = TrainOutcome(run.info.run_id, result.metrics, baseline.metrics, version)
        if not promote:
            return outcome
        with step("promotion gate"):
            decision = _gate(data, split, snap, config, settings, result, split_fp)
            mlflow.set_tag("promotion", decision.reason)
        if decision.promote:
            Registry(settings.registered_model, settings.champion_alias).promote(version)
        return TrainOutcome(run.info.run_id, result.metrics, baseline.metrics, version, decision)


def _register(
    data: BankData,
    config: TrainConfig,
    settings: Settings,
    make_model: Callable[[], Recommender],
    fingerprint: str,
    split_fp: str,
    run_id: str,
) -> int:
    """Refit on all data, check it scores finitely, log the pyfunc, register a version."""
    w = settings.weights
    as_of = data.events[C.timestamp].max()
    snap = Snapshot.build(data, weights=w.as_dict(), half_life_days=w.half_life_days, as_of=as_of)
    fit_on = train_data(snap)
    engine = engine_for(make_model().fit(fit_on), fallback_factory().fit(fit_on), snap, settings)
    _probe(engine)
    engine.manifest.update(data_fingerprint=fingerprint, split_fingerprint=split_fp, run_id=run_id)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = engine.save(Path(tmp) / "bundle")
        uri = log_pyfunc(bundle)
    tags = {
        "family": config.model.family,
        "params_json": json.dumps(config.model.params, sort_keys=True),
        "data_fingerprint": fingerprint,
        "split_fingerprint": split_fp,
        "trained_at": as_of.isoformat(),
    }
    return Registry(settings.registered_model, settings.champion_alias).register(uri, run_id, tags)


def _probe(engine: Engine) -> None:
    """Refuse a model whose scores are not finite for a sample of customers."""
    ids = engine.snapshot.customer_map.ids[:PROBE_CUSTOMERS].tolist()
    scores, _ = engine.scores(engine.state(ids))
    if not np.isfinite(scores).all():
        raise ValueError(f"{engine.model.family} gives non-finite scores; refusing to register it")


def _gate(
    data: BankData,
    split: Split,
    snap: Snapshot,
    config: TrainConfig,
    settings: Settings,
    result: Evaluation,
    split_fp: str,
) -> Decision:
    """Compare with the champion on this holdout (re-fitting the champion's config if needed)."""
    metric = config.evaluation.metric
    champion = Registry(settings.registered_model, settings.champion_alias).champion()
    champ_metrics = None
    if champion is not None:
        if champion.tags.get("split_fingerprint") == split_fp:
            champ_metrics = mlflow.MlflowClient().get_run(champion.run_id).data.metrics
        else:
            log.info("champion was judged on another holdout; re-evaluating its config on this one")
            family, params = champion.tags["family"], json.loads(champion.tags["params_json"])
            _, champ_eval = fit_and_evaluate(
                model_factory(family, params), fallback_factory, snap, split, settings,
                k=config.evaluation.k, max_customers=config.evaluation.max_eval_customers,
            )
            champ_metrics = champ_eval.metrics
        mlflow.log_metric(f"champion_{metric}", champ_metrics.get(metric, float("nan")))
    return promotion_decision(
        result.metrics, champ_metrics, metric=metric, margin=config.evaluation.promote_margin
    )

