"""The offers pages in a real browser against real servers: create an offer through its
problems and a reach preview, see the server serve it, pause it, and read its stats."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import grpc
import numpy as np
import pytest
from playwright.sync_api import Page, expect

from recsys.columns import Columns as C
from recsys.offers.model import Action, Offer, Target
from serving._proto.recsys.v1 import recommendation_pb2 as rpb
from serving._proto.recsys.v1 import recommendation_pb2_grpc as rpb_grpc
from tests.console.conftest import screenshot
from tests.console.servers import REFRESH_S, Stack
from tests.serving.test_offers_processes import _eligible_customers
from tests.serving.trained import Trained

TIME = "%Y-%m-%dT%H:%M"
WITHIN_S = float(REFRESH_S) + 10.0  # the refresh, and time for the server to read it


def pick(model: Trained) -> tuple[str, str, list[str]]:
    """A low-risk product sold in mobile, the largest segment, and customers who can get it."""
    engine = model.loaded.engine
    cat = engine.catalog
    ok = (cat.risk_rating <= 1) & (cat.min_age <= 18) & ~cat.repeatable
    ok &= cat.sold_in[:, cat.channel_index("mobile")]
    product = str(engine.snapshot.product_map.ids[int(np.flatnonzero(ok)[0])])
    segment = str(engine.snapshot.customers[C.segment].mode()[0])
    return product, segment, _eligible_customers(model, product, segment)


def offered(stack: Stack, customer: str, name: str) -> bool:
    """Whether a Recommend in mobile for `customer` carries the offer named `name`."""
    stub = rpb_grpc.RecommendationServiceStub(stack.grpc)
    reply = stub.Recommend(
        rpb.RecommendRequest(customer_id=customer, channel="mobile"),
        metadata=(("authorization", f"Bearer {stack.key['channel']}"),),
        timeout=10,
    )
    return any(
        i.offer_id and name in [r.text.removeprefix("offer: ") for r in i.reasons]
        for i in reply.items
    )


def until(check: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within} s")
        time.sleep(0.25)


def fill_offer(
    page: Page, name: str, product: str, segment: str, start: datetime, end: datetime
) -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Product").select_option(product)
    page.get_by_label("Status when saved").select_option("active")
    page.get_by_label("Start (UTC)").fill(start.strftime(TIME))
    page.get_by_label("End (UTC)").fill(end.strftime(TIME))
    page.get_by_role("group", name="Channels").get_by_label("mobile").check()
    page.get_by_role("group", name="Segments").get_by_label(segment).check()


def test_create_preview_serve_pause_and_measure_an_offer(
    sign_in: Callable[[str], Page], stack: Stack, model: Trained
) -> None:
    product, segment, customers = pick(model)
    assert customers
    page = sign_in("marketing")
    page.get_by_role("link", name="New offer", exact=True).first.click()
    expect(page.get_by_role("heading", name="New offer")).to_be_visible()
    name = f"spring-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    # three problems at once: end before start, a share above 1, a pin at slot 0
    fill_offer(page, name, product, segment, now, now - timedelta(days=1))
    page.get_by_label("Pin position (1 = first slot)").fill("0")
    page.get_by_label("Largest share of an answer's slots (0-1]").fill("2")
    page.get_by_role("button", name="Create offer").click()
    expect(page.get_by_role("alert")).to_contain_text("3 problem(s)")
    end = page.get_by_label("End (UTC)")
    expect(end).to_have_attribute("aria-invalid", "true")
    expect(end).to_have_accessible_description(re.compile("is not after start"))
    share = page.get_by_label("Largest share of an answer's slots (0-1]")
    expect(share).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#err-action")).to_contain_text("position >= 1")
    screenshot(page, "offer-form-problems")

    # fixed, then the reach preview: the server's own count under the rules
    end.fill((now + timedelta(days=30)).strftime(TIME))
    share.fill("")
    page.get_by_label("Pin position (1 = first slot)").fill("1")
    page.get_by_role("button", name="Preview reach").click()
    reach = model.loaded.engine.reach(
        Offer(
            name=name,
            product_id=product,
            target=Target(segments=(segment,)),
            channels=("mobile",),
            start_at=now,
            end_at=now + timedelta(days=30),
            action=Action.pin,
            pin=1,
        ),
        now.date(),
    )
    text = page.locator("#reach-text")
    expect(text).to_contain_text(f"{reach.targeted:,} targeted")
    expect(text).to_contain_text(f"{reach.receivable:,} can")
    expect(page.get_by_role("alert")).to_have_count(0)  # the problems are gone
    screenshot(page, "offer-form-reach")
    page.get_by_role("button", name="Create offer").click()
    expect(page.get_by_role("status")).to_contain_text(f"Offer {name} created")
    expect(page.get_by_role("heading", name=f"Offer {name}")).to_contain_text("active")

    # the server serves it to an eligible customer within its refresh
    until(lambda: offered(stack, customers[0], name), WITHIN_S)

    # pause, after a confirmation; then it is gone from the answers
    page.get_by_role("link", name="Pause", exact=True).click()
    expect(page.get_by_role("heading", name=f"Pause offer {name}?")).to_be_visible()
    screenshot(page, "offer-pause-confirm")
    page.get_by_role("button", name="Pause the offer").click()
    expect(page.get_by_role("status")).to_contain_text("paused")
    until(lambda: not offered(stack, customers[0], name), WITHIN_S)

    # impressions reported by a channel show in its stats and its per-day chart
    offer_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    record_impressions(stack, offer_id, product, customers[:3])
    page.reload()
    stats = page.get_by_role("region", name="Performance per channel")
    expect(stats.get_by_role("row", name="mobile")).to_contain_text("3")
    expect(page.get_by_role("img", name="impressions per day")).to_be_visible()
    history = page.get_by_role("heading", name="History")
    expect(history).to_be_visible()
    expect(page.get_by_role("region", name="Changes of status:paused")).to_contain_text("paused")
    screenshot(page, "offer-page")

    # the list: filters, and the offer's row with its numbers
    page.get_by_role("link", name="Offers", exact=True).click()
    page.get_by_label("Status").select_option("paused")
    page.get_by_role("button", name="Filter").click()
    row = page.get_by_role("row", name=name)
    expect(row).to_contain_text("paused")
    expect(row).to_contain_text("3")  # impressions
    page.get_by_label("Status").select_option("ended")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("row", name=name)).to_have_count(0)


def record_impressions(stack: Stack, offer_id: str, product: str, customers: list[str]) -> None:
    stub = rpb_grpc.RecommendationServiceStub(stack.grpc)
    events = [
        rpb.Event(
            customer_id=c,
            product_id=product,
            type="impression",
            channel="mobile",
            offer_id=offer_id,
        )
        for c in customers
    ]
    try:
        stub.RecordEvents(
            rpb.RecordEventsRequest(events=events),
            metadata=(("authorization", f"Bearer {stack.key['channel']}"),),
            timeout=10,
        )
    except grpc.RpcError as exc:
        pytest.fail(f"RecordEvents: {exc.code()}: {exc.details()}")


def test_edit_changes_only_what_changed_and_the_history_shows_before_and_after(
    sign_in: Callable[[str], Page], model: Trained
) -> None:
    product, segment, _ = pick(model)
    page = sign_in("marketing")
    page.get_by_role("link", name="New offer", exact=True).first.click()
    name = f"edit-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    fill_offer(page, name, product, segment, now, now + timedelta(days=10))
    page.get_by_role("button", name="Create offer").click()
    expect(page.get_by_role("status")).to_contain_text("created")
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_label("Name")).to_have_value(name)  # the stored values fill the form
    page.get_by_label("Priority (higher wins)").fill("7")
    page.get_by_label("Impressions per customer").fill("2")
    page.get_by_label("within days").fill("7")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text(f"Offer {name} saved")
    changes = page.get_by_role("region", name=re.compile("^Changes of update"))
    expect(changes.get_by_role("row", name="priority")).to_contain_text("0")
    expect(changes.get_by_role("row", name="priority")).to_contain_text("7")
    expect(changes.get_by_role("row", name="cap_impressions")).to_contain_text("none2")
    expect(changes.get_by_role("row", name="cap_days")).to_contain_text("none7")
    expect(changes.get_by_role("row")).to_have_count(4)  # the header and the changed fields
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_role("button", name="Save changes").click()  # nothing changed: nothing saved
    expect(page.get_by_role("status")).to_have_text("Nothing changed.")
    screenshot(page, "offer-edited")
