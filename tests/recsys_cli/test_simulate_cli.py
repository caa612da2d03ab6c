"""`recsys simulate`'s usage errors: each names what is wrong, before any visit is played."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from recsys.data.generate.generator import generate_with_truth
from recsys.data.generate.truth import write_truth
from recsys_cli.main import app
from tests.serving.free_port import free_port


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bank")
    write_truth(generate_with_truth(50, 2)[1], folder)
    return folder


def simulate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["simulate", *args], terminal_width=200)
    return result.exit_code, result.output


def test_a_folder_without_truth_is_a_usage_error(tmp_path: Path) -> None:
    code, output = simulate("--data", str(tmp_path), "--visits", "3")
    assert code == 2
    assert "truth.npz: missing; only `recsys data generate` writes it" in output


def test_a_bad_channel_mix_names_the_channel(bank: Path) -> None:
    code, output = simulate("--data", str(bank), "--visits", "3", "--channel-mix", "fax=1")
    assert code == 2
    assert "--channel-mix" in output and "'fax': unknown channel" in output


def test_no_server_says_where_it_looked(bank: Path) -> None:
    target = f"127.0.0.1:{free_port()}"
    code, output = simulate("--data", str(bank), "--visits", "3", "--server", target)
    assert code == 1
    assert "UNAVAILABLE" in output and f"is `recsys serve` running at {target}?" in output
