"""ProductText: response text as lists of str, and kept reasons equal to rendering each time."""

from __future__ import annotations

import pytest

from recsys.models.reason import Reason, ReasonCode
from serving import suggest
from serving.domain import ItemReason
from serving.suggest import ProductText, reasons
from tests.serving.trained import Trained


@pytest.fixture(scope="module")
def text(model: Trained) -> ProductText:
    return ProductText.of(model.loaded.engine)


def test_lists_hold_the_same_text_as_the_arrays(text: ProductText) -> None:
    assert text.id_list == [str(p) for p in text.ids]
    assert text.name_list == [str(p) for p in text.names]
    assert text.category_list == [str(p) for p in text.categories]


def test_kept_reasons_equal_a_fresh_rendering(text: ProductText) -> None:
    n = len(text.id_list)
    found = [
        *(
            Reason(ReasonCode.co_held, "customers who hold {0} often add this", (p,), 0.5)
            for p in range(n)
        ),
        Reason(ReasonCode.similar_profile, "popular with customers like you (segment {{x}})"),
        Reason(ReasonCode.popular_segment, "popular in your segment (mass)", (), 0.1),
    ]
    first = reasons(text, found)
    expected = tuple(ItemReason(r.code, r.render(lambda p: str(text.names[p]))) for r in found)
    assert first == expected
    again = reasons(text, [Reason(r.code, r.text, r.related_products, 9.0) for r in found])
    assert again == expected and all(a is b for a, b in zip(again, first, strict=True))
    assert reasons(text, []) == (suggest.DEFAULT_REASON,)


def test_kept_reasons_are_bounded(text: ProductText, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suggest, "MAX_RENDERED_REASONS", 3)
    fresh = ProductText(text.ids, text.names, text.categories, name_list=text.name_list)
    for p in range(len(text.id_list)):
        fresh.reason(Reason(ReasonCode.co_held, "customers who hold {0} often add this", (p,)))
        assert len(fresh._rendered) <= 3
