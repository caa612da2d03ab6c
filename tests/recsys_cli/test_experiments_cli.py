"""`recsys experiments`' usage errors: every one named at once, before any call is made;
and a server that is not there is named."""

from __future__ import annotations

from typer.testing import CliRunner

from recsys_cli.main import app
from tests.serving.free_port import free_port


def experiments(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["experiments", *args], terminal_width=200)
    return result.exit_code, result.output


def test_bad_arms_and_times_are_all_named() -> None:
    server = f"127.0.0.1:{free_port()}"  # never called: the usage errors come first
    code, output = experiments(
        "create",
        "--server",
        server,
        "--name",
        "x",
        "--arm",
        "champion",
        "--arm",
        "control=half",
        "--start",
        "monday",
    )
    assert code == 2
    assert "'champion': expected ARM=SHARE" in output
    assert "share 'half' is not a number" in output
    assert "--start: 'monday' is not an ISO date/time" in output


def test_force_needs_promote() -> None:
    code, output = experiments("conclude", "exp-1", "--force")
    assert code == 2 and "--force: only with --promote challenger" in output


def test_no_server_is_named() -> None:
    server = f"127.0.0.1:{free_port()}"
    code, output = experiments("list", "--server", server)
    assert code == 1 and server in output
