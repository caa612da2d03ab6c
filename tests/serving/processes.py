"""`recsys serve` as a real subprocess for the tests that need whole processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.serving.free_port import free_port
from tests.serving.trained import Trained

ROOT = Path(__file__).resolve().parents[2]


def start_serve(
    model: Trained, base: Path, name: str, database_url: str | None = None, **env: str
) -> tuple[subprocess.Popen, int, Path]:
    """`recsys serve` on a free port with the session's registry; (process, port, log file).

    `database_url` defaults to the session's store; each process gets its own model cache.
    """
    port = free_port()
    environment = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "MLFLOW_TRACKING_URI": model.settings.resolved_tracking_uri,
        "RECSYS_DATABASE_URL": database_url or model.settings.resolved_database_url,
        "RECSYS_HOME": str(base / name),
        **env,
    }
    log = base / f"{name}.log"
    command = [sys.executable, "-m", "recsys_cli.main", "serve", "--port", str(port)]
    command += ["--metrics-port", "0"]
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT
        )
    return proc, port, log
