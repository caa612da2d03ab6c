"""`auto`'s search on the validation folds: short optuna runs per family, then a blend.

Every family's defaults are tried first; then the families take turns, one optuna (TPE)
trial each, until the budget is spent. A family that trails the leader by more than DROP
after MIN_TRIALS trials gets no more (BPR and LightFM are weak on bank data): the search
spends little on families that keep losing and says so in the candidate table. The best
two or three families are then blended (recsys.models.blend), weights on a grid, reusing
their fitted models. Only the validation folds are read.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import mlflow
import optuna
import polars as pl

from recsys.columns import Columns as C
from recsys.evaluation.bootstrap import paired_difference
from recsys.models.base import Recommender
from recsys.models.blend import BlendRecommender
from recsys.settings import Settings
from training.auto_folds import Fold, Pooled, evaluate_fitted, fit_each
from training.pipeline import model_factory
from training.tuning_space import suggest_params

FAMILIES = ("popularity", "transition", "itemknn", "sequence", "als", "lightfm", "bpr")
DROP = 0.05  # relative gap to the leader that ends a family's search
MIN_TRIALS = 2
MAX_TRIALS = 40
BLEND_PARTS = 3
BLEND_STEP = 0.1  # weight grid step (two parts); three parts use twice the step
TRIAL_ERRORS = (ValueError, ArithmeticError)
# Where the protocol asks a different question than the defaults were set for: hide-one
# asks "fill in the missing product", which the sequence model learns from fill-in examples
# (its defaults weight what-came-next ones, what a time split asks).
PROTOCOL_DEFAULTS: dict[str, dict[str, dict]] = {"hide_one": {"sequence": {"fill_weight": 1.0}}}
# A family's first turns after its defaults: its regulariser a decade either side (the
# defaults elsewhere), the parameter that matters most and whose best value depends on how
# much data there is (Santander's ~4,000 adoptions want a strong one); TPE takes over after.
ANCHORS: dict[str, tuple[dict, ...]] = {"sequence": ({"l2": 30.0}, {"l2": 0.3})}


@dataclass
class FamilyResult:
    """A family's search: its best params, value and fitted models, and how it went."""

    family: str
    best_params: dict = field(default_factory=dict)
    best_value: float = float("-inf")
    best_models: list[Recommender] = field(default_factory=list)
    best_pooled: Pooled | None = None  # the best trial's per-customer validation figures
    trials: int = 0
    failed: int = 0
    seconds: float = 0.0
    note: str = ""
    study: optuna.Study | None = None


@dataclass(frozen=True)
class Searched:
    """What the search found: each family's result and the best blend (if any)."""

    families: dict[str, FamilyResult]
    blend_params: dict | None
    blend_value: float
    blend_pooled: Pooled | None
    seconds: float


@dataclass(frozen=True)
class SearchRequest:
    """Everything a search needs beyond the folds."""

    metric: str
    k: int
    max_customers: int
    budget_s: float
    families: Sequence[str] = FAMILIES
    seed: int = 0
    n_products: int | None = None
    protocol: str = ""  # the protocol's kind: picks PROTOCOL_DEFAULTS
    max_trials: int = MAX_TRIALS  # per family


def search(
    folds: Sequence[Fold],
    settings: Settings,
    request: SearchRequest,
    on_trial: Callable[[str, float], None] = lambda _family, _value: None,
) -> Searched:
    """Defaults of every family, then turns of TPE trials in the budget, then a blend."""
    started = time.perf_counter()
    results = {f: FamilyResult(f) for f in request.families}
    defaults = PROTOCOL_DEFAULTS.get(request.protocol, {})
    for family in request.families:  # the defaults, whatever the budget
        _trial(folds, settings, request, results[family], defaults.get(family, {}), on_trial)
    deadline = started + request.budget_s
    alive = [f for f in request.families if _tunable(results[f], request.max_trials)]
    while alive and time.perf_counter() < deadline:
        for family in sorted(alive, key=lambda f: -results[f].best_value):
            if time.perf_counter() >= deadline:
                break
            _optuna_trial(folds, settings, request, results[family], on_trial)
        leader = max(r.best_value for r in results.values())
        alive = [f for f in alive if _still_worth(results[f], leader, request.max_trials)]
    for r in results.values():
        if not r.note:
            r.note = "budget spent"
    blend_params, blend_value, blend_pooled = _best_blend(folds, settings, request, results)
    seconds = time.perf_counter() - started
    return Searched(results, blend_params, blend_value, blend_pooled, seconds)


def _tunable(result: FamilyResult, max_trials: int) -> bool:
    if not result.best_models:
        result.note = "its defaults failed"
    elif result.trials >= max_trials:
        result.note = f"{max_trials} trial(s), the most asked for"
    return bool(result.best_models) and result.trials < max_trials


def _still_worth(result: FamilyResult, leader: float, max_trials: int) -> bool:
    if result.trials + result.failed >= max_trials:
        result.note = f"{max_trials} trials, the most asked for"
        return False
    if result.trials >= MIN_TRIALS and result.best_value < leader * (1 - DROP):
        result.note = (
            f"dropped after {result.trials} trials: best {result.best_value:.4f}, more than "
            f"{DROP:.0%} below the leader's {leader:.4f}"
        )
        return False
    return True


def _optuna_trial(
    folds: Sequence[Fold],
    settings: Settings,
    request: SearchRequest,
    result: FamilyResult,
    on_trial: Callable[[str, float], None],
) -> None:
    if result.study is None:
        sampler = optuna.samplers.TPESampler(seed=request.seed)
        result.study = optuna.create_study(direction="maximize", sampler=sampler)
    done = result.trials + result.failed - 1  # the defaults were the first
    anchors = ANCHORS.get(result.family, ())
    if done < len(anchors):
        base = PROTOCOL_DEFAULTS.get(request.protocol, {}).get(result.family, {})
        _trial(folds, settings, request, result, {**base, **anchors[done]}, on_trial)
        return
    trial = result.study.ask()
    params = suggest_params(trial, result.family, {}, request.n_products)
    value = _trial(folds, settings, request, result, params, on_trial)
    if value is None:
        result.study.tell(trial, state=optuna.trial.TrialState.FAIL)
    else:
        result.study.tell(trial, value)


def _trial(
    folds: Sequence[Fold],
    settings: Settings,
    request: SearchRequest,
    result: FamilyResult,
    params: dict,
    on_trial: Callable[[str, float], None],
) -> float | None:
    """Fit and evaluate one params set on every fold in a nested run; its value or None."""
    started = time.perf_counter()
    name = f"{result.family}-{result.trials + result.failed}"
    with mlflow.start_run(run_name=name, nested=True):
        mlflow.set_tags({"kind": "auto-trial", "family": result.family})
        mlflow.log_params({f"model.{k}": v for k, v in params.items()} or {"model.defaults": 1})
        try:
            models = fit_each(folds, model_factory(result.family, params))
            pooled = evaluate_fitted(folds, models, settings, request.k, request.max_customers)
        except TRIAL_ERRORS as exc:
            mlflow.set_tag("error", f"{type(exc).__name__}: {exc}"[:5000])
            result.failed += 1
            result.seconds += time.perf_counter() - started
            return None
        value = pooled.mean(request.metric)
        mlflow.log_metric(f"val_{request.metric}", value)
    result.trials += 1
    result.seconds += time.perf_counter() - started
    if value > result.best_value:
        result.best_value, result.best_params, result.best_models = value, params, models
        result.best_pooled = pooled
    on_trial(result.family, value)
    return value


def _best_blend(
    folds: Sequence[Fold],
    settings: Settings,
    request: SearchRequest,
    results: dict[str, FamilyResult],
) -> tuple[dict | None, float, Pooled | None]:
    """The best weights for the top families on validation (params, value, figures)."""
    ranked = sorted((r for r in results.values() if r.best_models), key=lambda r: -r.best_value)
    top = ranked[:BLEND_PARTS]
    if len(top) < 2:
        return None, float("-inf"), None
    best: tuple[dict | None, float, Pooled | None] = (None, float("-inf"), None)
    with mlflow.start_run(run_name="blend", nested=True):
        mlflow.set_tags({"kind": "auto-blend", "parts": ",".join(r.family for r in top)})
        for weights in weight_grid(len(top)):
            parts = [r for r, w in zip(top, weights, strict=True) if w > 0]
            used = [w for w in weights if w > 0]
            if len(parts) < 2:
                continue  # a single part is that family's own candidate
            blends = [
                BlendRecommender.of_fitted(
                    [p.best_models[i] for p in parts], used, [p.best_params for p in parts]
                )
                for i in range(len(folds))
            ]
            pooled = evaluate_fitted(folds, blends, settings, request.k, request.max_customers)
            value = pooled.mean(request.metric)
            if value > best[1]:
                spec = [{"family": p.family, "params": p.best_params} for p in parts]
                best = ({"parts": spec, "weights": used}, value, pooled)
        if best[0] is not None:
            mlflow.log_metric(f"val_{request.metric}", best[1])
            mlflow.log_param("weights", best[0]["weights"])
    return best


def blend_is_surely_better(found: Searched, metric: str) -> tuple[bool, str]:
    """Whether the blend beats the best single family on validation with 95% confidence
    (paired bootstrap over the validation customers), and the sentence saying so. A blend
    is more to serve and explain, and its weights are fitted on these same customers, so a
    gain within the noise goes to the single model (on Santander it did not hold)."""
    best = max(found.families.values(), key=lambda r: r.best_value)
    if found.blend_pooled is None or best.best_pooled is None:
        return False, "no blend"
    a, b = found.blend_pooled.per_customer, best.best_pooled.per_customer
    both = a.select(C.customer_id, metric).join(
        b.select(C.customer_id, pl.col(metric).alias("_b")), on=C.customer_id
    )
    diff = paired_difference(both[metric].to_numpy(), both["_b"].to_numpy())
    surely = diff.low > 0
    verb = "beats" if surely else "does not surely beat"
    return surely, f"the blend {verb} {best.family} on validation: {diff.text()}"


def weight_grid(n: int) -> list[tuple[float, ...]]:
    """Weights on a simplex grid (BLEND_STEP for two parts, twice it for three)."""
    step = BLEND_STEP if n == 2 else 2 * BLEND_STEP
    units = round(1 / step)
    return [
        tuple(round(c * step, 6) for c in combo)
        for combo in itertools.product(range(units + 1), repeat=n)
        if sum(combo) == units
    ]


def pooled_of(
    folds: Sequence[Fold], settings: Settings, family: str, params: dict, k: int, cap: int
) -> Pooled:
    """A config refitted on each fold and evaluated, pooled (the holdout's figures)."""
    models = fit_each(folds, model_factory(family, params))
    return evaluate_fitted(folds, models, settings, k, cap)
