"""Reasons: templates render names; literal braces in values are safe."""

from __future__ import annotations

import numpy as np

from recsys.models.reason import (
    Reason,
    ReasonCode,
    co_held_many,
    co_held_reasons,
    escape_template,
    strongest,
)


def test_render_fills_product_names() -> None:
    r = Reason(ReasonCode.co_held, "customers who hold {0} often add this", (3,))
    assert r.render({3: "Gold Card"}.__getitem__) == "customers who hold Gold Card often add this"


def test_escaped_values_render_literally() -> None:
    r = Reason(ReasonCode.popular_segment, f"popular in {escape_template('{vip}')}")
    assert r.render(str) == "popular in {vip}"


def test_co_held_reasons_strongest_first_without_the_product_itself() -> None:
    items = np.array([1, 2, 5, 7])
    shares = np.array([0.2, -0.1, 0.9, 0.5])
    reasons = co_held_reasons(items, shares, product=7, k=3)
    assert [r.related_products for r in reasons] == [(5,), (1,)]
    assert reasons[0].weight == 0.9


def test_strongest_sorts_each_product_on_its_own_ties_in_candidate_order() -> None:
    weights = np.array([[0.5, 0.1], [0.5, 0.3], [0.9, -1.0], [0.2, 0.3]])
    valid = weights > 0
    valid[2, 0] = False  # e.g. the product itself
    both = strongest(weights, valid, 2)
    assert both == [[(0, 0.5), (1, 0.5)], [(1, 0.3), (3, 0.3)]]
    assert strongest(weights[:, 1:], valid[:, 1:], 2) == both[1:]  # asked alone: the same
    assert strongest(weights[:0], valid[:0], 3) == [[], []]  # no candidates, no reasons


def test_co_held_many_equals_co_held_reasons_product_by_product() -> None:
    items = np.array([4, 1, 6])
    shares = np.array([[0.3, 0.0, 0.2], [0.1, 0.4, 0.2], [0.5, 0.1, 0.0]])
    products = [1, 4, 6]
    assert co_held_many(items, shares, products, 2) == [
        co_held_reasons(items, shares[:, j], p, 2) for j, p in enumerate(products)
    ]
    assert [r.related_products for r in co_held_many(items, shares, products, 2)[0]] == [(6,), (4,)]
