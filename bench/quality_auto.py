"""Benchmark: `recsys train --model auto` with no per-data-set config, on every data set.

    python bench/quality_auto.py [--budget 15m] [--only zimnat,santander,synthetic]

For each data set: run_auto (training/auto.py, what `recsys train --model auto` runs: the
protocol it picks, the search on validation, the refit and one holdout evaluation) and
print its candidate table; then, on the same holdout folds, the hand-tuned config
(configs/<data set>.toml, with its own weights) and every family at its defaults (auto's
data-derived half-life). Only what is measured is given per data set (k and metric, as the
Done-when of issue 21 states them): Zimnat MRR over all 21 products, Santander MAP@7,
the synthetic bank (20,000 customers, seed 0) NDCG@5. Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import CONFIGS, DATASETS, print_table
from tables import say

TARGETS = {  # the Done-when: (k, metric, goal or None = the hand-tuned config)
    "zimnat": (21, "mrr_at_21", 0.92),
    "santander": (7, "map_at_7", 0.635),
    "synthetic": (5, "ndcg_at_5", None),
}


def load(name: str):  # noqa: ANN201 - BankData, imported lazily
    """The data set as canonical BankData."""
    from recsys.data.generate import generate
    from recsys.data.importers import import_santander, import_zimnat

    if name == "zimnat":
        return import_zimnat(DATASETS / "zimnat").data
    if name == "santander":
        return import_santander(DATASETS / "santander").data
    return generate(20_000, 0)


def bench(name: str, budget_s: float, work: Path) -> list[object]:
    """One data set: auto's table, then the hand-tuned config and the defaults beside it."""
    from recsys.data.write import write_dataset
    from recsys.settings import Settings
    from training.auto import run_auto
    from training.auto_folds import prepare
    from training.auto_search import FAMILIES, PROTOCOL_DEFAULTS, pooled_of
    from training.config import TrainConfig, effective_settings, load_train_config
    from training.protocol import choose_protocol

    k, metric, goal = TARGETS[name]
    data = load(name)
    folder = write_dataset(data, work / name, fmt="parquet")
    settings = Settings(home=work / "home", mlflow_tracking_uri=f"sqlite:///{work}/mlflow.db")
    config = TrainConfig.model_validate({"evaluation": {"k": k, "metric": metric}})
    started = time.perf_counter()
    auto = run_auto(folder, config, settings, budget_s=budget_s)
    seconds = time.perf_counter() - started
    say(f"\n== {name}: {auto.protocol}")
    say(f"half-life {auto.half_life_days} days; auto took {seconds:.0f} s (budget {budget_s:.0f})")
    rows = [[*r[:6], r[6], r[7][:70]] for r in auto.table.iter_rows()]
    header = ["candidate", "trials", "failed", "s", "validation", "holdout", "note", "params"]
    print_table(f"{name}: auto's candidates ({metric})", header, rows)

    protocol = choose_protocol(data, 0)
    hand = load_train_config(CONFIGS / f"{name}.toml")
    hand_settings = effective_settings(settings, hand)
    hand_value = pooled_of(
        prepare(data, protocol.holdout, hand_settings),
        hand_settings,
        hand.model.family,
        hand.model.params,
        k,
        10**9,
    ).mean(metric)
    auto_settings = settings.model_copy(
        update={
            "weights": settings.weights.model_copy(update={"half_life_days": auto.half_life_days})
        }
    )
    folds = prepare(data, protocol.holdout, auto_settings)
    defaults = {}
    for family in FAMILIES:
        params = PROTOCOL_DEFAULTS.get(protocol.kind, {}).get(family, {})
        defaults[family] = pooled_of(folds, auto_settings, family, params, k, 10**9).mean(metric)
    best_family = max(defaults, key=defaults.get)
    value = auto.train.metrics[metric]
    print_table(
        f"{name}: holdout {metric}",
        ["model", metric],
        [
            [f"auto ({auto.family})", value],
            [f"configs/{name}.toml ({hand.model.family})", hand_value],
            *([f"{f} defaults", v] for f, v in defaults.items()),
        ],
    )
    floor = goal if goal is not None else hand_value
    return [
        name,
        value,
        hand_value,
        floor,
        "PASS" if value >= floor - 1e-9 else "MISS",
        f"{best_family} {defaults[best_family]:.4f}",
        f"{value / defaults[best_family] - 1:+.1%}",
        "PASS" if value >= defaults[best_family] * 0.99 else "MISS",
    ]


def main() -> None:
    """Every data set asked for, then the summary against the Done-when."""
    from recsys_cli.train_auto import parse_budget

    args = _args()
    budget = parse_budget(args.budget)
    names = [n for n in args.only.split(",") if n]
    with tempfile.TemporaryDirectory() as tmp:
        summary = [bench(name, budget, Path(tmp)) for name in names]
    header = ["data set", "auto", "hand-tuned", "goal", "", "best defaults", "auto vs", ""]
    print_table("auto against the Done-when (holdout)", header, summary)


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default="15m", help="auto's search budget per data set")
    parser.add_argument("--only", default="zimnat,santander,synthetic")
    return parser.parse_args()


if __name__ == "__main__":
    main()
