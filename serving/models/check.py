"""The check a model must pass before it serves: it loads, scores a probe finitely, recommends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from recsys.engine.engine import Engine, at_noon
from recsys.engine.request import Request

PROBE_CUSTOMERS = 200
# Not a customer id any bank issues; it makes the probe take the unknown-customer path too.
UNKNOWN_PROBE_ID = "\x00recsys-probe-unknown-customer"
PROBE_K = 10


class ModelCheckError(RuntimeError):
    """A model bundle that must not serve; the message says what failed."""


def load_checked(bundle: Path, *, probe_size: int = PROBE_CUSTOMERS) -> Engine:
    """Engine.load the bundle folder and check it; ModelCheckError says why it cannot serve."""
    try:
        engine = Engine.load(bundle)
    except Exception as exc:  # noqa: BLE001 - whatever breaks reading a bundle refuses it
        raise ModelCheckError(f"{bundle}: cannot load: {type(exc).__name__}: {exc}") from exc
    check_engine(engine, probe_size=probe_size)
    return engine


def probe_ids(engine: Engine, probe_size: int = PROBE_CUSTOMERS) -> list[str]:
    """The first `probe_size` customers of the engine's snapshot plus one unknown customer."""
    known = engine.snapshot.customer_map.ids[:probe_size]
    return [str(c) for c in known] + [UNKNOWN_PROBE_ID]


def check_engine(
    engine: Engine, *, probe_size: int = PROBE_CUSTOMERS, at: date | None = None
) -> None:
    """Score and recommend for the probe customers on every channel; ModelCheckError if wrong."""
    if len(engine.catalog) == 0:
        raise ModelCheckError("the model's catalog has no products")
    ids = probe_ids(engine, probe_size)
    try:
        _check_scores(engine, ids)
        _check_recommend(engine, ids, at or datetime.now(UTC).date())
    except ModelCheckError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure on the probe refuses the model
        raise ModelCheckError(f"probe failed: {type(exc).__name__}: {exc}") from exc


def _check_scores(engine: Engine, ids: list[str]) -> None:
    scores, _ = engine.scores(engine.state(ids))
    expected = (len(ids), len(engine.catalog))
    if scores.shape != expected:
        raise ModelCheckError(f"probe scores have shape {scores.shape}, expected {expected}")
    bad_rows = np.flatnonzero(~np.isfinite(scores).all(axis=1))
    if bad_rows.size:
        where = ", ".join(repr(ids[r]) for r in bad_rows[:3])
        raise ModelCheckError(
            f"non-finite scores for {bad_rows.size} of {len(ids)} probe customers (e.g. {where})"
        )


def _check_recommend(engine: Engine, ids: list[str], day: date) -> None:
    """The whole pipeline on every channel, reasons rendered (they are part of every answer)."""
    n = len(engine.catalog)
    k = min(PROBE_K, n)
    for channel in [None, *engine.excluded_categories]:
        out = engine.answer(Request(ids, k, at_noon(day), channel=channel, reasons=1))
        picked = out.ids >= 0
        if out.ids.shape != (len(ids), k) or (out.ids >= n).any() or (out.ids < -1).any():
            raise ModelCheckError(f"recommend on channel {channel!r} returned invalid product ids")
        if not np.isfinite(out.scores[picked]).all():
            raise ModelCheckError(f"recommend on channel {channel!r} returned non-finite scores")
