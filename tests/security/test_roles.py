"""Which role may call which method: the exact table, and open health/reflection."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys.security.roles import (
    ADMIN,
    CHANNEL,
    MARKETING,
    ROLES,
    allowed,
    check_role,
    is_open,
    roles_allowed,
)

REC = "/recsys.v1.RecommendationService/"
OFFER = "/recsys.v1.OfferService/"
TABLE = {
    # method: roles that may call it
    REC + "Recommend": {CHANNEL, ADMIN},
    REC + "RecommendBatch": {CHANNEL, ADMIN},
    REC + "SimilarProducts": {CHANNEL, ADMIN},
    REC + "RecordEvents": {CHANNEL, ADMIN},
    REC + "GetModelInfo": {ADMIN},
    OFFER + "CreateOffer": {MARKETING, ADMIN},
    OFFER + "ListOffers": {MARKETING, ADMIN},
    OFFER + "AnyMethodAddedLater": {MARKETING, ADMIN},
    "/recsys.v1.OfferServiceX/CreateOffer": {ADMIN},  # a prefix, not a substring match
    "/recsys.v1.AdminService/WhoAmI": {CHANNEL, MARKETING, ADMIN},
    "/recsys.v1.AdminService/GetCatalog": {MARKETING, ADMIN},
    "/recsys.v1.AdminService/ListModelVersions": {MARKETING, ADMIN},
    "/recsys.v1.AdminService/ListDecisions": {ADMIN},
    "/recsys.v1.AdminService/SomethingNew": {ADMIN},
    "/recsys.v2.RecommendationService/Recommend": {ADMIN},
    REC + "recommend": {ADMIN},  # method names are case-sensitive
}


@pytest.mark.parametrize("method", sorted(TABLE))
def test_each_role_calls_exactly_its_methods(method: str) -> None:
    assert {r for r in ROLES if allowed(r, method)} == TABLE[method]
    assert set(roles_allowed(method)) == TABLE[method]


def test_health_and_reflection_are_open_and_nothing_else() -> None:
    assert is_open("/grpc.health.v1.Health/Check")
    assert is_open("/grpc.health.v1.Health/Watch")
    assert is_open("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
    assert is_open("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
    assert not any(is_open(m) for m in TABLE)


@given(st.text(), st.text())
def test_an_unknown_role_may_call_nothing(role: str, method: str) -> None:
    if role not in ROLES:
        assert not allowed(role, method)


def test_check_role_names_the_choices() -> None:
    assert check_role("channel") == "channel"
    with pytest.raises(ValueError, match="channel, marketing, admin; got 'root'"):
        check_role("root")
