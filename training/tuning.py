"""`recsys tune`: optuna search over one family's space, each trial a nested MLflow run."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import mlflow
import optuna

from recsys.data.load import load_dataset
from recsys.engine.snapshot import Snapshot
from recsys.evaluation.metrics import METRICS
from recsys.evaluation.report import metric_key
from recsys.evaluation.splits import Split
from recsys.models.base import Recommender
from recsys.settings import Settings
from training.config import TrainConfig, dump_train_config, effective_settings
from training.evaluate import Evaluation, fit_and_evaluate, split_snapshot
from training.lineage import data_fingerprint, git_commit
from training.pipeline import Step, fallback_factory, model_factory
from training.splitting import make_split, split_fingerprint
from training.tracking import configure_mlflow, experiment_id
from training.tuning_results import (
    TrialResult,
    TuneOutcome,
    best_trial,
    trial_result,
    trials_frame,
    tuned_config,
)
from training.tuning_space import check_space, free_params, search_space, suggest_params

# A trial whose parameters make the model fail (e.g. diverging factors) is recorded as
# failed and the search goes on; anything else is a bug and stops the search.
TRIAL_ERRORS = (ValueError, ArithmeticError)


@dataclass(frozen=True)
class _Holdout:
    """The split every trial is judged on, built once."""

    snap: Snapshot
    split: Split
    settings: Settings
    k: int
    max_customers: int

    def evaluate(self, make_model: Callable[[], Recommender]) -> Evaluation:
        _, result = fit_and_evaluate(
            make_model,
            fallback_factory,
            self.snap,
            self.split,
            self.settings,
            k=self.k,
            max_customers=self.max_customers,
        )
        return result


def tunable_metrics(k: int) -> list[str]:
    """The metric names a search can maximise at cut-off k."""
    return [metric_key(name, k) for name in (*METRICS, "coverage")]


def run_tuning(
    data_dir: Path,
    config: TrainConfig,
    settings: Settings,
    *,
    trials: int,
    metric: str | None = None,
    timeout: float | None = None,
    seed: int = 0,
    step: Step = lambda _name: nullcontext(),
    on_start: Callable[[int], None] = lambda _trials: None,
    on_trial: Callable[[TrialResult, float | None], None] = lambda _t, _best: None,
) -> TuneOutcome:
    """Load and split once, run the trials, log them under one parent run; the best wins.

    `on_start(trials)` is called once the first trial is about to run, `on_trial(result,
    best_value)` after each trial (failed ones too), so a caller can show progress.
    """
    metric = metric or config.evaluation.metric
    _check_request(config, metric, trials)
    settings = effective_settings(settings, config)
    with step("load + validate"):
        data = load_dataset(
            data_dir, event_types=settings.event_types, channels=list(settings.channels)
        )
    configure_mlflow(settings)
    fingerprint = data_fingerprint(data)
    with step("split"):
        split = make_split(data, config)
        holdout = _Holdout(
            split_snapshot(data, split, settings),
            split,
            settings,
            config.evaluation.k,
            config.evaluation.max_eval_customers,
        )
    with step("popularity baseline"):
        baseline = holdout.evaluate(fallback_factory).metrics
    tags = {
        "data_fingerprint": fingerprint,
        "split_fingerprint": split_fingerprint(fingerprint, config),
        "split_label": split.label,
        "data_dir": str(data_dir.resolve()),
        "git_commit": git_commit(),
    }
    fixed, first = search_start(config.model.family, config.model.params)
    search = _Search(
        config, metric, holdout, experiment_id(settings), tags, fixed, first, data.products.height
    )
    on_start(trials)
    return search.run(trials, timeout, seed, baseline, on_trial)


def _check_request(config: TrainConfig, metric: str, trials: int) -> None:
    """Refuse a search that cannot run, before any data is read."""
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    known = tunable_metrics(config.evaluation.k)
    if metric not in known:
        raise ValueError(
            f"metric {metric!r} is not measured at k={config.evaluation.k}; "
            f"choose one of {', '.join(known)}"
        )
    family, fixed = config.model.family, config.model.params
    check_space(family)
    model_factory(family, fixed)  # base params must be valid


def search_start(family: str, params: dict) -> tuple[dict, dict | None]:
    """(fixed params, first trial's params or None) of a search from a base config.

    Params the base config sets stay fixed; a config that sets every parameter of the space
    (a tuned one, such as configs/synthetic.toml) is searched around instead: its values
    are the first trial and the whole space is free.
    """
    if free_params(family, params):
        return dict(params), None
    names = {p.name for p in search_space(family)}
    fixed = {k: v for k, v in params.items() if k not in names}
    return fixed, {k: v for k, v in params.items() if k in names}


@dataclass(frozen=True)
class _Search:
    """One study on one holdout: a parent MLflow run with a nested run per trial."""

    config: TrainConfig
    metric: str
    holdout: _Holdout
    experiment: str
    tags: dict[str, str]
    fixed: dict
    first: dict | None  # the first trial's params, when the base config fixes every one
    n_products: int  # sizes the space (neighbours, factors)

    def run(
        self,
        trials: int,
        timeout: float | None,
        seed: int,
        baseline: dict[str, float],
        on_trial: Callable[[TrialResult, float | None], None],
    ) -> TuneOutcome:
        family, metric = self.config.model.family, self.metric
        with mlflow.start_run(experiment_id=self.experiment, run_name=f"tune-{family}") as parent:
            mlflow.set_tags({"kind": "tune", "family": family, **self.tags})
            mlflow.log_params(
                {
                    "tune.metric": metric,
                    "tune.trials": trials,
                    "tune.seed": seed,
                    "tune.timeout": timeout,
                    "eval.k": self.config.evaluation.k,
                    **{f"split.{k}": v for k, v in self.config.split.model_dump().items()},
                    **{f"fixed.{k}": v for k, v in self.fixed.items()},
                }
            )
            mlflow.log_metrics({f"baseline_{k}": v for k, v in baseline.items()})
            sampler = optuna.samplers.TPESampler(seed=seed)
            study = optuna.create_study(direction="maximize", sampler=sampler)
            if self.first is not None:
                mlflow.set_tag("started_from", "the base config's params (it fixed every one)")
                study.enqueue_trial(self.first)
            study.optimize(
                self.objective,
                n_trials=trials,
                timeout=timeout,
                catch=TRIAL_ERRORS,
                callbacks=[_reporter(on_trial)],
            )
            results = [trial_result(t) for t in study.trials]
            best = best_trial(results)
            config = tuned_config(self.config, best.params, metric)
            outcome = TuneOutcome(parent.info.run_id, metric, best, baseline, results, config)
            _log_outcome(outcome)
        return outcome

    def objective(self, trial: optuna.Trial) -> float:
        """Fit and evaluate one trial's params in a nested run; the tuned metric's value."""
        family = self.config.model.family
        # params the base config sets are fixed; the rest of the space is searched
        params = suggest_params(trial, family, self.fixed, self.n_products)
        trial.set_user_attr("params", params)
        with mlflow.start_run(
            experiment_id=self.experiment, run_name=f"trial-{trial.number}", nested=True
        ) as run:
            trial.set_user_attr("run_id", run.info.run_id)
            mlflow.set_tags(
                {
                    "kind": "tune-trial",
                    "family": family,
                    "trial": str(trial.number),
                    "split_fingerprint": self.tags["split_fingerprint"],
                }
            )
            try:
                make_model = model_factory(family, params)
                mlflow.log_params({f"model.{k}": v for k, v in make_model().get_params().items()})
                metrics = self.holdout.evaluate(make_model).metrics
            except TRIAL_ERRORS as exc:
                # optuna only logs the error; keep it for the report and the run
                trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
                mlflow.set_tag("error", trial.user_attrs["error"][:5000])
                raise
            mlflow.log_metrics(metrics)
        trial.set_user_attr("metrics", metrics)
        return metrics[self.metric]


def _reporter(
    on_trial: Callable[[TrialResult, float | None], None],
) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        done = any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
        on_trial(trial_result(trial), study.best_value if done else None)

    return report


def _log_outcome(outcome: TuneOutcome) -> None:
    """The parent run: best params and metrics, counts, the tuned TOML and every trial."""
    best, metric = outcome.best, outcome.metric
    mlflow.log_params({f"best.{k}": v for k, v in best.params.items()})
    mlflow.log_metrics(best.metrics)
    mlflow.log_metric(f"best_{metric}", best.metrics[metric])
    base = outcome.baseline.get(metric)
    if base:
        mlflow.log_metric(f"best_lift_{metric}", best.metrics[metric] / base - 1.0)
    failed = sum(t.value is None for t in outcome.trials)
    mlflow.log_metrics({"trials_complete": len(outcome.trials) - failed, "trials_failed": failed})
    mlflow.set_tags({"best_trial": str(best.number), "best_run_id": best.run_id})
    mlflow.log_text(dump_train_config(outcome.config), "tuned.toml")
    mlflow.log_text(trials_frame(outcome).write_csv(), "trials.csv")
