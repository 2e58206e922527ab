"""Every page at its own address: a fresh server's first visit to a page's URL gets the whole app
(its menu, in the visitor's language), and a signed-out visitor following a link to a page for
accounts gets that page's sign-in prompt rather than Streamlit's "Page not found"."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser import screenshot_path
from tests.e2e.conftest import FIRST_LOAD_TIMEOUT_MS, AppServer, serve
from tests.e2e.test_explore import open_explore

pytestmark = pytest.mark.browser


def test_a_fresh_servers_first_visit_to_a_page_gets_the_app(page: Page, tmp_path: Path) -> None:
    with serve(tmp_path) as fresh:
        page.goto(f"{fresh.url}/indicators?lang=sv")
        expect(page.get_by_role("heading", name="Nyckeltal", exact=True)).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
        menu = page.get_by_test_id("stSidebarNav")
        expect(menu.get_by_role("link", name="Utforska")).to_be_visible(timeout=30_000)
        # Not the pages folder's file names, which Streamlit lists when it runs a page alone.
        expect(menu.get_by_role("link", name="explore", exact=True)).to_have_count(0)
        expect(page.locator("html")).to_have_attribute("lang", "sv")
        page.screenshot(path=screenshot_path("fresh-server-deep-link"), full_page=True)


@pytest.mark.parametrize(("path", "lang"), [("submit", "pl"), ("review", "sv"), ("account", "en")])
def test_a_signed_out_link_to_an_account_page_asks_to_sign_in(page: Page, app_server: AppServer, path: str, lang: str) -> None:
    open_explore(page, app_server)
    page.goto(f"{app_server.url}/{path}?lang={lang}")
    prompt = {
        "en": "Sign in to see this page.",
        "sv": "Logga in för att se den här sidan.",
        "pl": "Zaloguj się, aby zobaczyć tę stronę.",
    }
    expect(page.get_by_text(prompt[lang])).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    # The page is not in the menu of someone who cannot use it.
    menu = page.get_by_test_id("stSidebarNav")
    # The public pages only: the five there were, and the badges' Claim, My badges and Verify.
    expect(menu.get_by_role("link")).to_have_count(8)
    expect(page.locator("html")).to_have_attribute("lang", lang)
