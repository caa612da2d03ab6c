"""build_interactions / interactions_from_holdings against hand-worked matrices."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from recsys.columns import Columns as C
from recsys.data.idmap import IdMap
from recsys.data.interactions import build_interactions, interactions_from_holdings
from recsys.data.schema import UTC_DATETIME

# Rows and columns deliberately NOT in sorted order: the matrix must follow the maps.
CUSTOMERS = IdMap(np.array(["C2", "C1", "C3"]))
PRODUCTS = IdMap(np.array(["P2", "P1"]))
WEIGHTS = {"purchase": 1.0, "apply": 2.0, "click": 0.5, "view": 0.25, "impression": 0.0,
           "close": 0.0}
AS_OF = datetime(2024, 1, 11, tzinfo=UTC)


def at(d: int, hour: int = 0) -> datetime:
    return datetime(2024, 1, d, hour, tzinfo=UTC)


def events(*rows: tuple[str, str, str, datetime]) -> pl.DataFrame:
    cols = list(zip(*rows, strict=True)) if rows else [[], [], [], []]
    return pl.DataFrame(
        {
            C.customer_id: pl.Series(cols[0], dtype=pl.String),
            C.product_id: pl.Series(cols[1], dtype=pl.String),
            C.event: pl.Series(cols[2], dtype=pl.String),
            C.timestamp: pl.Series(cols[3], dtype=UTC_DATETIME),
        }
    )


EVENTS = events(
    ("C1", "P1", "purchase", at(1)),  # 10 days old: 1.0 * 0.5
    ("C1", "P1", "view", at(11)),  # at as_of: 0.25 * 1
    ("C2", "P2", "click", at(6)),  # 5 days old: 0.5 * 2 ** -0.5
    ("C2", "P1", "apply", at(10, 12)),  # 0.5 days old: 2.0 * 2 ** -0.05
    ("C1", "P2", "impression", at(5)),  # zero weight: no cell
    ("C2", "P2", "purchase", at(12)),  # after as_of: excluded
    ("C3", "P2", "close", at(3)),  # close weighs 0.0 here: no cell
)


def build(ev: pl.DataFrame, **kw: object):
    args = {"customers": CUSTOMERS, "products": PRODUCTS, "weights": WEIGHTS,
            "half_life_days": 10.0, "as_of": AS_OF}
    return build_interactions(ev, **{**args, **kw})


def test_weights_times_decay_summed_per_cell() -> None:
    result = build(EVENTS)
    #                      P2                 P1
    expected = np.array([[0.5 * 2 ** -0.5, 2.0 * 2 ** -0.05],  # C2
                         [0.0, 0.5 + 0.25],  # C1
                         [0.0, 0.0]])  # C3
    assert isinstance(result.matrix, sp.csr_matrix)
    assert result.matrix.dtype == np.float32
    assert result.shape == (3, 2)
    assert result.matrix.nnz == 3
    np.testing.assert_allclose(result.matrix.toarray(), expected, atol=1e-6, rtol=0)
    assert result.customers == CUSTOMERS and result.products == PRODUCTS


def test_decay_numbers_exact() -> None:
    m = build(EVENTS).matrix.toarray()
    assert abs(m[0, 0] - 0.35355339) < 1e-6
    assert abs(m[0, 1] - 1.93187266) < 1e-6
    assert abs(m[1, 1] - 0.75) < 1e-6


def test_no_decay_sums_raw_weights() -> None:
    m = build(EVENTS, half_life_days=None).matrix.toarray()
    np.testing.assert_allclose(m, [[0.5, 2.0], [0.0, 1.25], [0.0, 0.0]], atol=1e-6, rtol=0)


def test_negative_close_weight_cancels_and_empty_cells_are_removed() -> None:
    ev = events(("C1", "P1", "purchase", at(1)), ("C1", "P1", "close", at(2)),
                ("C2", "P1", "close", at(2)))
    result = build(ev, weights={**WEIGHTS, "close": -1.0}, half_life_days=None)
    np.testing.assert_allclose(result.matrix.toarray(), [[0.0, -1.0], [0.0, 0.0], [0.0, 0.0]])
    assert result.matrix.nnz == 1


def test_unknown_ids_raise_naming_the_first_five() -> None:
    ev = events(*[(f"X{i}", "P1", "purchase", at(1)) for i in range(7)],
                ("C1", "P1", "purchase", at(1)))
    with pytest.raises(ValueError, match=r"7 unknown customer id\(s\).*\['X0', 'X1', 'X2', 'X3', "
                                         r"'X4'\]$"):
        build(ev)
    with pytest.raises(ValueError, match=r"1 unknown product id\(s\).*\['ZZZ9'\]"):
        build(events(("C1", "ZZZ9", "view", at(1))))


def test_unknown_ids_in_excluded_events_do_not_raise() -> None:
    ev = events(("NEW", "P1", "purchase", at(12)), ("C9", "P1", "impression", at(1)))
    assert build(ev).matrix.nnz == 0


def test_event_type_without_a_weight_raises() -> None:
    ev = events(("C1", "P1", "call", at(1)))
    with pytest.raises(ValueError, match=r"no interaction weight for event type\(s\) \['call'\]"):
        build(ev)


def test_empty_events_give_an_empty_matrix_of_the_map_shape() -> None:
    result = build(events())
    assert result.shape == (3, 2) and result.matrix.nnz == 0
    assert result.matrix.dtype == np.float32


@pytest.mark.parametrize("half_life", [None, 10.0])
def test_all_zero_weights_give_an_empty_matrix(half_life: float | None) -> None:
    result = build(EVENTS, weights=dict.fromkeys(WEIGHTS, 0.0), half_life_days=half_life)
    assert result.shape == (3, 2) and result.matrix.nnz == 0
    assert result.matrix.dtype == np.float32


@pytest.mark.parametrize("half_life", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_half_life_raises(half_life: float) -> None:
    with pytest.raises(ValueError, match="half_life_days"):
        build(EVENTS, half_life_days=half_life)


def test_bad_weights_and_naive_as_of_raise() -> None:
    with pytest.raises(ValueError, match="finite"):
        build(EVENTS, weights={**WEIGHTS, "view": float("nan")})
    with pytest.raises(ValueError, match="as_of must be timezone-aware"):
        build(EVENTS, as_of=datetime(2024, 1, 11))


def holdings(*rows: tuple[str, str, int]) -> pl.DataFrame:
    cols = list(zip(*rows, strict=True))
    return pl.DataFrame({C.customer_id: cols[0], C.product_id: cols[1],
                         C.quantity: pl.Series(cols[2], dtype=pl.Int32)})


def test_interactions_from_holdings_quantity_and_binary() -> None:
    h = holdings(("C1", "P1", 3), ("C3", "P2", 1))
    result = interactions_from_holdings(h, CUSTOMERS, PRODUCTS)
    assert result.matrix.dtype == np.float32
    np.testing.assert_array_equal(result.matrix.toarray(), [[0, 0], [0, 3], [1, 0]])
    binary = interactions_from_holdings(h, CUSTOMERS, PRODUCTS, binary=True)
    np.testing.assert_array_equal(binary.matrix.toarray(), [[0, 0], [0, 1], [1, 0]])


def test_interactions_from_holdings_unknown_product_raises() -> None:
    with pytest.raises(ValueError, match=r"unknown product id\(s\) in column product_id.*'P7'"):
        interactions_from_holdings(holdings(("C1", "P7", 1)), CUSTOMERS, PRODUCTS)
