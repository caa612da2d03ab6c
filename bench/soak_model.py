"""The soak bench's registry: version A (champion) and version B (registered, not promoted).

One generated bank (linked from a serve bench folder of the same size and seed when there is
one) trained twice by the real pipeline into a bench-only MLflow registry under
var/bench/soak-<N>-<family>-s<seed>/, both through bench/serve_model.py's `_train`: A registered and
promoted, then B registered only (`promote=False`), so that the bench can move the champion
alias to B while the server is under load. A finished build leaves `ready.json`.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from serve_model import BENCH_HOME, READY, TABLES, BenchModel, _dataset, _train


@dataclass(frozen=True)
class SoakModels:
    """The bench model (its folder, env, data) with the two registered versions."""

    model: BenchModel  # model.version is A
    version_a: int
    version_b: int

    def reset_champion(self) -> None:
        """Point the champion alias back at A (an earlier soak run left it on B)."""
        registry = self._registry()
        champion = registry.champion()
        if champion is None or int(champion.version) != self.version_a:
            registry.promote(self.version_a)

    def promote_b(self) -> None:
        """Move the champion alias to B, as `recsys models promote` does."""
        self._registry().promote(self.version_b)

    def _registry(self):  # noqa: ANN202 - training.registry is imported late (heavy)
        import mlflow

        from training.registry import Registry

        mlflow.set_tracking_uri(self.model.tracking_uri)
        return Registry()


def ensure_soak_models(n_customers: int, family: str, seed: int = 7) -> SoakModels:
    """The cached two-version registry of this size and family, built when missing."""
    root = BENCH_HOME / f"soak-{n_customers}-{family}-s{seed}"
    ready = root / READY
    if ready.exists():
        doc = json.loads(ready.read_text())
        model = BenchModel(root, n_customers, family, str(doc["a"]), 0.0)
        return SoakModels(model, int(doc["a"]), int(doc["b"]))
    if root.exists():
        shutil.rmtree(root)  # a half-built registry: start again
    started = time.perf_counter()
    data = _dataset(root, n_customers, seed, _cached_bank(n_customers, seed))
    version_a = int(_train(root, data, family))
    version_b = int(_train(root, data, family, promote=False))  # registered, not champion
    if version_b == version_a:
        raise RuntimeError(f"second training registered the same version {version_a}")
    ready.write_text(json.dumps({"a": version_a, "b": version_b, "customers": n_customers}))
    model = BenchModel(root, n_customers, family, str(version_a), time.perf_counter() - started)
    return SoakModels(model, version_a, version_b)


def _cached_bank(n_customers: int, seed: int) -> Path | None:
    """A data folder of a serve bench model with the same bank (size and seed), if any."""
    for folder in sorted(BENCH_HOME.glob(f"serve-{n_customers}-*-s{seed}")):
        data = folder / "data"
        if (folder / READY).exists() and all((data / t).exists() for t in TABLES):
            return data
    return None


def offer_product(model: BenchModel) -> str:
    """A product nearly every customer may be offered: risk 1, every channel, any age, repeatable
    (holding it already does not remove it) and on sale today (no active window, or inside it).
    """
    import polars as pl

    today = date.today()
    products = pl.read_parquet(model.root / "data" / "products.parquet")
    broad = products.filter(
        (pl.col("risk_rating") == 1)
        & (pl.col("channels").list.len() == 0)
        & pl.col("repeatable")
        & pl.col("max_age").is_null()
        & (pl.col("active_from").is_null() | (pl.col("active_from") <= today))
        & (pl.col("active_to").is_null() | (pl.col("active_to") >= today))
    )["product_id"].to_list()
    if not broad:
        raise RuntimeError(f"{model.root / 'data'}: no risk-1, all-channel, repeatable product")
    return broad[0]


def product_ids(model: BenchModel) -> list[str]:
    """Every product id of the model's data."""
    import polars as pl

    return pl.read_parquet(model.root / "data" / "products.parquet")["product_id"].to_list()
