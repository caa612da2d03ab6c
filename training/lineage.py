"""What MLflow should know about where a model came from: data fingerprint, code, libraries."""

from __future__ import annotations

import hashlib
import subprocess
from importlib import metadata
from pathlib import Path

import polars as pl

from recsys.data.dataset import BankData

LIBRARIES = ("implicit", "rectools-lightfm", "polars", "numpy", "scipy", "mlflow", "bank-recsys")


def data_fingerprint(data: BankData) -> str:
    """A stable hash of the dataset's content (order-independent within each table)."""
    digest = hashlib.sha256(pl.__version__.encode())  # hash_rows is stable within a version only
    for name in ("customers", "products", "events"):
        frame: pl.DataFrame = getattr(data, name)
        digest.update(name.encode())
        digest.update(str(frame.schema).encode())
        # hash_rows is content-based; summing makes it independent of row order. Summing the
        # 32-bit halves separately cannot overflow below 2**32 rows.
        h = frame.hash_rows(seed=0)
        for half in (h // 2**32, h % 2**32):
            digest.update(int(half.sum() or 0).to_bytes(16, "little"))
        digest.update(frame.height.to_bytes(8, "little"))
    return digest.hexdigest()[:16]


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape a model."""
    out = {}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = "absent"
    return out


def git_commit(cwd: Path | None = None) -> str:
    """The current git commit (with -dirty when the tree has changes), or 'unknown'."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha
