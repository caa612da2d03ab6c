"""Model files without pickle: numpy arrays in arrays.npz plus config and state in model.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import numpy as np

MODEL_JSON: Final = "model.json"
ARRAYS_NPZ: Final = "arrays.npz"
FORMAT: Final = "bank-recsys-model"
FORMAT_VERSION: Final = 1


def write_model_dir(
    path: Path,
    family: str,
    config: dict[str, Any],
    state: dict[str, Any],
    arrays: dict[str, np.ndarray],
) -> None:
    """Write a model folder (created if needed; the two files are replaced)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    bad = [k for k, v in arrays.items() if np.asarray(v).dtype == object]
    if bad:
        raise TypeError(f"arrays {bad} have dtype object, which cannot be saved without pickle")
    np.savez(path / ARRAYS_NPZ, **arrays)
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "family": family,
        "config": config,
        "state": state,
    }
    (path / MODEL_JSON).write_text(json.dumps(doc, indent=2, sort_keys=True))


def read_model_json(path: Path) -> dict[str, Any]:
    """The parsed model.json of a model folder, checked for format and version."""
    file = Path(path) / MODEL_JSON
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no model file (expected a folder written by save())")
    doc = json.loads(file.read_text())
    if doc.get("format") != FORMAT or doc.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{file}: format {doc.get('format')!r} version {doc.get('format_version')!r}, "
            f"expected {FORMAT!r} version {FORMAT_VERSION}"
        )
    return doc


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """All arrays of a model folder, loaded eagerly with pickle disabled."""
    with np.load(Path(path) / ARRAYS_NPZ, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}
