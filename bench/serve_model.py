"""The registered model the serving benchmark runs against, built once and cached under var/bench.

A generated bank of N customers is trained by the real pipeline (`run_training`, register and
promote) into a bench-only registry: MLflow on SQLite in `<root>/home`, so `recsys serve` and
`mlflow models serve models:/bank-recsys@champion` both find it through MLFLOW_TRACKING_URI /
RECSYS_HOME, and an event store of its own (`<root>/events.db`). A finished build leaves a
`ready.json`; a folder without one (an interrupted build) is rebuilt from scratch.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
BENCH_HOME = ROOT / "var" / "bench"
READY = "ready.json"
TABLES = ("customers.parquet", "products.parquet", "events.parquet")


@dataclass(frozen=True)
class BenchModel:
    """Where the bench model lives, and the environment a server process needs to find it."""

    root: Path
    n_customers: int
    family: str
    version: str
    build_s: float  # seconds it took to build (0 when reused)

    @property
    def home(self) -> Path:
        """RECSYS_HOME of the bench registry (mlflow.db, artifacts, serving cache)."""
        return self.root / "home"

    @property
    def tracking_uri(self) -> str:
        """The bench-only MLflow store."""
        return f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def database_url(self) -> str:
        """The bench-only event store."""
        return f"sqlite:///{(self.root / 'events.db').resolve()}"

    def empty_store(self) -> None:
        """Start from an empty event store: each server's decision log writes every answer
        into it, and a writer's cost per row grows with the table (a random-key index), so
        figures of a run after an hour of runs were not comparable with the first one's."""
        db = self.root / "events.db"
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            path.unlink(missing_ok=True)

    def env(self) -> dict[str, str]:
        """os.environ plus what points `recsys serve` / `mlflow models serve` at this model."""
        return {
            **os.environ,
            "OPENBLAS_NUM_THREADS": "1",
            "RECSYS_HOME": str(self.home),
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "RECSYS_DATABASE_URL": self.database_url,
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        }

    def customer_ids(self, limit: int) -> list[str]:
        """Up to `limit` known customer ids of the model's data, evenly spread."""
        import polars as pl

        ids = pl.read_parquet(self.root / "data" / "customers.parquet", columns=["customer_id"])
        step = max(1, ids.height // limit)
        return ids["customer_id"].gather_every(step).head(limit).to_list()


def ensure_model(
    n_customers: int, family: str, seed: int = 7, data_dir: Path | None = None
) -> BenchModel:
    """The cached bench model of this size and family, trained and registered when missing."""
    root = BENCH_HOME / f"serve-{n_customers}-{family}-s{seed}"
    ready = root / READY
    if ready.exists():
        doc = json.loads(ready.read_text())
        return BenchModel(root, n_customers, family, doc["version"], 0.0)
    if root.exists():
        shutil.rmtree(root)  # a half-built registry would serve a model we did not check
    started = time.perf_counter()
    data = _dataset(root, n_customers, seed, data_dir)
    version = _train(root, data, family)
    ready.write_text(json.dumps({"version": version, "customers": n_customers}))
    return BenchModel(root, n_customers, family, version, time.perf_counter() - started)


def _dataset(root: Path, n_customers: int, seed: int, data_dir: Path | None) -> Path:
    """A generated bank in <root>/data (linked from `data_dir` when it already holds one)."""
    out = root / "data"
    out.mkdir(parents=True)
    if data_dir is not None and all((data_dir / t).exists() for t in TABLES):
        for table in TABLES:
            (out / table).symlink_to((data_dir / table).resolve())
        return out
    from recsys.data.generate import generate
    from recsys.data.write import write_dataset

    return write_dataset(generate(n_customers, seed), out, fmt="parquet")


def _train(root: Path, data: Path, family: str, *, promote: bool = True) -> str:
    """Train + register (+ promote) with the real pipeline; the registered version."""
    from recsys.settings import Settings
    from training.config import TrainConfig
    from training.pipeline import run_training
    from training.tracking import configure_mlflow

    settings = Settings(
        home=root / "home",
        mlflow_tracking_uri=None,
        database_url=f"sqlite:///{(root / 'events.db').resolve()}",
    )
    configure_mlflow(settings)
    config = TrainConfig.model_validate({"model": {"family": family}})
    outcome = run_training(data, config, settings, register=True, promote=promote)
    if outcome.version is None:
        raise RuntimeError("the bench model was not registered")
    if promote and (outcome.verdict is None or not outcome.verdict.promote):
        raise RuntimeError(f"bench model was not promoted: {outcome.verdict}")
    return str(outcome.version)
