"""`recsys train`: validate, split, fit, evaluate vs popularity, log, register, promote."""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import mlflow
import numpy as np
import polars as pl

from recsys.coldstart.evaluate import fit_recent
from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.erased import without_erased
from recsys.engine.engine import Engine
from recsys.engine.snapshot import Snapshot
from recsys.evaluation.splits import Split
from recsys.models.base import Recommender
from recsys.models.registry import build_model
from recsys.settings import Settings
from training import logging_mlflow as mlog
from training.baselines import (
    BASELINE_FAMILIES,
    SEGMENT,
    evaluate_baselines,
    fit_baselines,
    strongest,
)
from training.calibrate import calibrate_on_holdout, log_calibration
from training.config import TrainConfig, effective_settings
from training.erased import erased_in_store
from training.evaluate import (
    Evaluation,
    engine_for,
    evaluate_engine,
    fit_and_evaluate,
    split_snapshot,
    train_data,
)
from training.lineage import data_fingerprint
from training.promotion import GateVerdict, Opponent, gate_verdict
from training.pyfunc import log_pyfunc
from training.registry import Registry
from training.reuse import KEY_TAG, Unchanged, find_unchanged, training_key
from training.splitting import make_split, split_fingerprint
from training.store_events import load_with_store
from training.tracking import configure_mlflow, experiment_id

log = logging.getLogger(__name__)
PROBE_CUSTOMERS = 1000
Step = Callable[[str], AbstractContextManager[object]]
T = TypeVar("T")


@dataclass(frozen=True)
class TrainOutcome:
    """What a training run produced."""

    run_id: str
    metrics: dict[str, float]
    baseline: dict[str, float]
    version: int | None = None
    verdict: GateVerdict | None = None
    unchanged: Unchanged | None = None  # set when nothing was trained: see training/reuse.py
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)  # every simple one
    strongest: str = ""  # the baseline the gate compares with
    # store events the dataset could not take (--events-from-store), by reason: see store_events
    left_out: dict[str, int] = field(default_factory=dict)


def model_factory(family: str, params: dict) -> Callable[[], Recommender]:
    """A zero-argument constructor of a configured, unfitted model."""
    build_model(family, params)  # validate params now, before any work is done
    return lambda: build_model(family, params)


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
    extra_events: pl.DataFrame | None = None,
    skip_unchanged: bool = False,
) -> TrainOutcome:
    """The whole pipeline; bad data raises DataValidationError before anything is logged.

    The refit on all data (when registering) and MLflow's store set-up run in worker threads
    beside the split, fit and evaluation; `step` may be entered from those threads too.
    With `skip_unchanged` a registered version of the same data, config and code ends the
    run before anything is fitted (see training/reuse.py).
    """
    make_model = model_factory(config.model.family, config.model.params)
    settings = effective_settings(settings, config)
    with step("load + validate"):
        # extra_events (the event store's, for --events-from-store) are validated as well
        loaded = load_with_store(
            data_dir,
            extra_events=extra_events,
            event_types=settings.event_types,
            channels=list(settings.channels),
        )
        for line in loaded.left_out_lines():
            log.info("%s", line)
        data, erased = without_erased(loaded.data, erased_in_store(settings))
        if erased:
            log.info("%d erased customer(s) left out of training", erased)
    configure_mlflow(settings)
    fingerprint = None
    if register and skip_unchanged:
        fingerprint = data_fingerprint(data)
        registry = Registry(settings.registered_model, settings.champion_alias)
        unchanged = find_unchanged(registry, training_key(fingerprint, config, settings))
        if unchanged is not None:
            return replace(_kept(unchanged, registry, promote), left_out=loaded.left_out)
    experiment = _Background(experiment_id, settings)
    # The model fits release the GIL: with a spare core the refit costs no wall time.
    refit = _Background(_refit, data, settings, make_model, step) if register else None
    fingerprint = fingerprint or data_fingerprint(data)
    split_fp = split_fingerprint(fingerprint, config)
    with step("split"):
        split = make_split(data, config)
    with step("snapshot at the cutoff"):
        snap = split_snapshot(data, split, settings)
    engine, result, baselines = _fit_and_evaluate(
        make_model, data, snap, split, config, settings, step
    )
    baseline, metric = baselines[SEGMENT], config.evaluation.metric
    best = strongest(baselines, metric)
    figures = {
        "baselines": {name: b.metrics for name, b in baselines.items()},
        "strongest": best,
        "left_out": loaded.left_out,
    }
    method = settings.ranking.calibration
    with step(f"calibrate on the holdout ({method})"):
        calibrated = calibrate_on_holdout(
            engine, split, method, config.evaluation.max_eval_customers
        )
    with mlflow.start_run(experiment_id=experiment.result()) as run:
        with step("log to MLflow"):
            mlog.log_run(
                config, data, split, engine.model, result, baseline, fingerprint, split_fp, data_dir
            )
            mlog.log_baselines(baselines, best, metric, result)
            log_calibration(calibrated, method)
        outcome = TrainOutcome(run.info.run_id, result.metrics, baseline.metrics, **figures)
        if refit is None:
            return outcome
        with step("register"):
            engine_all, run_id = refit.result(), run.info.run_id
            # the holdout's calibration travels with the refitted models (same families,
            # same data up to the holdout; see docs/ranking.md)
            engine_all.calibrators.update(calibrated.calibrators)
            engine_all.prior = fit_recent(
                data.customers, data.products, data.events, engine_all.snapshot.as_of
            )
            version = _register(engine_all, config, settings, fingerprint, split_fp, run_id)
        outcome = TrainOutcome(run_id, result.metrics, baseline.metrics, version, **figures)
        if not promote:
            return outcome
        with step("promotion gate"):
            # a baseline family is itself a simple baseline: only the champion judges it
            opponent = None
            if config.model.family not in BASELINE_FAMILIES:
                opponent = Opponent(best, baselines[best].values(metric))
            verdict = _gate(data, split, snap, config, settings, result, split_fp, opponent)
            mlflow.set_tag("promotion", verdict.reason[:5000])
        if verdict.promote:
            Registry(settings.registered_model, settings.champion_alias).promote(version)
        return TrainOutcome(run_id, result.metrics, baseline.metrics, version, verdict, **figures)


def _kept(unchanged: Unchanged, registry: Registry, promote: bool) -> TrainOutcome:
    """The outcome of a run whose model is registered already: nothing trained or registered.

    With `promote` and no champion at all, the registered version becomes the champion, as
    the gate would have decided for a new one.
    """
    verdict = None
    if promote and unchanged.champion is None:
        registry.promote(unchanged.version)
        verdict = GateVerdict(True, f"no current champion; unchanged version {unchanged.version}")
        unchanged = replace(unchanged, champion=unchanged.version)
    return TrainOutcome(unchanged.run_id or "", {}, {}, unchanged.version, verdict, unchanged)


class _Background:
    """fn(*args) running in a daemon thread; `result()` waits for it and re-raises its error.

    Daemon, so a failure on the main path ends the process without waiting for a long fit.
    """

    def __init__(self, fn: Callable[..., T], *args: object) -> None:
        self._outcome: tuple[bool, object] | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, args), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[..., T], args: tuple[object, ...]) -> None:
        try:
            self._outcome = (True, fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            self._outcome = (False, exc)

    def result(self) -> T:
        """fn's return value, once it has finished; its exception is raised here."""
        self._thread.join()
        assert self._outcome is not None
        ok, value = self._outcome
        if not ok:
            raise value  # type: ignore[misc]
        return value  # type: ignore[return-value]


def _fit_and_evaluate(
    make_model: Callable[[], Recommender],
    data: BankData,
    snap: Snapshot,
    split: Split,
    config: TrainConfig,
    settings: Settings,
    step: Step,
) -> tuple[Engine, Evaluation, dict[str, Evaluation]]:
    """The model and the simple baselines on the split; one popularity fit is fallback too."""
    k, cap = config.evaluation.k, config.evaluation.max_eval_customers
    fit_on = train_data(snap)
    with step("fit the baselines (segment popularity is the fallback)"):
        popular = fallback_factory().fit(fit_on)
        models = fit_baselines(data, split, snap, popular)
    with step(f"fit {config.model.family}"):
        model = make_model().fit(fit_on)
    with step(f"evaluate {config.model.family} + {len(models)} baselines"):
        engine = engine_for(model, popular, snap, settings)
        result = evaluate_engine(engine, split, k, cap)
        baselines = evaluate_baselines(models, popular, snap, split, settings, k, cap)
    return engine, result, baselines


def _refit(
    data: BankData, settings: Settings, make_model: Callable[[], Recommender], step: Step
) -> Engine:
    """The engine to register: model and fallback refitted on all data, as of the last event."""
    with step("snapshot of all data"):
        w = settings.weights
        as_of = data.events[C.timestamp].max()
        snap = Snapshot.build(
            data, weights=w.as_dict(), half_life_days=w.half_life_days, as_of=as_of
        )
        fit_on = train_data(snap)
    model = make_model()
    with step(f"refit {model.family} + popularity on all data"):
        return engine_for(model.fit(fit_on), fallback_factory().fit(fit_on), snap, settings)


def _register(
    engine: Engine,
    config: TrainConfig,
    settings: Settings,
    fingerprint: str,
    split_fp: str,
    run_id: str,
) -> int:
    """Check the refitted engine scores finitely, log the pyfunc, register a version."""
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
        "trained_at": engine.snapshot.as_of.isoformat(),
    }
    key = training_key(fingerprint, config, settings)
    if key is not None:
        tags[KEY_TAG] = key
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
    baseline: Opponent | None,
) -> GateVerdict:
    """Compare with the strongest baseline and the champion on this holdout (paired).

    The champion's per-customer figures are its run's when it was judged on this holdout,
    else its config is re-fitted and evaluated here.
    """
    metric = config.evaluation.metric
    champion = Registry(settings.registered_model, settings.champion_alias).champion()
    opponent = None
    if champion is not None:
        values = None
        if champion.tags.get("split_fingerprint") == split_fp:
            values = mlog.read_per_customer(champion.run_id)
        if values is None and ("family" not in champion.tags or "params_json" not in champion.tags):
            return GateVerdict(
                False,
                f"champion version {champion.version} has no family/params tags, so it cannot be "
                "judged on this holdout; promote explicitly with `recsys models promote`",
            )
        if values is None:
            log.info("champion was judged on another holdout; re-evaluating its config on this one")
            family, params = champion.tags["family"], json.loads(champion.tags["params_json"])
            _, champ_eval = fit_and_evaluate(
                model_factory(family, params),
                fallback_factory,
                snap,
                split,
                settings,
                k=config.evaluation.k,
                max_customers=config.evaluation.max_eval_customers,
            )
            values = champ_eval.per_customer
        mean = values[metric].drop_nans().mean() if metric in values.columns else None
        mlflow.log_metric(f"champion_{metric}", float("nan") if mean is None else float(mean))
        opponent = Opponent(f"champion version {champion.version}", values)
    verdict = gate_verdict(
        result.per_customer,
        metric=metric,
        margin=config.evaluation.promote_margin,
        champion=opponent,
        baseline=baseline,
    )
    mlog.log_verdict(verdict)
    return verdict
