"""The experiments pages in a real browser, on experiments made and fed through gRPC: the list,
the report (lift with its interval, p-values, SRM, guardrails, plot), marketing reading but
refused the conclusion by the server, and an admin concluding (the audit shows who)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Page, expect

from console.experiment_view import p_text, signed
from serving._proto.recsys.v1 import experiments_pb2 as xpb
from serving._proto.recsys.v1 import experiments_pb2_grpc as xpb_grpc
from serving._proto.recsys.v1 import recommendation_pb2 as rpb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as rpb_grpc
from tests.console.conftest import screenshot
from tests.console.servers import Stack
from tests.console.test_pages import PHONE
from tests.serving.trained import Trained

CUSTOMERS = 60
WAIT_S = 20.0


@dataclass(frozen=True)
class Running:
    experiment: xpb.Experiment
    report: xpb.ExperimentReport
    stub: xpb_grpc.ExperimentServiceStub


def metadata(stack: Stack, role: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {stack.key[role]}"),)


def run_experiment(stack: Stack, model: Trained, channel: str) -> Running:
    """A champion/control experiment on `channel`, made by the admin key over gRPC; customers
    visit, see a product and a third of them buy it; the report once it counts them all."""
    stub = xpb_grpc.ExperimentServiceStub(stack.grpc)
    arms = [xpb.ArmShare(name="champion", share=1), xpb.ArmShare(name="control", share=1)]
    made = stub.Create(
        xpb.CreateExperimentRequest(
            name=f"console-{channel}-{uuid.uuid4().hex[:6]}", arms=arms, channels=[channel]
        ),
        metadata=metadata(stack, "admin"),
        timeout=10,
    )
    recommend = rpb_grpc.RecommendationServiceStub(stack.grpc)
    app = metadata(stack, "channel")
    ids = [str(c) for c in model.loaded.engine.snapshot.customer_map.ids[:CUSTOMERS]]
    deadline = time.monotonic() + WAIT_S
    while True:  # every server process re-reads the running experiments each second
        first = recommend.Recommend(
            rpb.RecommendRequest(customer_id=ids[0], channel=channel), metadata=app, timeout=10
        )
        if first.experiment_id == made.id or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert first.experiment_id == made.id, "the server never routed to the experiment"
    events = []
    for i, customer in enumerate(ids):
        answer = recommend.Recommend(
            rpb.RecommendRequest(customer_id=customer, channel=channel), metadata=app, timeout=10
        )
        if not answer.items:
            continue
        shown = dict(customer_id=customer, product_id=answer.items[0].product_id, channel=channel)
        events.append(rpb.Event(type="impression", request_id=answer.request_id, **shown))
        if i % 3 == 0:
            events.append(rpb.Event(type="purchase", **shown))
    recommend.RecordEvents(rpb.RecordEventsRequest(events=events), metadata=app, timeout=30)
    # a later visit: the report's looks run to the last answer, so the purchases are plotted
    recommend.Recommend(
        rpb.RecommendRequest(customer_id=ids[1], channel=channel), metadata=app, timeout=10
    )
    ref = xpb.ExperimentRef(experiment_ref=made.id)
    deadline = time.monotonic() + WAIT_S
    while True:  # the decision log writes a moment after each answer
        report = stub.Report(ref, metadata=metadata(stack, "marketing"), timeout=30)
        counted = sum(a.assigned for a in report.arms) == len(ids)
        if counted and report.series[-1].rate > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert sum(a.assigned for a in report.arms) == len(ids)
    assert any(a.purchases for a in report.arms)
    return Running(made, report, stub)


def test_marketing_reads_the_report_but_cannot_conclude(
    sign_in: Callable[[str], Page], stack: Stack, model: Trained
) -> None:
    run = run_experiment(stack, model, "web")
    name = run.experiment.name
    page = sign_in("marketing")
    page.get_by_role("link", name="Experiments").click()
    row = page.get_by_role("row", name=name)
    expect(row).to_contain_text("running")
    expect(row).to_contain_text("champion 50%, control 50%")
    screenshot(page, "experiments")
    row.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=f"Experiment {name}")).to_be_visible()

    [control] = [a for a in run.report.arms if a.arm == "control"]
    lift = page.get_by_role("article").filter(
        has=page.get_by_role("heading", name="Control against the champion")
    )
    x = control.lift
    expect(lift).to_contain_text(
        f"{signed(x.absolute)} (95% interval {signed(x.ci_low)} to {signed(x.ci_high)})"
    )
    expect(lift).to_contain_text(f"Sequential p-value (always valid){p_text(x.sequential_p_value)}")
    expect(page.get_by_text("Sample ratio: no mismatch.")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)  # no SRM alarm
    guardrails = page.get_by_role("region", name="Guardrails per arm")
    for a in run.report.arms:  # suitability violations, the first cell: none in any arm
        expect(guardrails.get_by_role("row", name=a.arm).get_by_role("cell").first).to_have_text(
            "0"
        )
    # the server's own verdict: a champion/control experiment has no challenger to promote
    expect(page.get_by_text("the experiment has no challenger arm")).to_be_visible()
    arms = page.get_by_role("region", name="Arms")
    for a in run.report.arms:
        expect(arms.get_by_role("row", name=a.arm)).to_contain_text(f"{a.purchases:,}")
    expect(page.get_by_role("img", name=re.compile("Cumulative purchases"))).to_be_visible()
    expect(page.get_by_role("link", name="Conclude")).to_have_count(0)
    screenshot(page, "experiment")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "phone-experiment")

    # a POST with a good CSRF token reaches the server, whose role check refuses marketing
    token = page.locator("form.signout input[name=csrf_token]").get_attribute("value")
    reply = page.request.post(
        f"{stack.url}experiments/{run.experiment.id}/conclude",
        form={"csrf_token": token or "", "promote": ""},
    )
    assert reply.status == 403
    assert "PERMISSION_DENIED" in reply.text()
    ref = xpb.ExperimentRef(experiment_ref=run.experiment.id)
    after = run.stub.Get(ref, metadata=metadata(stack, "admin"), timeout=10)
    assert after.experiment.status == "running"


def test_an_admin_concludes_after_confirming(
    sign_in: Callable[[str], Page], stack: Stack, model: Trained
) -> None:
    run = run_experiment(stack, model, "branch")
    page = sign_in("admin")
    page.goto(f"{stack.url}experiments/{run.experiment.id}")
    page.get_by_role("link", name="Conclude…").click()
    expect(
        page.get_by_role("heading", name=f"Conclude experiment {run.experiment.name}?")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Guardrails")).to_be_visible()
    # no challenger arm: only "keep the champion" is offered
    expect(page.get_by_label("End it and keep the champion")).to_be_checked()
    expect(page.get_by_label(re.compile("make the challenger"))).to_have_count(0)
    page.get_by_label("Note for the audit trail").fill("control matched the champion")
    screenshot(page, "experiment-conclude")
    page.get_by_role("button", name="Conclude the experiment").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Experiment {run.experiment.name} concluded: kept the champion"
    )
    expect(page.get_by_role("heading", name=f"Experiment {run.experiment.name}")).to_contain_text(
        "concluded"
    )
    expect(page.get_by_role("link", name="Conclude…")).to_have_count(0)
    got = run.stub.Get(
        xpb.ExperimentRef(experiment_ref=run.experiment.id),
        metadata=metadata(stack, "admin"),
        timeout=10,
    )
    assert got.experiment.status == "concluded"
    last = got.history[-1]
    assert last.action == "conclude" and stack.key_name["admin"] in last.actor
    assert "control matched the champion" in last.note
    history = page.get_by_role("heading", name="History").locator("..")
    expect(history).to_contain_text(f"conclude by {last.actor}")
