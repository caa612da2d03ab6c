"""Reasons: templates render names; literal braces in values are safe."""

from __future__ import annotations

import numpy as np

from recsys.models.reason import Reason, ReasonCode, co_held_reasons, escape_template


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
