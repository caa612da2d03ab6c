"""`mlflow models serve` runs the registered champion as a REST service, unchanged."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.settings import Settings
from tests.training.test_pyfunc import CHAMPION_URI, HELD
from tests.training.trained import champion_registry, generated_dataset

STARTUP_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status


def post(url: str, body: dict) -> tuple[int, object]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_until_up(server: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mlflow models serve exited with {server.returncode}:\n{log.read_text()}")
        try:
            if get(url) == 200:
                return
        except OSError:
            time.sleep(0.25)
    pytest.fail(
        f"mlflow models serve did not answer {url} in {STARTUP_TIMEOUT_S}s:\n{log.read_text()}"
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of `mlflow models serve -m models:/bank-recsys@champion` on a free port."""
    settings: Settings = champion_registry(tmp_path_factory.getbasetemp())[0]
    port = free_port()
    bin_dir = Path(sys.executable).parent  # MLflow starts `uvicorn` from PATH
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": settings.resolved_tracking_uri,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }
    args = f"models serve -m {CHAMPION_URI} --env-manager local --host 127.0.0.1 --port {port}"
    cmd = [sys.executable, "-m", "mlflow", *args.split()]
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("w") as out:
        # its own process group: MLflow execs uvicorn in a child shell, which must stop too
        server = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(server, f"{base}/ping", log)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)


def test_served_champion_answers_invocations(
    served: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    customers = generated_dataset(tmp_path_factory.getbasetemp()) / "customers.parquet"
    adults = pl.read_parquet(customers).filter(pl.col(C.segment) != "junior")
    known = adults[C.customer_id][0]
    status, body = post(
        f"{served}/invocations",
        {
            "dataframe_records": [
                {C.customer_id: known, "holdings": None},
                {C.customer_id: "walk-in", "holdings": HELD},
                {C.customer_id: "stranger", "holdings": None},
            ],
            "params": {"k": 3},
        },
    )
    assert status == 200, body
    rows = body["predictions"]
    assert {r[C.customer_id] for r in rows} == {known, "walk-in", "stranger"}
    for customer in (known, "walk-in", "stranger"):
        mine = [r for r in rows if r[C.customer_id] == customer]
        assert [r["rank"] for r in mine] == [1, 2, 3]
        assert all(r["reason"] and isinstance(r["score"], float) for r in mine)
    walk_in = {r[C.product_id] for r in rows if r[C.customer_id] == "walk-in"}
    assert not walk_in & set(HELD)


def test_served_champion_refuses_an_unknown_channel(served: str) -> None:
    status, body = post(
        f"{served}/invocations",
        {"dataframe_records": [{C.customer_id: "x"}], "params": {"k": 1, "channel": "kiosk"}},
    )
    assert status >= 400
    assert "kiosk" in json.dumps(body)
