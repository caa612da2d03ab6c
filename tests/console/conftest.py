"""Browser-test fixtures: one server + console per test process, a browser, signed-in pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.console.servers import SCREENSHOTS, Stack, chromium_path, running_stack
from tests.serving.trained import Trained, trained

DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def model(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """The serving tests' champion (item-kNN on a generated bank of 600)."""
    return trained(tmp_path_factory.getbasetemp() / "serving-model")


@pytest.fixture(scope="session")
def stack(model: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A real `recsys serve` (auth on) and `recsys console` on free ports."""
    with running_stack(model, tmp_path_factory.mktemp("console")) as found:
        yield found


# Package scope, not session: Playwright's sync API keeps an event loop marked running in
# this thread while it is open, so a later test's asyncio.run() on the same worker would fail.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's Chromium under Playwright (its own browser download cannot work here)."""
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) at 1280x800."""
    made = browser.new_context(viewport=DESKTOP)
    made.set_default_timeout(15_000)
    yield made
    made.close()


@pytest.fixture
def sign_in(context: BrowserContext, stack: Stack) -> Callable[[str], Page]:
    """sign_in(role) -> a page signed in with that role's key, on the offers page."""

    def signed_in(role: str) -> Page:
        page = context.new_page()
        page.goto(stack.url + "sign-in")
        page.get_by_label("API key").fill(stack.key[role])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Offers", exact=True)).to_be_visible()
        return page

    return signed_in


def screenshot(page: Page, name: str) -> None:
    """Save the whole page as SCREENSHOTS/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
