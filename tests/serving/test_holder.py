"""ModelHolder swaps by reference and tells listeners; LoadedModel falls back to the bundle."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import numpy as np

from recsys.data.dataset import BankData
from serving.models.holder import LoadedModel, ModelHolder
from tests.conftest import TINY_LAST_EVENT
from tests.serving.engines import tiny_engine


def loaded(data: BankData, version: str, family: str = "popularity") -> LoadedModel:
    info = {"family": family, "trained_at": "2024-07-01T00:00:00+00:00", "metrics": {"m": 1}}
    return LoadedModel.from_info(tiny_engine(data, family), version, info, source="registry")


def test_swap_serves_the_new_model_and_tells_every_listener(tiny_bank_data: BankData) -> None:
    holder = ModelHolder()
    early: list[str] = []
    holder.add_listener(lambda m: early.append(m.version))
    holder.add_listener(lambda m: 1 / 0)  # a broken listener must not stop the others
    assert holder.current() is None
    first, second = loaded(tiny_bank_data, "1"), loaded(tiny_bank_data, "2", "itemknn")
    holder.swap(first)
    taken = holder.current()
    holder.swap(second)
    assert taken is first and holder.current() is second and early == ["1", "2"]
    late: list[str] = []
    holder.add_listener(lambda m: late.append(m.version))  # told at once: a model is loaded
    assert late == ["2"]


def test_info_and_fallbacks_from_the_bundle(tiny_bank_data: BankData) -> None:
    model = loaded(tiny_bank_data, "5")
    assert model.info() == {
        "version": "5",
        "family": "popularity",
        "trained_at": "2024-07-01T00:00:00+00:00",
        "metrics": {"m": 1.0},
        "data_fingerprint": "fp-tiny",
    }
    bare = LoadedModel.from_info(model.engine, "6", {"trained_at": "yesterday"}, source="cache")
    assert (bare.family, bare.trained_at, bare.metrics) == ("popularity", TINY_LAST_EVENT, {})
    assert (bare.data_fingerprint, bare.source) == ("fp-tiny", "cache")
    assert (datetime.now(UTC) - bare.loaded_at).total_seconds() < 60


def test_readers_during_swaps_always_get_a_whole_model(tiny_bank_data: BankData) -> None:
    models = [loaded(tiny_bank_data, "1"), loaded(tiny_bank_data, "2", "itemknn")]
    holder = ModelHolder()
    holder.swap(models[0])
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                m = holder.current()
                scores, _ = m.engine.scores(m.engine.state(["c1", "c3", "new"]))
                assert np.isfinite(scores).all() and m.engine.model.family in m.family
            except BaseException as exc:  # noqa: BLE001 - collected for the main thread
                errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for r in readers:
        r.start()
    for i in range(200):
        holder.swap(models[i % 2])
    done.set()
    for r in readers:
        r.join()
    assert errors == []
