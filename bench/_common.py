"""Shared pieces of the quality benchmarks: run a model through the training machinery, print.

Every figure comes from training.evaluate (split_snapshot -> fit_and_evaluate), the code
`recsys train` runs: the model and the segment-popularity fallback are fitted on the split's
training part and the engine, with every hard rule applied, ranks for the test customers.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit warns (and slows) without it

import tables  # noqa: E402

from recsys.data.dataset import BankData  # noqa: E402
from recsys.evaluation.splits import Split  # noqa: E402
from recsys.models.base import Recommender  # noqa: E402
from recsys.settings import Settings  # noqa: E402
from training.config import load_train_config  # noqa: E402
from training.evaluate import evaluate_engine, fit_and_evaluate, split_snapshot  # noqa: E402
from training.pipeline import fallback_factory, model_factory  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"
CONFIGS = ROOT / "configs"
BASELINE = "popularity"


@dataclass(frozen=True)
class Candidate:
    """A model to measure: a label for the table, the CLI family name and its params."""

    label: str
    family: str
    params: dict = field(default_factory=dict)

    def factory(self) -> Callable[[], Recommender]:
        """A zero-argument constructor, validated now (as `recsys train` does)."""
        return model_factory(self.family, self.params)


def half_life_option(parser: argparse.ArgumentParser, default: str = "settings") -> None:
    """--half-life DAYS | none | settings (what Settings() says: RECSYS_* env or 365)."""
    parser.add_argument(
        "--half-life",
        default=default,
        help=f"recency half-life in days, 'none' for no decay, or 'settings' (default {default})",
    )


def settings_for(half_life: str) -> Settings:
    """Settings() (env overrides included) with the half-life of --half-life."""
    settings = Settings()
    if half_life == "settings":
        return settings
    days = None if half_life == "none" else float(half_life)
    weights = settings.weights.model_copy(update={"half_life_days": days})
    return settings.model_copy(update={"weights": weights})


def tuned(dataset: str, label: str | None = None) -> Candidate:
    """The model of configs/<dataset>.toml, the one `recsys train --config` would fit."""
    config = load_train_config(CONFIGS / f"{dataset}.toml")
    name = label or f"{config.model.family} (configs/{dataset}.toml)"
    return Candidate(name, config.model.family, dict(config.model.params))


def measure(
    candidate: Candidate,
    data: BankData,
    splits: Sequence[Split],
    settings: Settings,
    ks: Sequence[int],
    max_customers: int = 10**9,
) -> tuple[list[dict[int, dict[str, float]]], float]:
    """Per split, metrics at each k (one fit per split, one ranking per k); seconds taken."""
    started = time.perf_counter()
    per_split = []
    for split in splits:
        snap = split_snapshot(data, split, settings)
        engine, first = fit_and_evaluate(
            candidate.factory(),
            fallback_factory,
            snap,
            split,
            settings,
            k=ks[0],
            max_customers=max_customers,
        )
        at_k = {ks[0]: first.metrics}
        for k in ks[1:]:
            at_k[k] = evaluate_engine(engine, split, k, max_customers).metrics
        per_split.append(at_k)
    return per_split, time.perf_counter() - started


def pooled(per_split: list[dict[int, dict[str, float]]], k: int, key: str) -> float:
    """A metric over every test customer of every split (means weighted by n_customers)."""
    n = [s[k]["n_customers"] for s in per_split]
    return sum(s[k][key] * w for s, w in zip(per_split, n, strict=True)) / sum(n)


def split_mean(per_split: list[dict[int, dict[str, float]]], k: int, key: str) -> float:
    """A metric averaged over the splits (each split counts once)."""
    return sum(s[k][key] for s in per_split) / len(per_split)


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain aligned table (floats with 4 decimals)."""
    tables.print_table(title, header, [[_cell(v) for v in row] for row in rows])


def verdict(value: float, goal: float) -> str:
    """PASS when value reaches the goal."""
    return "PASS" if value >= goal else "MISS"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
