"""What a search produced: trial records, the best one, the tuned config, a trials table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna
import polars as pl

from training.config import ModelSection, TrainConfig


class TuningFailed(RuntimeError):
    """No trial finished; the message carries the first trial's error."""


@dataclass(frozen=True)
class TrialResult:
    """One trial: its full model params, the tuned metric, all metrics, its MLflow run."""

    number: int
    params: dict[str, Any]
    value: float | None
    metrics: dict[str, float]
    run_id: str
    state: str
    error: str = ""


@dataclass(frozen=True)
class TuneOutcome:
    """What a search produced: the best trial, the config to train it, every trial."""

    run_id: str
    metric: str
    best: TrialResult
    baseline: dict[str, float]
    trials: list[TrialResult]
    config: TrainConfig

    def top(self, n: int) -> list[TrialResult]:
        """The n best finished trials, best first (ties: earlier trial first)."""
        done = [t for t in self.trials if t.value is not None]
        return sorted(done, key=lambda t: (-t.value, t.number))[:n]


def tuned_config(base: TrainConfig, params: dict[str, Any], metric: str) -> TrainConfig:
    """The base config with the tuned params, judged on the metric that was tuned."""
    model = ModelSection(family=base.model.family, params=params)
    evaluation = base.evaluation.model_copy(update={"metric": metric})
    return base.model_copy(update={"model": model, "evaluation": evaluation})


def trial_result(trial: optuna.trial.FrozenTrial) -> TrialResult:
    """The record of an optuna trial (params, metrics, run id kept in its user attrs)."""
    attrs = trial.user_attrs
    complete = trial.state == optuna.trial.TrialState.COMPLETE
    return TrialResult(
        number=trial.number,
        params=attrs.get("params", {}),
        value=trial.value if complete else None,
        metrics=attrs.get("metrics", {}),
        run_id=attrs.get("run_id", ""),
        state=trial.state.name,
        error=attrs.get("error", ""),
    )


def best_trial(results: list[TrialResult]) -> TrialResult:
    """The finished trial with the highest value; TuningFailed when none finished."""
    done = [t for t in results if t.value is not None]
    if not done:
        first = results[0].error if results else "no trial started before the timeout"
        raise TuningFailed(f"no trial finished ({len(results)} failed); first error: {first}")
    # max keeps the first of equal values: the earliest trial wins a tie, as in optuna
    return max(done, key=lambda t: t.value)


def trials_frame(outcome: TuneOutcome) -> pl.DataFrame:
    """One row per trial: number, state, tuned metric, run id, and each param as a column."""
    rows = [
        {
            "trial": t.number,
            "state": t.state,
            outcome.metric: t.value,
            "run_id": t.run_id,
            **{f"param_{k}": str(v) for k, v in t.params.items()},
        }
        for t in outcome.trials
    ]
    return pl.from_dicts(rows, infer_schema_length=None)
