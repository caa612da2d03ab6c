"""apply_context: profiles for customers the snapshot does not know, parsed strictly."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.columns import Columns as C
from recsys.engine.profile import apply_context
from recsys.engine.snapshot import Snapshot
from recsys.engine.state import UNKNOWN_RISK_TOLERANCE, UNKNOWN_SEGMENT, batch_state
from tests.conftest import OCCUPATION, TINY_LAST_EVENT, tiny_bank_data

TODAY = date(2024, 7, 15)
FULL = {
    C.birth_year: "1990",
    C.segment: "affluent",
    C.risk_tolerance: "4",
    C.marketing_consent: "true",
    C.income_band: "high",
    C.region: "south",
}


@pytest.fixture(scope="module")
def tiny_snapshot() -> Snapshot:
    """Tiny bank (c4: risk tolerance 1, born 2001; extra column `occupation`)."""
    weights = {"purchase": 1.0, "close": 0.0, "apply": 0.5, "click": 0.1, "view": 0.05,
               "impression": 0.0}
    return Snapshot.build(tiny_bank_data(), weights=weights, half_life_days=None,
                          as_of=TINY_LAST_EVENT)


def test_unknown_customer_takes_the_profile_from_context(tiny_snapshot: Snapshot) -> None:
    state = batch_state(tiny_snapshot, ["c1", "new"])
    out = apply_context(state, [None, FULL], today=TODAY)
    row = out.features.row(1, named=True)
    assert row[C.customer_id] == "new"
    assert (row[C.birth_year], row[C.segment], row[C.risk_tolerance]) == (1990, "affluent", 4)
    assert (row[C.marketing_consent], row[C.income_band], row[C.region]) == (True, "high", "south")
    assert out.features.schema == state.features.schema  # dtypes kept
    assert out.customers.risk_tolerance.tolist() == [3, 4]
    assert out.customers.birth_year.tolist() == [1980, 1990]
    assert out.customers.marketing_consent.tolist() == [True, True]
    assert out.customers.segment.tolist() == ["mass", "affluent"]
    assert out.customers.age_known.tolist() == [True, True]
    assert out.features.row(0) == state.features.row(0)


def test_a_partial_context_keeps_cautious_defaults(tiny_snapshot: Snapshot) -> None:
    state = batch_state(tiny_snapshot, ["new"])
    out = apply_context(state, [{C.segment: "young", OCCUPATION: "pilot",
                                 C.joined_at: "2024-07-01"}], today=TODAY)
    assert out.customers.segment.tolist() == ["young"]
    assert out.customers.risk_tolerance.tolist() == [UNKNOWN_RISK_TOLERANCE]
    assert out.customers.marketing_consent.tolist() == [False]
    assert out.customers.age_known.tolist() == [False]
    assert out.features[OCCUPATION].to_list() == ["pilot"]
    assert out.features[C.joined_at].to_list() == [date(2024, 7, 1)]
    assert out.features[C.birth_year].to_list() == [None]


def test_known_customers_keep_the_banks_profile(tiny_snapshot: Snapshot) -> None:
    state = batch_state(tiny_snapshot, ["c4"])
    out = apply_context(state, [{C.risk_tolerance: "5", C.segment: "private"}], today=TODAY)
    assert out is state
    assert out.customers.risk_tolerance.tolist() == [1]
    with pytest.raises(ValueError, match="risk_tolerance"):  # still validated
        apply_context(state, [{C.risk_tolerance: "high"}], today=TODAY)


def test_no_context_changes_nothing(tiny_snapshot: Snapshot) -> None:
    state = batch_state(tiny_snapshot, ["new", "other"])
    out = apply_context(state, [None, {}], today=TODAY)
    assert out is state
    assert out.customers.segment.tolist() == [UNKNOWN_SEGMENT] * 2


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({C.risk_tolerance: "6"}, r"context\[risk_tolerance\]: 6 is outside 1-5"),
        ({C.risk_tolerance: "0"}, r"context\[risk_tolerance\]: 0 is outside 1-5"),
        ({C.risk_tolerance: "3.0"}, r"context\[risk_tolerance\]: '3.0' is not a whole number"),
        ({C.risk_tolerance: " 3"}, r"context\[risk_tolerance\]: ' 3' is not a whole number"),
        ({C.risk_tolerance: "9" * 5000}, r"'9{40}\.\.\.' is not a whole number"),
        ({C.birth_year: "1899"}, r"context\[birth_year\]: 1899 is outside 1900-2024"),
        ({C.birth_year: "2025"}, r"context\[birth_year\]: 2025 is outside 1900-2024"),
        ({C.birth_year: "19x0"}, r"context\[birth_year\]: '19x0' is not a whole number"),
        ({C.marketing_consent: "yes"}, r"context\[marketing_consent\]: 'yes' is not one of"),
        ({C.segment: "  "}, r"context\[segment\]: must not be empty"),
        ({C.joined_at: "2024/01/01"}, r"context\[joined_at\]: '2024/01/01' is not a date"),
        ({C.joined_at: "2024-02-30"}, r"context\[joined_at\]: '2024-02-30' is not a valid date"),
        ({C.joined_at: "2024-08-01"}, r"context\[joined_at\]: 2024-08-01 is in the future"),
        ({C.region: 7}, r"context\[region\]: values are strings, got int"),
    ],
)
def test_bad_values_name_the_key_and_value(
    tiny_snapshot: Snapshot, context: dict, message: str
) -> None:
    state = batch_state(tiny_snapshot, ["new"])
    with pytest.raises(ValueError, match=message):
        apply_context(state, [context], today=TODAY)


@pytest.mark.parametrize("key", ["favourite_colour", C.customer_id])
def test_unknown_keys_name_the_allowed_ones(tiny_snapshot: Snapshot, key: str) -> None:
    state = batch_state(tiny_snapshot, ["new"])
    with pytest.raises(ValueError, match=f"unknown key '{key}'; allowed keys: ") as err:
        apply_context(state, [{key: "x"}], today=TODAY)
    allowed = str(err.value).split("allowed keys: ")[1].split(", ")
    assert set(FULL) | {OCCUPATION, C.joined_at} == set(allowed)


def test_in_a_batch_the_error_names_the_customer(tiny_snapshot: Snapshot) -> None:
    state = batch_state(tiny_snapshot, ["a", "b"])
    with pytest.raises(ValueError, match=r"customer 'b': context\[risk_tolerance\]"):
        apply_context(state, [FULL, {C.risk_tolerance: "7"}], today=TODAY)


def test_one_context_per_customer(tiny_snapshot: Snapshot) -> None:
    state = batch_state(tiny_snapshot, ["a", "b"])
    with pytest.raises(ValueError, match="contexts has 1 entries for 2 customers"):
        apply_context(state, [None], today=TODAY)


CONTEXT_VALUES = {
    C.birth_year: ["1990", "2001", "1950"],
    C.segment: ["affluent", "young", "mass"],
    C.risk_tolerance: ["1", "3", "5"],
    C.marketing_consent: ["true", "false", "0"],
    C.income_band: ["high", "low"],
    C.region: ["south", "north"],
    C.joined_at: ["2024-07-01", "2010-01-31"],
    OCCUPATION: ["pilot", "nurse"],
}


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    customer=st.sampled_from(["new", "c1", "c4"]),
    context=st.one_of(
        st.none(),
        st.dictionaries(st.sampled_from(sorted(CONTEXT_VALUES)), st.just("")).flatmap(
            lambda keys: st.fixed_dictionaries(
                {k: st.sampled_from(CONTEXT_VALUES[k]) for k in keys}
            )
        ),
    ),
)
def test_one_customer_gets_the_state_it_gets_in_a_batch(
    tiny_snapshot: Snapshot, customer: str, context: dict[str, str] | None
) -> None:
    """A request's customer (one-row fast paths: features, context, rule inputs) == the same
    customer and context inside a batch (the frame paths)."""
    alone = apply_context(batch_state(tiny_snapshot, [customer]), [context], today=TODAY)
    batch = apply_context(
        batch_state(tiny_snapshot, ["c2", customer, "other"]), [None, context, FULL], today=TODAY
    )
    assert alone.features.schema == batch.features.schema
    assert alone.features.row(0) == batch.features.row(1)
    for name in ("birth_year", "risk_tolerance", "marketing_consent", "segment"):
        got, expected = getattr(alone.customers, name), getattr(batch.customers, name)
        assert got.dtype == expected.dtype and got.tolist() == expected.tolist()[1:2], name
    assert alone.customers.age_known.tolist() == batch.customers.age_known.tolist()[1:2]
