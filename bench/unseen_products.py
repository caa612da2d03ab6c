"""Issue 20's cold-start done-when: the attribute prior against a flat prior on unseen products.

Two protocols on a generated bank (recsys/evaluation/unseen.py):
1. held out: 8 random products per seed lose every event of theirs before the cutoff; their
   buyers in the 90 days after it have them ranked (AUC, hit rate at 1, NDCG among the
   products the rules allow), and each product's buyers are told apart from the other
   customers (customer AUC).
2. launched: the products with no event before the cutoff and a purchase after it (the
   generator's Sustainable Equity Fund, launched 2025-09-01).

    python bench/unseen_products.py [--customers 20000] [--seeds 5]
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import numpy as np
from rich.console import Console
from rich.progress import track

from recsys.coldstart.evaluate import evaluate_unseen
from recsys.data.generate import generate
from recsys.evaluation.unseen import held_out_split, launched_split

CUTOFF = datetime(2025, 9, 1, tzinfo=UTC)
WINDOW_DAYS = 90
HELD_OUT = 8
METRICS = ("auc", "hit_at_1", "ndcg", "customer_auc")


def main() -> None:
    """Print one markdown table per protocol: prior, flat, per metric (mean over seeds)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    console = Console()
    bank = generate(args.customers, seed=7)
    ids = bank.products["product_id"].to_list()
    runs = []
    for seed in track(range(args.seeds), description="held-out products"):
        held = np.random.default_rng(seed).choice(ids, HELD_OUT, replace=False).tolist()
        runs.append(evaluate_unseen(bank, held_out_split(bank.events, held, CUTOFF, WINDOW_DAYS)))
    launched = launched_split(bank.events, CUTOFF, WINDOW_DAYS)
    console.print(f"customers {args.customers}, cutoff {CUTOFF:%Y-%m-%d}, window {WINDOW_DAYS} d")
    _table(console, f"held out ({HELD_OUT} products x {args.seeds} seeds)", runs)
    _table(
        console,
        f"launched in the holdout {list(launched.unseen)}",
        [evaluate_unseen(bank, launched)],
    )


def _table(console: Console, title: str, runs: list[dict[str, dict[str, float]]]) -> None:
    console.print(f"\n{title}\n\n| metric | attribute prior | flat prior |\n|---|---|---|")
    for m in METRICS:
        prior = [r["prior"][m] for r in runs]
        flat = [r["flat"][m] for r in runs]
        if np.isnan(prior).all():
            continue
        spread = f" (min {np.nanmin(prior):.3f})" if len(runs) > 1 else ""
        console.print(f"| {m} | {np.nanmean(prior):.3f}{spread} | {np.nanmean(flat):.3f} |")


if __name__ == "__main__":
    main()
