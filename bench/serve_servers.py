"""Server processes for the serving benchmark: start, wait until ready, measure memory, stop.

Each server runs in its own session (process group) so that stopping it reaches its worker
processes too, and only them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
READY_TIMEOUT_S = 300.0
STOP_GRACE_S = 10.0


@dataclass
class Server:
    """A started server: its process, address, and when it became ready."""

    name: str
    process: subprocess.Popen
    address: str  # host:port (gRPC) or URL of /invocations (HTTP)
    log: Path
    ready_s: float = float("nan")  # seconds from start to ready

    def rss_bytes(self) -> tuple[int, list[int]]:
        """Resident memory of the whole process tree: (total, per process)."""
        per = [_rss(pid) for pid in _tree(self.process.pid)]
        return sum(per), per

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the whole process tree."""
        return sum(_cpu(pid) for pid in _tree(self.process.pid))


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def recsys_serve(
    env: dict[str, str], workers: int, log_dir: Path, *, tree: Path = ROOT, name: str = "recsys"
) -> Iterator[Server]:
    """`recsys serve --workers N` of `tree`'s code on a free port, ready when health says SERVING.

    The venv's `recsys` script imports whatever comes first on the path: PYTHONPATH and the
    working directory are set to `tree`, so a checkout of another commit serves its own code.
    """
    port = free_port()
    cmd = [str(BIN / "recsys"), "serve", "--port", str(port), "--workers", str(workers),
           "--metrics-port", "0"]
    address = f"127.0.0.1:{port}"
    with _started(name, cmd, _tree_env(env, tree), address, log_dir, cwd=tree) as server:
        server.ready_s = _wait(server, lambda: _grpc_serving(server.address))
        yield server


def imported_from(tree: Path, env: dict[str, str]) -> dict[str, str]:
    """Where `recsys serve` of `tree` finds its packages: the same python, env and directory."""
    probe = ("import json, recsys, recsys_cli, serving; print(json.dumps("
             "{m.__name__: m.__path__[0] for m in (recsys, recsys_cli, serving)}))")
    # -P: like the `recsys` script, nothing but PYTHONPATH ahead of the venv (not the cwd)
    done = subprocess.run([PYTHON, "-P", "-c", probe], cwd=tree, env=_tree_env(env, tree),
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _tree_env(env: dict[str, str], tree: Path) -> dict[str, str]:
    return {**env, "PYTHONPATH": str(tree)}


@contextmanager
def empty_serve(
    env: dict[str, str], workers: int, log_dir: Path, *, use_aio: bool = False
) -> Iterator[Server]:
    """The empty-handler grpcio server (bench/serve_empty.py) with `workers` processes."""
    port = free_port()
    cmd = [PYTHON, str(ROOT / "bench" / "serve_empty.py"), "--port", str(port),
           "--workers", str(workers)] + (["--aio"] if use_aio else [])
    name = "empty-aio" if use_aio else "empty"
    with _started(name, cmd, env, f"127.0.0.1:{port}", log_dir) as server:
        server.ready_s = _wait(server, lambda: _grpc_serving(server.address))
        yield server


@contextmanager
def mlflow_serve(
    env: dict[str, str], model_uri: str, workers: int, log_dir: Path
) -> Iterator[Server]:
    """`mlflow models serve -m URI --env-manager local --workers N`, ready when /ping is 200."""
    port = free_port()
    cmd = [str(BIN / "mlflow"), "models", "serve", "-m", model_uri, "--env-manager", "local",
           "--port", str(port), "--host", "127.0.0.1", "--workers", str(workers)]
    url = f"http://127.0.0.1:{port}"
    env = {**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"}  # it execs `uvicorn`
    with _started("mlflow", cmd, env, f"{url}/invocations", log_dir) as server:
        server.ready_s = _wait(server, lambda: _http_ok(f"{url}/ping"))
        yield server


@contextmanager
def _started(
    name: str, cmd: list[str], env: dict[str, str], address: str, log_dir: Path,
    cwd: Path = ROOT,
) -> Iterator[Server]:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        server = Server(name, process, address, log)
        try:
            yield server
        finally:
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's own process group, SIGKILL if it does not go in time."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait(server: Server, ready: object) -> float:
    """Seconds until `ready()` is true; RuntimeError with the log's tail if the server dies."""
    started = time.perf_counter()
    while time.perf_counter() - started < READY_TIMEOUT_S:
        if server.process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-3000:]
            code = server.process.returncode
            raise RuntimeError(f"{server.name} server exited ({code}):\n{tail}")
        if ready():  # type: ignore[operator]
            return time.perf_counter() - started
        time.sleep(0.05)
    raise RuntimeError(f"{server.name} server not ready after {READY_TIMEOUT_S:.0f} s")


def _grpc_serving(address: str) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    try:
        with grpc.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            answer = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
            return answer.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
            return response.status == 200
    except OSError:
        return False


def _tree(root: int) -> list[int]:
    """`root` and every descendant process (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
