"""A real `recsys serve` (auth on) and a real `recsys console` as subprocesses on free ports,
and a Playwright browser on Debian's Chromium, for the console's browser tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from recsys.stores.sql_keys import open_key_store
from tests.serving.free_port import free_port
from tests.serving.processes import ROOT, start_serve, wait_serving
from tests.serving.trained import Trained

CHROMIUM = Path(os.environ.get("RECSYS_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(os.environ.get("RECSYS_SCREENSHOTS", ROOT / "var" / "console-screenshots"))
STARTUP_S = 60.0
REFRESH_S = "1"  # offers and experiments re-read every second: the tests wait less


@dataclass(frozen=True)
class Stack:
    """The running server and console, the store they share and a key per role."""

    grpc: grpc.Channel
    server: str  # host:port of recsys serve
    url: str  # the console, ending in "/"
    database_url: str
    key: dict[str, str]  # role -> clear key
    key_name: dict[str, str]


@contextmanager
def running_stack(model: Trained, base: Path, **console_env: str) -> Iterator[Stack]:
    """`recsys serve` with auth required on a store of its own, and a console calling it."""
    url = f"sqlite:///{base / 'console.db'}"
    keys = open_key_store(url)
    suffix = uuid.uuid4().hex[:6]
    names = {role: f"console-{role}-{suffix}" for role in ("channel", "marketing", "admin")}
    made = {role: keys.create(name, role)[1] for role, name in names.items()}
    keys.close()
    proc, port, log = start_serve(
        model,
        base,
        "serve",
        url,
        RECSYS_AUTH_REQUIRED="true",
        RECSYS_OFFER_REFRESH_SECONDS=REFRESH_S,
        RECSYS_EXPERIMENT_REFRESH_SECONDS=REFRESH_S,
    )
    console = None
    channel = None
    try:
        channel = wait_serving(proc, port, log)
        console, console_url = start_console(base, f"127.0.0.1:{port}", url, **console_env)
        yield Stack(channel, f"127.0.0.1:{port}", console_url, url, made, names)
    finally:
        if channel is not None:
            channel.close()
        for p in (console, proc):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def start_console(
    base: Path, server: str, database_url: str, **env: str
) -> tuple[subprocess.Popen, str]:
    """`recsys console` on a free port, once it answers; (process, its URL)."""
    port = free_port()
    log = base / f"console-{port}.log"
    environment = {**os.environ, "RECSYS_DATABASE_URL": database_url, **env}
    command = [sys.executable, "-m", "recsys_cli.main", "console", "--port", str(port)]
    command += ["--server", server]
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"console exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "sign-in", timeout=2) as reply:
                if reply.status == 200:
                    return proc, url
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"console not answering within {STARTUP_S} s:\n{log.read_text()[-3000:]}")


def chromium_path() -> str:
    """Debian's Chromium (`apt-get install chromium`); the tests fail, saying so, without it."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium (or set RECSYS_CHROMIUM)")
    return str(CHROMIUM)
