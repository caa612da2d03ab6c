"""SuggestionService on a real registered model and a real (SQLite) event store, no gRPC."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from recsys.columns import Columns as C
from recsys.engine.engine import Engine
from recsys.stores.sql_events import open_event_store
from serving.models.derived import PerVersion
from serving.models.holder import ModelHolder
from serving.recommend.domain import EventIn, NoModelLoaded, UnknownProduct
from serving.recommend.service import SuggestionService
from serving.recommend.similarity import cooccurrence_cosine, item_similarity
from serving.recommend.validation import ValidationError
from tests.serving.trained import Trained


@pytest.fixture
def service(model: Trained, tmp_path: Path) -> SuggestionService:
    """A service on the champion with its own empty event store."""
    holder = ModelHolder()
    holder.swap(model.loaded)
    store = open_event_store(f"sqlite:///{tmp_path / 'events.db'}")
    return SuggestionService(holder, store, model.settings)


def engine_of(service: SuggestionService) -> Engine:
    loaded = service.holder.current()
    assert loaded is not None
    return loaded.engine


def risk(engine: Engine, product_ids: list[str]) -> np.ndarray:
    return engine.catalog.risk_rating[engine.snapshot.product_map.to_internal(product_ids)]


def known_customer(engine: Engine, i: int = 0) -> str:
    return str(engine.snapshot.customer_map.ids[i])


def test_known_customer_gets_the_channel_default_ranked_with_reasons(
    service: SuggestionService,
) -> None:
    customer = known_customer(engine_of(service))
    out = service.recommend(customer, "mobile", request_id="req-1")
    assert out.customer_id == customer and out.request_id == "req-1"
    assert out.model_version == "1"
    assert [i.rank for i in out.items] == [1, 2, 3, 4, 5]
    scores = [i.score for i in out.items]
    assert scores == sorted(scores, reverse=True)
    assert all(i.reasons and all(r.code and r.text for r in i.reasons) for i in out.items)
    assert len({i.product_id for i in out.items}) == 5


def test_request_id_is_generated_when_empty(service: SuggestionService) -> None:
    customer = known_customer(engine_of(service))
    first, second = (service.recommend(customer, "web") for _ in range(2))
    assert first.request_id and second.request_id and first.request_id != second.request_id


@pytest.mark.parametrize("channel", ["mobile", "web", "branch", "call_center", "atm"])
def test_k_zero_is_the_channel_default(service: SuggestionService, channel: str) -> None:
    out = service.recommend(known_customer(engine_of(service), 3), channel, k=0)
    assert len(out.items) == service.settings.channels[channel].default_k
    assert len(service.recommend("NEW-default-k", channel, k=0).items) >= 1


def test_unknown_customer_without_context_gets_only_the_most_cautious_products(
    service: SuggestionService,
) -> None:
    out = service.recommend("NEW-0001", "call_center")
    assert out.items, "an unknown customer still gets suggestions"
    assert (risk(engine_of(service), [i.product_id for i in out.items]) <= 1).all()


def test_unknown_customer_with_context_is_profiled_from_it(
    service: SuggestionService,
) -> None:
    context = {C.segment: "private", C.risk_tolerance: "5", C.birth_year: "1970"}
    plain = service.recommend("NEW-0002", "call_center")
    profiled = service.recommend("NEW-0002", "call_center", context=context)
    assert [i.product_id for i in profiled.items] != [i.product_id for i in plain.items]
    assert risk(engine_of(service), [i.product_id for i in profiled.items]).max() > 1
    assert any("private" in r.text for i in profiled.items for r in i.reasons)


def test_known_customer_context_does_not_override_the_kyc_profile(
    service: SuggestionService,
) -> None:
    customer = known_customer(engine_of(service), 5)
    context = {C.risk_tolerance: "5", C.segment: "private"}
    plain = service.recommend(customer, "branch")
    with_context = service.recommend(customer, "branch", context=context)
    assert [i.product_id for i in with_context.items] == [i.product_id for i in plain.items]


def test_malformed_context_names_the_key(service: SuggestionService) -> None:
    with pytest.raises(ValidationError, match=r"^context\[risk_tolerance\]: .*outside 1-5"):
        service.recommend("NEW-0003", "mobile", context={C.risk_tolerance: "9"})
    with pytest.raises(ValidationError, match=r"^context: unknown key 'shoe_size'"):
        service.recommend("NEW-0003", "mobile", context={"shoe_size": "44"})


def test_excluded_products_are_left_out_and_unknown_ones_ignored(
    service: SuggestionService,
) -> None:
    customer = known_customer(engine_of(service), 7)
    first = service.recommend(customer, "web", k=3)
    top = first.items[0].product_id
    again = service.recommend(customer, "web", k=3, exclude_product_ids=[top, "NO-SUCH-PRODUCT"])
    assert top not in [i.product_id for i in again.items]
    assert [i.product_id for i in again.items][:2] == [i.product_id for i in first.items][1:3]


def test_batch_answers_in_request_order_like_single_calls(service: SuggestionService) -> None:
    engine = engine_of(service)
    nine, two = known_customer(engine, 9), known_customer(engine, 2)
    ids = [nine, "NEW-batch", two, nine]
    batch = service.recommend_batch(ids, "call_center", k=4, request_id="batch-1")
    assert [r.customer_id for r in batch.results] == ids
    assert {r.request_id for r in batch.results} == {"batch-1"}
    for result, customer in zip(batch.results, ids, strict=True):
        single = service.recommend(customer, "call_center", k=4)
        assert [i.product_id for i in result.items] == [i.product_id for i in single.items]


def test_purchase_of_a_non_repeatable_product_disappears_at_once(
    service: SuggestionService,
) -> None:
    engine = engine_of(service)
    customer = known_customer(engine, 11)
    before = service.recommend(customer, "branch", k=10)
    product = next(
        i.product_id
        for i in before.items
        if not engine.catalog.repeatable[engine.snapshot.product_map.to_internal([i.product_id])[0]]
    )
    assert service.record_events([EventIn(customer, product, "view", "mobile")]) == 1
    viewed = service.recommend(customer, "branch", k=10)
    assert product in [i.product_id for i in viewed.items], "a view is not a holding"
    assert service.record_events([EventIn(customer, product, "purchase", "branch")]) == 1
    after = service.recommend(customer, "branch", k=10)
    assert product not in [i.product_id for i in after.items]
    assert service.store.count() == 2


def bad_event(field: str, value: object) -> EventIn:
    return replace(EventIn("C00000001", "CA_SALARY", "view", "mobile"), **{field: value})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("type", "buy", r"^events\[1\]\.type: unknown event type 'buy'"),
        ("type", "", r"^events\[1\]\.type: must not be empty"),
        ("customer_id", "", r"^events\[1\]\.customer_id: must not be empty"),
        ("customer_id", "x" * 129, r"^events\[1\]\.customer_id: is 129 characters long"),
        ("product_id", "NOPE", r"^events\[1\]\.product_id: unknown product 'NOPE'"),
        ("channel", "fax", r"^events\[1\]\.channel: unknown channel 'fax'"),
        ("amount", float("nan"), r"^events\[1\]\.amount: must be a finite number"),
        ("timestamp", datetime(2024, 1, 1), r"^events\[1\]\.timestamp: must be timezone-aware"),
        (
            "timestamp",
            datetime.now(UTC) + timedelta(hours=2),
            r"^events\[1\]\.timestamp: in the future",
        ),
        (
            "timestamp",
            datetime(1, 1, 1, tzinfo=UTC),
            r"^events\[1\]\.timestamp: before 1900-01-01 \(not a plausible event time\)",
        ),
        ("amount", -1e308, r"^events\[1\]\.amount: negative amount \[-1e\+308\]"),
    ],
)
def test_bad_events_are_refused_naming_field_and_index(
    service: SuggestionService, field: str, value: object, message: str
) -> None:
    good = EventIn("C00000001", "CA_SALARY", "view", "mobile")
    with pytest.raises(ValidationError, match=message):
        service.record_events([good, bad_event(field, value)])
    assert service.store.count() == 0, "nothing of a refused call is stored"


def test_event_count_limits(service: SuggestionService) -> None:
    with pytest.raises(ValidationError, match=r"^events: must not be empty"):
        service.record_events([])
    many = [EventIn("C00000001", "CA_SALARY", "view")] * 1001
    with pytest.raises(ValidationError, match=r"^events: has 1001 entries; at most 1000"):
        service.record_events(many)


def test_without_a_model_every_call_says_no_model(model: Trained, tmp_path: Path) -> None:
    store = open_event_store(f"sqlite:///{tmp_path / 'e.db'}")
    service = SuggestionService(ModelHolder(), store, model.settings)
    with pytest.raises(NoModelLoaded):
        service.recommend("C00000001", "mobile")
    with pytest.raises(NoModelLoaded):
        service.record_events([EventIn("C00000001", "CA_SALARY", "view")])
    with pytest.raises(NoModelLoaded):
        service.model_info()


def test_similar_products_come_from_the_models_own_similarity(
    service: SuggestionService,
) -> None:
    engine = engine_of(service)
    product = service.recommend(known_customer(engine, 1), "mobile").items[0].product_id
    out = service.similar_products(product, k=4)
    ids = [i.product_id for i in out.items]
    assert 1 <= len(ids) <= 4 and product not in ids
    scores = [i.score for i in out.items]
    assert scores == sorted(scores, reverse=True) and min(scores) > 0
    row = engine.model.similarity[engine.snapshot.product_map.to_internal([product])[0]]
    expected = row.toarray().ravel()[engine.snapshot.product_map.to_internal(ids)]
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    assert len(service.similar_products(product).items) <= 5  # k=0: the default


def test_similar_products_of_an_unknown_product(service: SuggestionService) -> None:
    with pytest.raises(UnknownProduct, match="product_id: unknown product 'NOPE'"):
        service.similar_products("NOPE")
    with pytest.raises(ValidationError, match=r"^product_id: must not be empty"):
        service.similar_products("")


def test_a_model_without_similarity_uses_cooccurrence(model: Trained) -> None:
    engine = model.loaded.engine
    popular = Engine(
        engine.fallback,
        engine.fallback,
        engine.snapshot,
        excluded_categories=engine.excluded_categories,
    )
    got = item_similarity(popular)
    expected = cooccurrence_cosine(engine.snapshot.history)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_array_equal(got, expected)


def test_cooccurrence_cosine_on_a_known_matrix() -> None:
    import scipy.sparse as sp

    # products 0 and 1 always held together; 2 shares one of 0's two customers; 3 unused
    history = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 0]], dtype=np.float32))
    cos = cooccurrence_cosine(history)
    assert cos[0, 1] == pytest.approx(1.0)
    assert cos[0, 2] == pytest.approx(0.5)
    assert (cos[3] == 0).all() and (cos[:, 3] == 0).all()


def test_per_version_values_are_computed_once_per_version(model: Trained) -> None:
    calls: list[int] = []
    cache = PerVersion(lambda e: calls.append(1) or len(calls))
    engine = model.loaded.engine
    assert cache.get("1", engine) == cache.get("1", engine) == 1
    assert cache.get("2", engine) == 2
    assert len(calls) == 2


def test_model_info_describes_the_serving_version(
    service: SuggestionService, model: Trained
) -> None:
    info = service.model_info()
    assert (info.model_name, info.version, info.alias) == ("bank-recsys", "1", "champion")
    assert info.family == "itemknn"
    assert info.metrics["ndcg_at_5"] == pytest.approx(model.outcome.metrics["ndcg_at_5"])
    assert len(info.data_fingerprint) >= 8
    assert info.trained_at is not None and info.loaded_at >= info.trained_at
