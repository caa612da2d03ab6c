"""The README's Python snippets run as written, against a registry laid out as `make run` leaves it.

Each ```python block runs in a fresh interpreter, in a folder whose `var/mlflow.db` holds a
trained champion, with no MLFLOW_TRACKING_URI set: what a newcomer has after `make run`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from recsys.columns import Columns as C
from tests.training.trained import champion_registry, generated_dataset

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
# Runs a block; the value of its last line, when that is an expression, is printed as JSON.
RUNNER = """
import ast, json, sys
tree = ast.parse(sys.argv[1])
last = tree.body[-1] if tree.body else None
if isinstance(last, ast.Expr):
    tree.body[-1] = ast.Assign([ast.Name("_last", ast.Store())], last.value)
    ast.fix_missing_locations(tree)
namespace = {}
exec(compile(tree, "README.md", "exec"), namespace)
value = namespace.get("_last")
print(value.to_json(orient="records") if hasattr(value, "to_json") else json.dumps(repr(value)))
"""


def python_blocks() -> list[str]:
    """The ```python blocks of the README, in order."""
    return BLOCK.findall(README.read_text(encoding="utf-8"))


@pytest.fixture
def project_folder(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """A folder with var/mlflow.db holding a champion, as `make run` leaves the repository."""
    base = tmp_path_factory.getbasetemp()
    settings, _ = champion_registry(base)
    (tmp_path / "var").mkdir()
    # the runs' artifacts stay where they are: the store keeps their absolute locations
    shutil.copyfile(settings.home / "mlflow.db", tmp_path / "var" / "mlflow.db")
    return tmp_path


def run_block(code: str, cwd: Path) -> object:
    """Run one block in a fresh interpreter at `cwd`; the JSON of its last expression."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    out = subprocess.run(
        [sys.executable, "-c", RUNNER, code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, f"README block failed:\n{code}\n{out.stderr[-3000:]}"
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_readme_has_python_snippets() -> None:
    assert python_blocks(), f"no ```python block found in {README}"


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_python_block_runs_as_written(
    index: int, project_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    code = python_blocks()[index]
    result = run_block(code, project_folder)
    assert not (project_folder / "mlflow.db").exists(), "a stray mlflow.db was made"
    assert not (project_folder / "mlruns").exists(), "a stray mlruns/ was made"
    if "predict(" in code:
        customers = pl.read_parquet(
            generated_dataset(tmp_path_factory.getbasetemp()) / "customers.parquet"
        )[C.customer_id]
        asked = re.findall(r'"customer_id": \["(\w+)"\]', code)
        assert asked and set(asked) <= set(customers), f"{asked}: not a customer of the data"
        assert [r["customer_id"] for r in result] == asked * 5
        assert [r["rank"] for r in result] == [1, 2, 3, 4, 5]
        assert all(r["reason"] for r in result)
