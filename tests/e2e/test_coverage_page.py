"""The Coverage page in Chromium at desktop and phone width: the district map and the ranked table."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import FIRST_LOAD_TIMEOUT_MS, AppServer

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}])
def test_coverage_map_and_ranking(page: Page, app_server: AppServer) -> None:
    page.goto(f"{app_server.url}/coverage")
    expect(page.get_by_role("heading", name="Coverage")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
    # 18 dzielnice drawn as paths, and the legend.
    expect(frame.locator("path.leaflet-interactive").first).to_be_attached(timeout=FIRST_LOAD_TIMEOUT_MS)
    assert frame.locator("path.leaflet-interactive").count() >= 18
    desert = frame.get_by_text("Desert: nothing within 2 km")
    if page.viewport_size and page.viewport_size["width"] <= 480:
        # On a phone the legend starts folded, leaving the map free; its heading unfolds it.
        expect(desert).to_be_hidden()
        frame.locator("details.col-coverage-legend summary").click()
    expect(desert).to_be_visible()
    expect(page.get_by_text("Worst served first")).to_be_visible()
    expect(page.get_by_role("button", name="Map (HTML)")).to_be_visible()
