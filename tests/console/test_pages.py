"""The other pages in a real browser: 'Why was this shown?' (admin only), models, and what
every page owes its users (labelled fields, readable at 390 px wide)."""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import Page, expect

from serving._proto.recsys.v1 import recommendation_pb2 as rpb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as rpb_grpc
from tests.console.conftest import screenshot
from tests.console.servers import Stack
from tests.serving.trained import Trained

PHONE = {"width": 390, "height": 844}
PAGES = ("offers", "offers/new", "experiments", "models")


def test_an_admin_sees_why_a_customer_was_shown_what(
    sign_in: Callable[[str], Page], stack: Stack, model: Trained
) -> None:
    customer = str(model.loaded.engine.snapshot.customer_map.ids[3])
    stub = rpb_grpc.RecommendationServiceStub(stack.grpc)
    asked = stub.Recommend(
        rpb.RecommendRequest(customer_id=customer, channel="call_center", k=4),
        metadata=(("authorization", f"Bearer {stack.key['channel']}"),),
        timeout=10,
    )
    page = sign_in("admin")
    page.get_by_role("link", name="Why was this shown?").click()
    found = _look_up(page, customer, asked.request_id)
    decision = page.get_by_role("article").filter(has=found)
    expect(decision.get_by_role("heading")).to_contain_text(
        f"call_center · model {asked.model_version}"
    )
    items = decision.get_by_role("region", name="Items shown")
    for item in asked.items:
        expect(items.get_by_role("row", name=item.product_id)).to_contain_text(item.reasons[0].text)
    expect(decision).to_contain_text("Removed by rules:")
    expect(decision).not_to_contain_text("Unknown customer")
    screenshot(page, "why-was-this-shown")


def test_an_unknown_customers_decision_says_so(
    sign_in: Callable[[str], Page], stack: Stack
) -> None:
    stub = rpb_grpc.RecommendationServiceStub(stack.grpc)
    asked = stub.Recommend(
        rpb.RecommendRequest(customer_id="NEW-console-1", channel="web", k=3),
        metadata=(("authorization", f"Bearer {stack.key['channel']}"),),
        timeout=10,
    )
    assert asked.unknown_customer
    page = sign_in("admin")
    page.goto(stack.url + "customers")
    decision = page.get_by_role("article").filter(
        has=_look_up(page, "NEW-console-1", asked.request_id)
    )
    expect(decision).to_contain_text("Unknown customer: not in the model's snapshot")


def _look_up(page: Page, customer: str, request_id: str):
    """The customer's decisions, looked up until the one of `request_id` is there."""
    deadline = time.monotonic() + 10  # the decision log writes a moment after the answer
    while True:
        page.get_by_label("Customer id").fill(customer)
        page.get_by_role("button", name="Look up").click()
        found = page.get_by_text(f"Request {request_id}")
        if found.count() or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    expect(found).to_be_visible()
    return found


def test_marketing_is_refused_the_customer_page(
    sign_in: Callable[[str], Page], stack: Stack
) -> None:
    page = sign_in("marketing")
    expect(page.get_by_role("link", name="Why was this shown?")).to_have_count(0)
    reply = page.goto(stack.url + "customers?customer_id=C00000001")
    assert reply is not None and reply.status == 403
    expect(page.get_by_role("alert")).to_contain_text("for role admin")


def test_models_show_versions_aliases_and_the_baseline(
    sign_in: Callable[[str], Page], model: Trained
) -> None:
    page = sign_in("marketing")
    page.get_by_role("link", name="Models").click()
    version = page.get_by_role("article").filter(
        has=page.get_by_role("heading", name=f"Version {model.outcome.version}")
    )
    expect(version.get_by_role("heading")).to_contain_text("champion")
    name, value = next(iter(sorted(model.outcome.metrics.items())))
    row = version.get_by_role("row", name=name)
    expect(row).to_contain_text(f"{value:.4f}")
    expect(row).to_contain_text(f"{model.outcome.baseline[name]:.4f}")
    expect(page.get_by_role("link", name="Open it in the MLflow UI")).to_have_attribute(
        "href", "http://127.0.0.1:5000/#/models/bank-recsys"
    )
    screenshot(page, "models")


def test_every_form_field_has_a_label(sign_in: Callable[[str], Page], stack: Stack) -> None:
    page = sign_in("admin")
    for path in (*PAGES, "customers"):
        page.goto(stack.url + path)
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                .filter(e => e.type !== 'hidden' && e.labels.length === 0)
                .map(e => e.name)"""
        )
        assert unlabelled == [], (path, unlabelled)


def test_pages_fit_a_phone_screen(sign_in: Callable[[str], Page], stack: Stack) -> None:
    page = sign_in("admin")
    page.set_viewport_size(PHONE)
    for path in PAGES:
        page.goto(stack.url + path)
        # nothing wider than the screen but the tables' own scrolling regions
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
        screenshot(page, f"phone-{path.replace('/', '-')}")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(stack.url + "offers")
    screenshot(page, "offers")
