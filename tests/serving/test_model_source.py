"""ModelSource: "not there" is None, "cannot answer" is RegistryUnavailable; MLmodel parsing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from serving.models.check import ModelCheckError
from serving.models.source import (
    ModelSource,
    RegistryUnavailable,
    bound_registry_requests,
    bundle_path,
)


def mlmodel(tmp_path: Path, artifacts: object) -> Path:
    path = tmp_path / "MLmodel"
    doc = {"flavors": {"python_function": {"artifacts": artifacts, "loader_module": "x"}}}
    path.write_text(yaml.safe_dump(doc))
    return path


def test_bundle_path_is_read_from_the_pyfunc_artifacts(tmp_path: Path) -> None:
    path = mlmodel(tmp_path, {"bundle": {"path": "artifacts/my-bundle", "uri": "/tmp/x"}})
    assert bundle_path(path) == "artifacts/my-bundle"


@pytest.mark.parametrize(
    "artifacts",
    [
        {},
        {"other": {"path": "artifacts/x"}},
        {"bundle": {"path": "../../etc"}},
        {"bundle": {"path": "/abs"}},
        {"bundle": {}},
    ],
)
def test_an_mlmodel_without_a_usable_bundle_is_a_check_error(
    tmp_path: Path, artifacts: object
) -> None:
    with pytest.raises(ModelCheckError, match="no usable 'bundle' artifact"):
        bundle_path(mlmodel(tmp_path, artifacts))
    (tmp_path / "MLmodel").write_text(": not yaml: [")
    with pytest.raises(ModelCheckError, match="unreadable MLmodel"):
        bundle_path(tmp_path / "MLmodel")


def test_an_unreachable_registry_raises_quickly() -> None:
    bound_registry_requests()
    source = ModelSource("http://127.0.0.1:9", "bank-recsys", "champion")
    started = time.perf_counter()
    with pytest.raises(RegistryUnavailable, match="reading bank-recsys@champion"):
        source.champion()
    assert time.perf_counter() - started < 10
