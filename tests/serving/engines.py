"""A real Engine over the tiny hand-made dataset, built in milliseconds (no MLflow)."""

from __future__ import annotations

from recsys.data.dataset import BankData
from recsys.engine.engine import Engine
from recsys.engine.snapshot import Snapshot
from recsys.models.registry import build_model
from recsys.settings import InteractionWeights
from tests.conftest import TINY_LAST_EVENT
from training.evaluate import train_data

EXCLUDED = {"mobile": [], "web": [], "branch": [], "call_center": [], "atm": ["mortgage"]}


def tiny_engine(data: BankData, family: str = "popularity") -> Engine:
    """`family` (and a popularity fallback) fitted on all of `data`, as of its last event."""
    w = InteractionWeights()
    snap = Snapshot.build(
        data, weights=w.as_dict(), half_life_days=w.half_life_days, as_of=TINY_LAST_EVENT
    )
    fit_on = train_data(snap)
    model = build_model(family, {}).fit(fit_on)
    fallback = build_model("popularity", {}).fit(fit_on)
    return Engine(
        model,
        fallback,
        snap,
        excluded_categories=EXCLUDED,
        manifest={"data_fingerprint": "fp-tiny"},
    )
