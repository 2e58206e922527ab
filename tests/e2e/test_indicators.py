"""The Indicators page in headless Chromium: drawn charts and cards at desktop and phone widths, in
light and dark themes and in several languages, checked by axe-core (WCAG 2.1 AA); screenshots go
to /tmp/screens/ for a person to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from opportunities.coverage.reports import KEY_FIGURES
from tests.browser import require_axe, screenshot_path
from tests.e2e.conftest import FIRST_LOAD_TIMEOUT_MS, AppServer
from tests.e2e.test_accessibility import axe_violations, report
from tests.e2e.test_explore import open_explore

pytestmark = pytest.mark.browser

TITLES = {"en": "Indicators", "sv": "Nyckeltal", "sl": "Kazalniki", "pl": "Wskaźniki"}


def open_indicators(page: Page, app_server: AppServer, query: str, lang: str) -> None:
    # The app's entry first: the server's first visit loads the demo data (a longer wait).
    open_explore(page, app_server)
    page.goto(f"{app_server.url}/indicators?{query}&lang={lang}")
    expect(page.get_by_role("heading", name=TITLES[lang], exact=True)).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    expect(page.get_by_test_id("stMetric").first).to_be_visible()
    # The charts are drawn (Vega renders an SVG or a canvas per chart).
    expect(page.get_by_test_id("stVegaLiteChart").first.locator("canvas, svg").first).to_be_visible(timeout=30_000)
    expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=30_000)


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"])
def test_indicators_page_in_a_browser(page: Page, app_server: AppServer, color_scheme: str, viewport: dict[str, int]) -> None:
    require_axe()
    lang = {("light", 1280): "en", ("dark", 1280): "sv", ("light", 390): "pl", ("dark", 390): "sl"}[
        color_scheme, viewport["width"]
    ]
    query = "scope=city&name=Warszawa" if viewport["width"] == 1280 else "scope=region&name=Mazowsze"
    open_indicators(page, app_server, query, lang)
    # Every key figure has its card (waiting, as a person would, for the page to finish drawing).
    expect(page.get_by_test_id("stMetric")).to_have_count(len(KEY_FIGURES))
    expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(6)
    # Usable at 390 px: nothing wider than the window.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    page.screenshot(path=screenshot_path(f"indicators-{lang}-{viewport['width']}-{color_scheme}"), full_page=True)
    failing = report(f"{color_scheme} {lang} indicators", axe_violations(page, with_map=False))
    assert not failing, "serious or critical accessibility violations:\n" + "\n".join(failing)
