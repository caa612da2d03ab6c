"""`recsys train --model auto`: choose the protocol, search families on validation, refit
the winner, evaluate it once on the holdout, register and gate it (paired bootstrap).

The holdout is read only after the choice is made: the search sees the validation folds
cut from the holdout's training part (training/protocol.py), and the holdout figures of
every candidate are reported beside, never used for choosing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import mlflow
import polars as pl

from recsys.data.dataset import BankData
from recsys.data.erased import without_erased
from recsys.settings import Settings
from training import logging_mlflow as mlog
from training.auto_folds import Pooled, evaluate_simple_baselines, prepare
from training.auto_log import auto_key, log_auto, retag_key, split_fingerprint
from training.auto_search import (
    FAMILIES,
    MAX_TRIALS,
    Searched,
    SearchRequest,
    blend_is_surely_better,
    pooled_of,
    search,
)
from training.baselines import BASELINE_FAMILIES
from training.config import ModelSection, TrainConfig, effective_settings
from training.erased import erased_in_store
from training.lineage import data_fingerprint
from training.pipeline import Step, TrainOutcome, _refit, _register, model_factory
from training.promotion import GateVerdict, Opponent, gate_verdict
from training.protocol import Protocol, choose_protocol, median_gap_days
from training.registry import Registry
from training.reuse import find_unchanged
from training.store_events import load_training_data
from training.tracking import configure_mlflow, experiment_id

log = logging.getLogger(__name__)
HALF_LIFE_BOUNDS = (7.0, 365.0)


@dataclass(frozen=True)
class AutoOutcome:
    """What an auto run chose and measured; `train` is what a plain run reports."""

    train: TrainOutcome
    protocol: str
    family: str
    params: dict
    table: pl.DataFrame  # every candidate: validation and holdout figures
    half_life_days: float | None


def data_half_life(events: pl.DataFrame, default: float | None) -> float | None:
    """The recency half-life from the data: the median gap between a customer's event dates
    (a customer's next step is about one gap away), within HALF_LIFE_BOUNDS."""
    gap = median_gap_days(events)
    if gap is None:
        return default
    low, high = HALF_LIFE_BOUNDS
    return min(max(gap, low), high)


def run_auto(
    data_dir: Path,
    config: TrainConfig,
    settings: Settings,
    *,
    budget_s: float,
    register: bool = False,
    promote: bool = False,
    families: Sequence[str] = FAMILIES,
    max_trials: int = MAX_TRIALS,
    step: Step = lambda _name: nullcontext(),
    on_trial: Callable[[str, float], None] = lambda _f, _v: None,
    skip_unchanged: bool = False,
) -> AutoOutcome | TrainOutcome:
    """The whole auto pipeline (a TrainOutcome with `unchanged` when skipped as unchanged)."""
    settings = effective_settings(settings, config)
    with step("load + validate"):
        data = load_training_data(
            data_dir,
            extra_events=None,
            event_types=settings.event_types,
            channels=list(settings.channels),
        )
        data, _ = without_erased(data, erased_in_store(settings))
    configure_mlflow(settings)
    fingerprint = data_fingerprint(data)
    key = auto_key(fingerprint, config, settings, budget_s, families)
    if register and skip_unchanged:
        from training.pipeline import _kept

        registry = Registry(settings.registered_model, settings.champion_alias)
        unchanged = find_unchanged(registry, key)
        if unchanged is not None:
            return _kept(unchanged, registry, promote)
    with step("choose the protocol"):
        protocol = choose_protocol(data, config.split.seed, config.split.min_holdout_customers)
    log.info("protocol: %s", protocol.statement)
    if config.weights is None:  # a config's own weights are kept as given
        half_life = data_half_life(protocol.choosing.events, settings.weights.half_life_days)
        weights = settings.weights.model_copy(update={"half_life_days": half_life})
        settings = settings.model_copy(update={"weights": weights})
    k, metric, cap = (
        config.evaluation.k,
        config.evaluation.metric,
        config.evaluation.max_eval_customers,
    )
    request = SearchRequest(
        metric,
        k,
        cap,
        budget_s,
        tuple(families),
        config.split.seed,
        data.products.height,
        protocol.kind,
        max_trials,
    )
    with mlflow.start_run(experiment_id=experiment_id(settings), run_name="auto") as run:
        mlflow.set_tags({"kind": "auto", "protocol": protocol.statement[:5000]})
        with step("validation folds"):
            folds = prepare(protocol.choosing, protocol.validation, settings)
        with step(f"search {len(families)} families ({budget_s:.0f} s budget)"):
            found = search(folds, settings, request, on_trial)
        with step("validation baselines"):
            val_base = evaluate_simple_baselines(protocol.choosing, folds, settings, k, cap)
        family, params = _winner(found, request.metric)
        with step(f"holdout: {family} and every candidate, once"):
            table, winner, hold_base = _holdout(data, protocol, settings, found, val_base, request)
        best = max(hold_base, key=lambda n: hold_base[n].mean(metric))
        chosen = TrainConfig(
            model=ModelSection(family=family, params=params),
            split=config.split,
            evaluation=config.evaluation,
            weights=settings.weights,
        )
        split_fp = split_fingerprint(fingerprint, protocol, config)
        log_auto(protocol, chosen, winner, hold_base, best, table, fingerprint, split_fp, data_dir)
        outcome = TrainOutcome(
            run.info.run_id,
            winner.metrics(),
            hold_base["popularity_segment"].metrics(),
            baselines={n: p.metrics() for n, p in hold_base.items()},
            strongest=best,
        )
        if register:
            with step(f"refit {family} on all data + register"):
                make_model = model_factory(family, params)
                engine = _refit(data, settings, make_model, step)
                version = _register(
                    engine, chosen, settings, fingerprint, split_fp, run.info.run_id
                )
                retag_key(settings, version, key)
            verdict = None
            if promote:
                with step("promotion gate"):
                    opponent = (
                        None
                        if family in BASELINE_FAMILIES
                        else Opponent(best, hold_base[best].per_customer)
                    )
                    verdict = _gate(data, protocol, settings, chosen, winner, split_fp, opponent)
                    mlflow.set_tag("promotion", verdict.reason[:5000])
                if verdict.promote:
                    Registry(settings.registered_model, settings.champion_alias).promote(version)
            outcome = TrainOutcome(
                outcome.run_id,
                outcome.metrics,
                outcome.baseline,
                version,
                verdict,
                baselines=outcome.baselines,
                strongest=best,
            )
    return AutoOutcome(
        outcome, protocol.statement, family, params, table, settings.weights.half_life_days
    )


def _winner(found: Searched, metric: str) -> tuple[str, dict]:
    """The family with the best validation value, or the blend where it surely beats it."""
    best = max(found.families.values(), key=lambda r: r.best_value)
    if found.blend_params is not None and blend_is_surely_better(found, metric)[0]:
        return "blend", found.blend_params
    return best.family, best.best_params


def _holdout(
    data: BankData,
    protocol: Protocol,
    settings: Settings,
    found: Searched,
    val_base: dict[str, Pooled],
    request: SearchRequest,
) -> tuple[pl.DataFrame, Pooled, dict[str, Pooled]]:
    """Every candidate's config refitted on the holdout folds: the table, the winner's
    figures and the baselines' (reported beside the validation figures, never chosen on)."""
    k, cap, metric = request.k, request.max_customers, request.metric
    folds = prepare(data, protocol.holdout, settings)
    family, params = _winner(found, request.metric)
    rows, winner = [], None
    candidates = [
        (r.family, r.family, r.best_params, r.best_value, r.trials, r.failed, r.seconds, r.note)
        for r in found.families.values()
        if r.best_models
    ]
    if found.blend_params is not None:
        parts = "+".join(p["family"] for p in found.blend_params["parts"])
        why = blend_is_surely_better(found, metric)[1]
        candidates.append(
            (f"blend {parts}", "blend", found.blend_params, found.blend_value, 1, 0, 0.0, why)
        )
    for name, fam, prm, val, trials, failed, seconds, note in candidates:
        pooled = pooled_of(folds, settings, fam, prm, k, cap)
        if (fam, prm) == (family, params):
            winner, note = pooled, "chosen"
        rows.append(
            (
                name,
                trials,
                failed,
                round(seconds, 1),
                val,
                pooled.mean(metric),
                note,
                json.dumps(prm, sort_keys=True),
            )
        )
    hold_base = evaluate_simple_baselines(data, folds, settings, k, cap)
    for name, pooled in hold_base.items():
        val = val_base[name].mean(metric) if name in val_base else float("nan")
        rows.append((f"baseline {name}", 0, 0, 0.0, val, pooled.mean(metric), "baseline", "{}"))
    assert winner is not None
    table = pl.DataFrame(
        rows,
        schema=[
            "candidate",
            "trials",
            "failed",
            "seconds",
            f"validation_{metric}",
            f"holdout_{metric}",
            "note",
            "params",
        ],
        orient="row",
    )
    return table, winner, hold_base


def _gate(
    data: BankData,
    protocol: Protocol,
    settings: Settings,
    config: TrainConfig,
    winner: Pooled,
    split_fp: str,
    baseline: Opponent | None,
) -> GateVerdict:
    """The gate on the pooled holdout: the strongest baseline and the champion, paired."""
    metric = config.evaluation.metric
    champion = Registry(settings.registered_model, settings.champion_alias).champion()
    opponent = None
    if champion is not None:
        values = None
        if champion.tags.get("split_fingerprint") == split_fp:
            values = mlog.read_per_customer(champion.run_id)
        if values is None:
            if "family" not in champion.tags or "params_json" not in champion.tags:
                return GateVerdict(
                    False,
                    f"champion version {champion.version} has no family/params tags, so it "
                    "cannot be judged on this holdout; promote explicitly with "
                    "`recsys models promote`",
                )
            family, params = champion.tags["family"], json.loads(champion.tags["params_json"])
            folds = prepare(data, protocol.holdout, settings)
            ev = config.evaluation
            values = pooled_of(folds, settings, family, params, ev.k, ev.max_eval_customers)
            values = values.per_customer
        mlflow.log_metric(f"champion_{metric}", Pooled(values).mean(metric))
        opponent = Opponent(f"champion version {champion.version}", values)
    verdict = gate_verdict(
        winner.per_customer,
        metric=metric,
        margin=config.evaluation.promote_margin,
        champion=opponent,
        baseline=baseline,
    )
    mlog.log_verdict(verdict)
    return verdict
