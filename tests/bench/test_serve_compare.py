"""bench/serve.py --compare-tree's parts: run order, round peaks, what a tree's server imports."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from serve_compare import EMPTY, _checkout, _order  # noqa: E402
from serve_load import Result  # noqa: E402
from serve_runs import Run  # noqa: E402
from serve_servers import imported_from  # noqa: E402

CLOSED = ["(a) new", "(a) old", "(a') new", "(a') old", EMPTY]
PACKAGES = ("recsys", "recsys_cli", "serving")


def _result(qps: float) -> Result:
    return Result(1.0, np.full(int(qps), 0.001), 0, "")


def test_odd_rounds_run_old_before_new_and_the_empty_server_stays_last() -> None:
    assert _order(CLOSED, 0) == CLOSED
    assert _order(CLOSED, 1) == ["(a) old", "(a) new", "(a') old", "(a') new", EMPTY]


@given(st.integers(min_value=0, max_value=1000))
def test_every_round_runs_every_server_once(round_no: int) -> None:
    assert sorted(_order(CLOSED, round_no)) == sorted(CLOSED)


def test_round_peaks_take_each_rounds_best_level_and_the_level_keeps_its_best_round() -> None:
    run = Run("(a) new")
    for c, by_round in {8: [100, 300], 16: [200, 250]}.items():
        for qps in by_round:
            run.add(c, _result(qps), cpu_ms=qps / 100)
    assert run.round_peaks() == [200, 300]
    assert run.peak == 300
    assert run.results[16].qps == 250 and run.cpu_ms[16] == 2.5


def test_a_server_of_another_tree_imports_that_trees_packages(tmp_path: Path) -> None:
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    where = imported_from(tmp_path, dict(os.environ))
    assert where == {p: str(tmp_path / p) for p in PACKAGES}


def test_a_folder_that_is_not_a_checkout_is_refused_with_what_it_lacks(tmp_path: Path) -> None:
    (tmp_path / "recsys").mkdir()
    lacks = r"not a checkout of this project \(no recsys_cli, serving folder\)"
    with pytest.raises(SystemExit, match=lacks):
        _checkout(tmp_path)
