"""The serving check: a good engine passes; unloadable or non-finite ones are refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from recsys.data.dataset import BankData
from serving.models.check import (
    UNKNOWN_PROBE_ID,
    ModelCheckError,
    check_engine,
    load_checked,
    probe_ids,
)
from tests.serving.engines import tiny_engine


@pytest.mark.parametrize("family", ["popularity", "itemknn"])
def test_a_good_engine_passes_and_loads_back(
    tiny_bank_data: BankData, tmp_path: Path, family: str
) -> None:
    engine = tiny_engine(tiny_bank_data, family)
    check_engine(engine)
    loaded = load_checked(engine.save(tmp_path / "bundle"))
    assert loaded.model.family == family


def test_the_probe_is_the_first_customers_and_one_unknown(tiny_bank_data: BankData) -> None:
    engine = tiny_engine(tiny_bank_data)
    assert probe_ids(engine, 2) == ["c1", "c2", UNKNOWN_PROBE_ID]
    assert UNKNOWN_PROBE_ID not in set(engine.snapshot.customer_map.ids.tolist())
    assert len(probe_ids(engine)) == len(engine.snapshot.customer_map) + 1


def test_non_finite_scores_are_refused_naming_customers(tiny_bank_data: BankData) -> None:
    engine = tiny_engine(tiny_bank_data)
    model = engine.model
    broken = model.global_rate.copy()  # as a loaded artifact would bring it
    broken[2] = np.nan  # unknown customers are scored by the global rates
    model._set_rates(model.segments, broken, model.segment_rate)
    with pytest.raises(ModelCheckError, match=r"for 1 of 6 probe customers \(e.g. '\\x00recsys"):
        check_engine(engine)
    rates = model.segment_rate.copy()
    rates[:, 2] = np.inf  # now one product blows up for everyone
    model._set_rates(model.segments, np.where(np.isnan(broken), np.inf, broken), rates)
    with pytest.raises(ModelCheckError, match=r"non-finite scores for 6 of 6 probe customers"):
        check_engine(engine)


def test_a_model_that_cannot_score_is_refused(tiny_bank_data: BankData) -> None:
    engine = tiny_engine(tiny_bank_data, "itemknn")
    engine.model.similarity = engine.model.similarity[:2]  # shapes no longer match the catalog
    with pytest.raises(ModelCheckError, match="probe failed"):
        check_engine(engine)


@pytest.mark.parametrize("broken", ["snapshot/held.npz", "manifest.json", "fallback/model.json"])
def test_an_unloadable_bundle_is_refused(
    tiny_bank_data: BankData, tmp_path: Path, broken: str
) -> None:
    bundle = tiny_engine(tiny_bank_data).save(tmp_path / "bundle")
    target = bundle / broken
    target.write_bytes(target.read_bytes()[:10])
    with pytest.raises(ModelCheckError, match="cannot load"):
        load_checked(bundle)
    shutil.rmtree(bundle)
    with pytest.raises(ModelCheckError, match="cannot load"):
        load_checked(bundle)
