"""tracking: MLflow's chatter is quieted when MLflow is configured, never on import."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from recsys.settings import Settings
from training.tracking import MLFLOW_CHATTER, configure_mlflow

# MLflow sets some levels on its own import (alembic's): compare with what it leaves
IMPORT_ONLY = """
import logging, mlflow
names = ("alembic", "mlflow.store.db.utils", "mlflow.tracking._model_registry.client")
before = [logging.getLogger(n).level for n in names]
import training.tracking
assert set(names) == set(training.tracking.MLFLOW_CHATTER)
print(before == [logging.getLogger(n).level for n in names], before)
"""


@pytest.fixture
def loud() -> Iterator[None]:
    """MLflow's chatter loggers at NOTSET for the test, as a fresh process has them."""
    saved = {n: logging.getLogger(n).level for n in MLFLOW_CHATTER}
    for name in MLFLOW_CHATTER:
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def test_importing_tracking_leaves_every_logger_level_alone() -> None:
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_ONLY],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    assert out.stdout.startswith("True "), (out.stdout, out.stderr)


def test_configuring_mlflow_quiets_its_chatter(loud: None, tmp_path: Path) -> None:
    configure_mlflow(Settings(home=tmp_path / "home", mlflow_tracking_uri=None))
    levels = {n: logging.getLogger(n).level for n in MLFLOW_CHATTER}
    assert levels == dict.fromkeys(MLFLOW_CHATTER, logging.WARNING)
