"""Snapshot: customer state at a cutoff, aligned to the id maps; Parquet + npz round trip."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp
from polars.testing import assert_frame_equal

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.holdings import holdings_at
from recsys.engine.snapshot import Snapshot
from recsys.settings import Settings
from tests.engine.conftest import build_snapshot


def assert_csr_equal(a: sp.csr_matrix, b: sp.csr_matrix) -> None:
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)


def assert_snapshots_equal(a: Snapshot, b: Snapshot) -> None:
    assert_frame_equal(a.customers, b.customers)
    assert_frame_equal(a.products, b.products)
    assert a.customer_map == b.customer_map and a.product_map == b.product_map
    assert_csr_equal(a.history, b.history)
    assert_csr_equal(a.held, b.held)
    assert_csr_equal(a.bought_at, b.bought_at)
    assert_csr_equal(a.looked_at, b.looked_at)
    assert a.as_of == b.as_of


def held_pairs(snapshot: Snapshot) -> pl.DataFrame:
    """The snapshot's held matrix as (customer_id, product_id, quantity) rows."""
    coo = snapshot.held.tocoo()
    return pl.DataFrame(
        {
            C.customer_id: snapshot.customer_map.ids[coo.row],
            C.product_id: snapshot.product_map.ids[coo.col],
            C.quantity: coo.data.astype(np.int32),
        },
        schema={C.customer_id: pl.String, C.product_id: pl.String, C.quantity: pl.Int32},
    ).sort(C.customer_id, C.product_id)


def test_save_load_round_trip_is_equal(snapshot: Snapshot, tmp_path: Path) -> None:
    snapshot.save(tmp_path / "snap")
    assert_snapshots_equal(Snapshot.load(tmp_path / "snap", snapshot.as_of), snapshot)


def test_frames_follow_the_id_maps(snapshot: Snapshot, bank: BankData) -> None:
    assert snapshot.customers[C.customer_id].to_list() == snapshot.customer_map.ids.tolist()
    assert snapshot.products[C.product_id].to_list() == snapshot.product_map.ids.tolist()
    assert sorted(snapshot.customer_map.ids.tolist()) == sorted(bank.customers[C.customer_id])
    shape = (len(snapshot.customer_map), len(snapshot.product_map))
    assert snapshot.history.shape == shape and snapshot.held.shape == shape
    assert snapshot.history.dtype == np.float32


def test_held_matches_holdings_replayed_from_events(snapshot: Snapshot, held: pl.DataFrame):
    assert held.height > 0
    assert_frame_equal(held_pairs(snapshot), held.sort(C.customer_id, C.product_id))


def test_events_after_as_of_are_ignored(bank: BankData, as_of: datetime, settings: Settings):
    cutoff = as_of - timedelta(days=120)
    early = build_snapshot(bank, cutoff, settings)
    expected = holdings_at(bank.events, bank.products, cutoff).sort(C.customer_id, C.product_id)
    assert_frame_equal(held_pairs(early), expected)
    # customers whose first event is after the cutoff have no history and hold nothing
    first = bank.events.group_by(C.customer_id).agg(pl.col(C.timestamp).min())
    late = first.filter(pl.col(C.timestamp) > cutoff)[C.customer_id]
    assert late.len() > 0
    rows = early.customer_map.to_internal(late.to_list())
    assert early.history[rows].nnz == 0 and early.held[rows].nnz == 0
    # the full snapshot knows more than the early one
    full = build_snapshot(bank, as_of, settings)
    assert full.history.nnz > early.history.nnz
    assert np.diff(full.history[rows].indptr).min() > 0


def moments_of(snapshot: Snapshot, name: str) -> dict[tuple[str, str], int]:
    coo = getattr(snapshot, name).tocoo()
    cs, ps = snapshot.customer_map.ids[coo.row], snapshot.product_map.ids[coo.col]
    values = coo.data.tolist()
    return {(c, p): int(v) for c, p, v in zip(cs.tolist(), ps.tolist(), values, strict=True)}


def test_last_purchase_and_last_look_are_the_newest_such_events(
    snapshot: Snapshot, bank: BankData
) -> None:
    kept = bank.events.filter(pl.col(C.timestamp) <= snapshot.as_of)
    for name, kinds in (("bought_at", ["purchase"]), ("looked_at", ["view", "click"])):
        expected = (
            kept.filter(pl.col(C.event).is_in(kinds))
            .group_by(C.customer_id, C.product_id)
            .agg(pl.col(C.timestamp).max().dt.epoch("us"))
        )
        want = {(c, p): t for c, p, t in expected.iter_rows()}
        assert want and moments_of(snapshot, name) == want


def test_a_snapshot_saved_without_moments_loads_with_none(
    snapshot: Snapshot, tmp_path: Path
) -> None:
    # engines registered before the moments were kept: no reason may cite a purchase date
    snapshot.save(tmp_path / "snap")
    (tmp_path / "snap" / "bought_at.npz").unlink()
    (tmp_path / "snap" / "looked_at.npz").unlink()
    old = Snapshot.load(tmp_path / "snap", snapshot.as_of)
    assert old.bought_at.nnz == 0 and old.looked_at.nnz == 0
    assert old.bought_at.shape == snapshot.history.shape
