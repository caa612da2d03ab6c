"""The generated gRPC code in serving/_proto is what protos/ generates now (never stale)."""

from __future__ import annotations

from pathlib import Path

from serving.codegen import PACKAGE_PREFIX, ROOT, generate


def test_generated_code_matches_the_protos(tmp_path: Path) -> None:
    fresh = generate(tmp_path)
    assert fresh, "protos/ generated nothing"
    committed_root = ROOT / PACKAGE_PREFIX
    names = sorted(p.relative_to(tmp_path / PACKAGE_PREFIX).as_posix() for p in fresh)
    committed = sorted(
        p.relative_to(committed_root).as_posix() for p in committed_root.rglob("*_pb2*.py*")
    )
    assert names == committed, "run `python -m serving.codegen` and commit serving/_proto"
    for name in names:
        new = (tmp_path / PACKAGE_PREFIX / name).read_bytes()
        old = (committed_root / name).read_bytes()
        assert new == old, f"serving/_proto/{name} is stale: run `python -m serving.codegen`"
