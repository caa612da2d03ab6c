"""Request checks: each failure names its field; limits come from RequestLimits."""

from __future__ import annotations

import pytest
from pydantic import ValidationError as PydanticValidationError

from recsys.settings import Settings
from serving.recommend import validation as v

LIMITS = v.RequestLimits()


def test_default_limits() -> None:
    assert (LIMITS.max_id_length, LIMITS.max_k, LIMITS.max_batch, LIMITS.max_events) == (
        128,
        50,
        1000,
        1000,
    )
    assert (LIMITS.max_exclude, LIMITS.max_context_entries) == (100, 32)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", r"^customer_id: must not be empty$"),
        ("x" * 129, r"^customer_id: is 129 characters long; at most 128 allowed$"),
        (" C1", r"^customer_id: has leading or trailing whitespace"),
    ],
)
def test_bad_ids(value: str, message: str) -> None:
    with pytest.raises(v.ValidationError, match=message) as info:
        v.check_id(value, "customer_id", LIMITS)
    assert info.value.field == "customer_id"


def test_id_limit_is_configurable() -> None:
    assert v.check_id("x" * 128, "customer_id", LIMITS) == "x" * 128
    with pytest.raises(v.ValidationError, match="at most 8"):
        v.check_id("x" * 9, "customer_id", v.RequestLimits(max_id_length=8))


def test_k() -> None:
    assert v.check_k(0, 5, LIMITS) == 5
    assert v.check_k(50, 5, LIMITS) == 50
    for bad in (-1, 51, 500):
        message = rf"^k: must be 1\.\.50 \(0 = default\), got {bad}$"
        with pytest.raises(v.ValidationError, match=message):
            v.check_k(bad, 5, LIMITS)


def test_channel_and_event_type_name_the_known_values() -> None:
    with pytest.raises(v.ValidationError, match=r"^channel: unknown channel 'fax'; one of \['atm'"):
        v.check_channel("fax", ["mobile", "atm"])
    with pytest.raises(v.ValidationError, match=r"^events\[2\]\.type: unknown event type 'buy'"):
        v.check_event_type("buy", ["purchase", "view"], "events[2].type")


def test_request_id_generated_only_when_empty() -> None:
    assert v.request_id_or_new("abc", LIMITS) == "abc"
    generated = {v.request_id_or_new("", LIMITS) for _ in range(3)}
    assert len(generated) == 3 and all(len(g) == 32 for g in generated)


def test_context_limits() -> None:
    assert v.check_context({}, LIMITS) is None
    with pytest.raises(v.ValidationError, match=r"^context: has 33 entries; at most 32"):
        v.check_context({str(i): "1" for i in range(33)}, LIMITS)
    with pytest.raises(v.ValidationError, match=r"^context: key 'kkkk"):
        v.check_context({"k" * 65: "1"}, LIMITS)
    with pytest.raises(v.ValidationError, match=r"^context\['segment'\]: value is 257 characters"):
        v.check_context({"segment": "s" * 257}, LIMITS)


def test_lists() -> None:
    with pytest.raises(v.ValidationError, match=r"^customer_ids: must not be empty"):
        v.check_batch([], LIMITS)
    with pytest.raises(v.ValidationError, match=r"^customer_ids: has 1001 entries; at most 1000"):
        v.check_batch(["c"] * 1001, LIMITS)
    with pytest.raises(v.ValidationError, match=r"^exclude_product_ids\[1\]: must not be empty"):
        v.check_exclude(["p", ""], LIMITS)


@pytest.mark.parametrize("value", ["C1\x00", "C\n1", "C1\x1b[31m", "C\x7f1", "C\x851"])
def test_ids_with_control_characters_are_refused(value: str) -> None:
    with pytest.raises(v.ValidationError, match=r"^request_id: contains control characters"):
        v.check_id(value, "request_id", LIMITS)


def test_printable_unicode_ids_pass() -> None:
    for value in ("Müller-7", "客户42", "C 1", "💳-1"):
        assert v.check_id(value, "customer_id", LIMITS) == value


def test_a_huge_bad_value_is_not_echoed_whole() -> None:
    with pytest.raises(v.ValidationError) as info:
        v.check_channel("w" * 100_000, ["web"])
    assert len(str(info.value)) < 200 and "'wwww" in str(info.value)
    with pytest.raises(v.ValidationError) as info:
        v.check_event_type("e" * 100_000, ["view"], "events[0].type")
    assert len(str(info.value)) < 200


def test_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECSYS_LIMITS__MAX_K", "20")
    assert Settings().limits.max_k == 20
    assert Settings().limits.max_batch == LIMITS.max_batch
    with pytest.raises(PydanticValidationError, match="max_id_length"):
        v.RequestLimits(max_id_length=129)  # the store's id columns hold 128 characters


def test_batch_items_bound_customers_times_k() -> None:
    v.check_batch_items(300, 50, LIMITS)
    with pytest.raises(v.ValidationError, match=r"^customer_ids: 301 customers x k=50 is 15050"):
        v.check_batch_items(301, 50, LIMITS)
