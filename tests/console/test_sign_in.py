"""Sign in and out in a real browser: marketing and admin keys get in, a channel key and a bad
key are refused with a clear message, and a POST without the CSRF token is refused (403)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from tests.console.conftest import screenshot
from tests.console.servers import Stack


def submit_key(page: Page, stack: Stack, key: str) -> None:
    page.goto(stack.url + "sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def test_a_marketing_key_signs_in_and_out(sign_in: Callable[[str], Page], stack: Stack) -> None:
    page = sign_in("marketing")
    header = page.get_by_role("banner")
    expect(header).to_contain_text(f"{stack.key_name['marketing']} (marketing)")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto(stack.url + "offers")  # signed out: back to the sign-in page
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_channel_key_is_refused_with_its_role_named(
    context: BrowserContext, stack: Stack
) -> None:
    page = context.new_page()
    submit_key(page, stack, stack.key["channel"])
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("has role channel")
    expect(alert).to_contain_text("marketing and admin keys")
    expect(page.get_by_label("API key")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "sign-in-refused")


def test_a_bad_key_is_refused(context: BrowserContext, stack: Stack) -> None:
    page = context.new_page()
    submit_key(page, stack, "rk_nothere_nosecret")
    expect(page.get_by_role("alert")).to_contain_text("not valid")


def test_sign_in_with_the_keyboard_alone(context: BrowserContext, stack: Stack) -> None:
    page = context.new_page()
    page.goto(stack.url + "sign-in")
    page.keyboard.press("Tab")  # the first stop is the skip link
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("API key")).to_be_focused()
    page.keyboard.type(stack.key["admin"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Offers", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Why was this shown?")).to_be_visible()  # admin's


def test_a_post_without_the_csrf_token_is_forbidden(
    sign_in: Callable[[str], Page], stack: Stack
) -> None:
    page = sign_in("marketing")
    # the browser's own cookie, a well-formed form, no token: the console must refuse it
    reply = page.request.post(stack.url + "offers/new", form={"name": "no-token"})
    assert reply.status == 403
    assert "CSRF" in reply.text()
    reply = page.request.post(
        stack.url + "offers/new", form={"name": "wrong", "csrf_token": "not-the-token"}
    )
    assert reply.status == 403


def test_session_cookie_is_http_only_and_strict(
    sign_in: Callable[[str], Page], context: BrowserContext
) -> None:
    sign_in("marketing")
    [cookie] = [c for c in context.cookies() if c["name"] == "recsys_console"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert not cookie["secure"]  # plain HTTP here; Secure under TLS (tests/console/test_units)
