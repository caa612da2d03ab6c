"""The end of `make run` (scripts/demo_serve.sh): it prints the console's address and the demo's
keys, and the marketing key it prints signs in to the console it started."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

from tests.serving.free_port import free_port
from tests.serving.processes import ROOT
from tests.serving.trained import Trained

WAIT_S = 120.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_the_demo_prints_the_console_and_a_key_that_signs_in(
    model: Trained, tmp_path: Path
) -> None:
    grpc_port, console_port = free_port(), free_port()
    env = {
        **os.environ,
        "BIN": str(ROOT / ".venv" / "bin"),
        "PORT": str(grpc_port),
        "METRICS_PORT": "0",
        "CONSOLE_PORT": str(console_port),
        "KEYS_FILE": str(tmp_path / "demo-keys.env"),
        "DEMO_SHOW": "C00000001",
        "MLFLOW_TRACKING_URI": model.settings.resolved_tracking_uri,
        "RECSYS_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "RECSYS_HOME": str(tmp_path / "home"),
    }
    out = tmp_path / "demo.log"
    with out.open("w") as log:
        proc = subprocess.Popen(
            ["scripts/demo_serve.sh"], cwd=ROOT, env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + WAIT_S
        while "Ctrl-C to stop" not in out.read_text():
            assert proc.poll() is None, out.read_text()[-3000:]
            assert time.monotonic() < deadline, out.read_text()[-3000:]
            time.sleep(0.5)
        printed = out.read_text()
        url = f"http://127.0.0.1:{console_port}/"
        assert f"web console on {url}" in printed
        key = re.search(r"marketing: (\S+)", printed)
        assert key is not None, printed
        assert key.group(1) in (tmp_path / "demo-keys.env").read_text()
        assert "Sign out" in sign_in(url, key.group(1))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the script's trap stops the server and console
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def sign_in(url: str, key: str) -> str:
    """The page the console answers after signing in with `key` (it may still be starting)."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            page = opener.open(url + "sign-in", timeout=5).read().decode()
            break
        except OSError:
            assert time.monotonic() < deadline, "the console did not answer"
            time.sleep(0.5)
    token = CSRF.search(page)
    assert token is not None
    form = {"csrf_token": token.group(1), "api_key": key, "next": ""}
    data = urllib.parse.urlencode(form).encode()
    return opener.open(url + "sign-in", data=data, timeout=30).read().decode()
