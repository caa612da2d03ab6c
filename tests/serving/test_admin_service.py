"""AdminService on a real server with auth required: who is calling, what each role may read,
the catalog of the serving snapshot, the registry's versions and a customer's decisions."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from recsys.columns import Columns as C
from recsys.stores.sql_events import SqlEventStore
from recsys.stores.sql_keys import open_key_store
from serving._proto.recsys.v1 import admin_pb2 as pb
from serving._proto.recsys.v1 import admin_pb2_grpc as pb_grpc
from serving._proto.recsys.v1 import recommendation_pb2 as rpb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as rpb_grpc
from serving.admin.models import Metric, paired_metrics
from serving.models.holder import ModelHolder
from serving.transport.server import ADMIN_SERVICE_NAME, build_server
from tests.serving.conftest import Running
from tests.serving.trained import Trained

ROLES = ("channel", "marketing", "admin")


@dataclass(frozen=True)
class Keyed:
    """A started server with auth on, a stub on it, and one clear key per role."""

    stub: pb_grpc.AdminServiceStub
    recommend: rpb_grpc.RecommendationServiceStub
    key: dict[str, str]
    name: dict[str, str]


def auth(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


@pytest.fixture(scope="module")
def keyed(model: Trained, store: SqlEventStore) -> Iterator[Keyed]:
    settings = model.settings.model_copy(update={"auth_required": True})
    keys = open_key_store(settings.resolved_database_url)
    suffix = uuid.uuid4().hex[:8]
    names = {role: f"admin-test-{role}-{suffix}" for role in ROLES}
    made = {role: keys.create(names[role], role)[1] for role in ROLES}
    holder = ModelHolder()
    holder.swap(model.loaded)
    server, port = build_server(settings, holder=holder, store=store)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Keyed(
            pb_grpc.AdminServiceStub(channel),
            rpb_grpc.RecommendationServiceStub(channel),
            made,
            names,
        )
    finally:
        channel.close()
        server.stop(None)
        keys.close()


def code_of(call: object, request: object, key: str) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call(request, metadata=auth(key), timeout=10)  # type: ignore[operator]
    return info.value.code()


@pytest.mark.parametrize("role", ROLES)
def test_who_am_i_names_every_valid_key(keyed: Keyed, role: str) -> None:
    me = keyed.stub.WhoAmI(pb.WhoAmIRequest(), metadata=auth(keyed.key[role]), timeout=10)
    assert (me.auth_required, me.role, me.name) == (True, role, keyed.name[role])
    assert keyed.key[role].split("_")[1] == me.key_id  # rk_<id>_<secret>


def test_who_am_i_refuses_a_bad_key(keyed: Keyed) -> None:
    bad = "rk_nothere_secret"
    assert code_of(keyed.stub.WhoAmI, pb.WhoAmIRequest(), bad) == grpc.StatusCode.UNAUTHENTICATED


def test_who_am_i_with_auth_off_says_so(running: Running) -> None:
    me = pb_grpc.AdminServiceStub(running.channel).WhoAmI(pb.WhoAmIRequest(), timeout=10)
    assert not me.auth_required and not me.role


def test_roles_of_the_admin_methods(keyed: Keyed) -> None:
    s = keyed.stub
    denied = grpc.StatusCode.PERMISSION_DENIED
    decisions = pb.ListDecisionsRequest(customer_id="C1")
    assert code_of(s.GetCatalog, pb.GetCatalogRequest(), keyed.key["channel"]) == denied
    assert code_of(s.ListDecisions, decisions, keyed.key["marketing"]) == denied
    assert code_of(s.ListDecisions, decisions, keyed.key["channel"]) == denied
    for role in ("marketing", "admin"):
        s.GetCatalog(pb.GetCatalogRequest(), metadata=auth(keyed.key[role]), timeout=10)
        s.ListModelVersions(
            pb.ListModelVersionsRequest(), metadata=auth(keyed.key[role]), timeout=10
        )
    s.ListDecisions(decisions, metadata=auth(keyed.key["admin"]), timeout=10)


def test_catalog_is_the_serving_snapshot(keyed: Keyed, model: Trained) -> None:
    found = keyed.stub.GetCatalog(
        pb.GetCatalogRequest(), metadata=auth(keyed.key["marketing"]), timeout=10
    )
    snapshot = model.loaded.engine.snapshot
    assert [p.product_id for p in found.products] == list(snapshot.product_map.ids)
    segments = sorted(snapshot.customers[C.segment].drop_nulls().unique().to_list())
    assert list(found.segments) == segments
    assert found.customers == len(snapshot.customer_map)
    assert list(found.channels) == list(model.settings.channels)
    assert found.model_version == model.loaded.version
    assert all(1 <= p.risk_rating <= 5 and p.name for p in found.products)


def test_model_versions_show_the_champion_and_its_baseline(keyed: Keyed, model: Trained) -> None:
    found = keyed.stub.ListModelVersions(
        pb.ListModelVersionsRequest(), metadata=auth(keyed.key["marketing"]), timeout=10
    )
    assert found.registered_model == model.settings.registered_model
    champion = [v for v in found.versions if "champion" in v.aliases]
    assert [str(v.version) for v in champion] == [str(model.outcome.version)]
    metrics = {m.name: (m.value, m.baseline) for m in champion[0].metrics}
    for name, value in model.outcome.metrics.items():
        assert metrics[name] == pytest.approx((value, model.outcome.baseline[name]))
    assert found.serving_version == model.loaded.version


def test_paired_metrics_keep_only_those_with_a_baseline() -> None:
    logged = {"ndcg_at_5": 0.3, "baseline_ndcg_at_5": 0.2, "rows_events": 9.0, "lift_x": 1.0}
    assert paired_metrics(logged) == (Metric("ndcg_at_5", 0.3, 0.2),)


def test_decisions_of_a_customer_after_recommend(keyed: Keyed, model: Trained) -> None:
    customer = model.loaded.engine.snapshot.customer_map.ids[7]
    asked = keyed.recommend.Recommend(
        rpb.RecommendRequest(customer_id=customer, channel="web", k=3),
        metadata=auth(keyed.key["channel"]),
        timeout=10,
    )
    request = pb.ListDecisionsRequest(customer_id=customer, limit=50)
    deadline = time.monotonic() + 10
    while True:  # the decision log writes from a queue, a moment after the answer
        found = keyed.stub.ListDecisions(request, metadata=auth(keyed.key["admin"]), timeout=10)
        mine = [d for d in found.decisions if d.request_id == asked.request_id]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(mine) == 1
    [d] = mine
    assert (d.channel, d.model_version) == ("web", asked.model_version)
    assert [i.product_id for i in d.items] == [i.product_id for i in asked.items]
    assert [r.text for r in d.items[0].reasons] == [r.text for r in asked.items[0].reasons]


def test_decisions_need_a_customer(keyed: Keyed) -> None:
    bad = pb.ListDecisionsRequest(customer_id=" ")
    code = code_of(keyed.stub.ListDecisions, bad, keyed.key["admin"])
    assert code == grpc.StatusCode.INVALID_ARGUMENT


def test_reflection_describes_the_admin_service(running: Running) -> None:
    database = ProtoReflectionDescriptorDatabase(running.channel)
    assert ADMIN_SERVICE_NAME == "recsys.v1.AdminService"  # the auth roles rely on this name
    described = DescriptorPool(database).FindServiceByName(ADMIN_SERVICE_NAME)
    names = {m.name for m in described.methods}
    assert names == {"WhoAmI", "GetCatalog", "ListModelVersions", "ListDecisions"}
