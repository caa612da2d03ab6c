"""`recsys recommend` against a running server over gRPC, and `recsys serve`'s argument checks."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from recsys_cli import serve
from recsys_cli.main import app
from tests.serving.conftest import Running, model, running, store  # noqa: F401 - fixtures
from tests.serving.free_port import free_port
from tests.serving.trained import Trained

runner = CliRunner()


def test_prints_a_table_with_reasons_per_customer(running: Running, model: Trained) -> None:  # noqa: F811
    known = str(model.loaded.engine.snapshot.customer_map.ids[60])
    target = f"127.0.0.1:{running.port}"
    result = runner.invoke(
        app, ["recommend", known, "NEW-cli", "--channel", "mobile", "--server", target]
    )
    assert result.exit_code == 0, result.output
    assert f"{known} on mobile (model v1)" in result.output
    assert "NEW-cli on mobile (model v1)" in result.output
    assert "popular" in result.output and "request " in result.output
    # the unknown customer is said to be unknown, the known one is not
    assert "customer 'NEW-cli' is unknown to model v1" in result.output
    assert f"customer '{known}' is unknown" not in result.output


def test_context_and_k_reach_the_server(running: Running) -> None:  # noqa: F811
    target = f"127.0.0.1:{running.port}"
    args = ["recommend", "NEW-cli-2", "-c", "call_center", "-k", "2", "--server", target,
            "--context", "segment=private", "--context", "risk_tolerance=5"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "private" in result.output
    assert "│ 2 │" in result.output and "│ 3 │" not in result.output


def test_bad_input_is_exit_2_with_the_servers_message(running: Running) -> None:  # noqa: F811
    target = f"127.0.0.1:{running.port}"
    result = runner.invoke(app, ["recommend", "C1", "--channel", "telex", "--server", target])
    assert result.exit_code == 2
    assert "INVALID_ARGUMENT" in result.output and "unknown channel 'telex'" in result.output
    bad_context = runner.invoke(app, ["recommend", "C1", "--server", target, "-x", "nokey"])
    assert bad_context.exit_code == 2 and "KEY=VALUE" in bad_context.output


def test_no_server_is_exit_1_with_a_hint() -> None:
    target = f"127.0.0.1:{free_port()}"
    result = runner.invoke(app, ["recommend", "C1", "--server", target])
    assert result.exit_code == 1
    assert "UNAVAILABLE" in result.output and "recsys serve" in result.output


def test_serve_refuses_bad_arguments_before_starting() -> None:
    cli = typer.Typer()
    cli.callback()(lambda: None)
    serve.register(cli)
    assert runner.invoke(cli, ["serve", "--workers", "0"]).exit_code == 2
    assert runner.invoke(cli, ["serve", "--port", "70000"]).exit_code == 2
    zero = runner.invoke(cli, ["serve", "--port", "0", "--workers", "2"])
    assert zero.exit_code == 2 and "fixed port" in zero.output
