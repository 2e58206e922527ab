"""The Explore page in headless Chromium: load, filter, map clicks, hostile links, phone width.

Elements are found by role, label and text, and map features by Leaflet's own classes, so the
tests keep working as the page gains filters and views. Streamlit draws the folium map inside
an iframe.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote

import pytest
from playwright.sync_api import FrameLocator, Locator, Page, expect
from sqlalchemy import create_engine

from opportunities.search import SearchQuery, count
from tests.e2e.conftest import FIRST_LOAD_TIMEOUT_MS, AppServer, PageRecord

pytestmark = pytest.mark.browser

COUNT = re.compile(r"(\d+)\s+opportunit(?:y matches|ies match)")
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
# Whatever draws the points (folium's markercluster or the grid overview), each is a Leaflet marker.
MARKERS = ".leaflet-marker-icon"
CLUSTERS = ".marker-cluster, .col-cluster"
PINS = ".col-pin"
MAX_CLUSTER_CLICKS = 8


def published(app_server: AppServer, **filters: Any) -> int:
    """How many published opportunities match, whatever the date, in the server's own database.

    The page may narrow further (e.g. to what has not ended yet), so this is an upper bound.
    """
    engine = create_engine(app_server.database_url)
    try:
        with engine.connect() as conn:
            return count(conn, SearchQuery(**filters))
    finally:
        engine.dispose()


def summary(page: Page) -> Locator:
    return page.get_by_text(COUNT).first


def open_explore(page: Page, app_server: AppServer, query: str = "") -> int:
    """Open the page and wait until it shows its result count; returns that count."""
    page.goto(f"{app_server.url}/{query}")
    # An app error replaces the count: stop at once and show it, rather than time out.
    exception = page.get_by_test_id("stException")
    expect(summary(page).or_(exception).first).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    if exception.count():
        pytest.fail(f"the page shows an error:\n{exception.first.inner_text()}")
    return shown_count(page)


def shown_count(page: Page) -> int:
    found = COUNT.search(summary(page).inner_text())
    assert found, "no result count on the page"
    return int(found[1])


def count_text(n: int) -> re.Pattern[str]:
    return re.compile(rf"(^|\D){n}\s+opportunit")


def map_frame(page: Page) -> FrameLocator:
    frame = page.frame_locator(MAP_FRAME)
    expect(frame.locator(MARKERS).first).to_be_visible(timeout=30_000)
    return frame


# In the map's frame: the uncovered marker matching the selector nearest the middle of the map,
# clear of the edges where the zoom buttons, legend and attribution sit.
_PICK_MARKER = """(body, selector) => {
    const map = body.querySelector('.leaflet-container').getBoundingClientRect();
    const mx = map.left + map.width / 2, my = map.top + map.height / 2;
    let best = null;
    for (const el of body.querySelectorAll(selector)) {
        const r = el.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        if (x < map.left + 60 || x > map.right - 60 || y < map.top + 60 || y > map.bottom - 60) continue;
        if (!el.contains(document.elementFromPoint(x, y))) continue;  // under another marker
        const d = (x - mx) ** 2 + (y - my) ** 2;
        if (!best || d < best.d) best = {d: d, x: x, y: y, title: el.getAttribute('title') || ''};
    }
    return best;
}"""


def click_central(page: Page, selector: str) -> str | None:
    """Click the visible marker matching ``selector`` nearest the map's middle, as a visitor would.

    Returns its title, or None when there is no such marker.
    """
    iframe = page.locator(MAP_FRAME)
    iframe.evaluate("el => el.scrollIntoView({block: 'center'})")  # clear of Streamlit's sticky header
    marker = page.frame_locator(MAP_FRAME).locator("body").evaluate(_PICK_MARKER, selector)
    if marker is None:
        return None
    box = iframe.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + marker["x"], box["y"] + marker["y"])
    return str(marker["title"])


def test_page_shows_title_count_and_map(page: Page, app_server: AppServer) -> None:
    total = open_explore(page, app_server)
    expect(page.get_by_role("heading", name="Learning opportunities")).to_be_visible()
    assert 0 < total <= published(app_server)
    frame = map_frame(page)
    assert frame.locator(f"{CLUSTERS}, {PINS}").count() > 0
    expect(frame.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")


def test_city_filter_changes_count_and_link(page: Page, app_server: AppServer) -> None:
    before = open_explore(page, app_server)
    page.get_by_role("combobox", name="City").click()
    page.get_by_role("option", name="Kranj", exact=True).click()
    page.wait_for_url(re.compile(r"[?&]city=Kranj(&|$)"))
    expect(summary(page)).not_to_have_text(count_text(before))
    in_kranj = shown_count(page)
    assert 0 < in_kranj < before
    assert in_kranj <= published(app_server, city="Kranj")
    map_frame(page)

    # The link reproduces the view in a new session.
    link = page.url
    page.goto("about:blank")
    page.goto(link)
    expect(summary(page)).to_have_text(count_text(in_kranj), timeout=FIRST_LOAD_TIMEOUT_MS)
    expect(page.get_by_role("combobox", name="City")).to_have_value("Kranj")


def test_cluster_click_zooms_in_and_pin_opens_popup(page: Page, app_server: AppServer) -> None:
    open_explore(page, app_server)
    frame = map_frame(page)
    assert frame.locator(CLUSTERS).count() > 0, "the first view of everything should show clusters"
    scale = frame.locator(".leaflet-control-scale-line").first
    title: str | None = None
    for _ in range(MAX_CLUSTER_CLICKS):
        if frame.locator(PINS).count() > 0:
            title = click_central(page, PINS)
            if title is not None:
                break
        scale_before = scale.inner_text()
        assert click_central(page, CLUSTERS) is not None, "no uncovered cluster near the middle of the map"
        expect(scale).not_to_have_text(scale_before)  # zoomed in
        expect(frame.locator(MARKERS).first).to_be_visible()
        page.wait_for_timeout(700)  # the map reports its new view; the markers for that view follow
    else:
        pytest.fail(f"no pin near the middle of the map after {MAX_CLUSTER_CLICKS} cluster clicks")

    popup = frame.locator(".leaflet-popup-content")
    expect(popup).to_be_visible()
    expect(popup.locator("strong").first).to_have_text(title or re.compile(r"\S"))


def test_hostile_link_shows_warnings_and_runs_nothing(page: Page, app_server: AppServer, page_record: PageRecord) -> None:
    unfiltered = open_explore(page, app_server)
    hostile = "<script>alert(1)</script>"
    total = open_explore(page, app_server, f"?city={quote(hostile)}&age=abc")
    warnings = page.get_by_role("alert")
    expect(warnings.first).to_be_visible()
    texts = " ".join(warnings.all_inner_texts())
    assert "city" in texts.lower()
    assert "abc" in texts
    assert total == unfiltered  # the unusable values are ignored
    map_frame(page)
    page.wait_for_timeout(500)  # time for anything injected to run
    assert page_record.dialogs == []
    assert page.locator("script", has_text="alert(1)").count() == 0
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert "alert" not in unquote(page.url)  # the link the page keeps is clean


@pytest.mark.parametrize("viewport", [{"width": 375, "height": 812}], ids=["phone"])
def test_phone_width_has_no_sideways_scroll(page: Page, app_server: AppServer) -> None:
    open_explore(page, app_server)
    expect(summary(page)).to_be_in_viewport()
    map_frame(page)
    # Try to scroll sideways, the window and Streamlit's main scroll area alike: neither moves.
    offsets = page.evaluate(
        """() => {
            window.scrollTo(1000, window.scrollY);
            const main = document.querySelector('[data-testid="stMain"]');
            if (main) { main.scrollLeft = 1000; }
            return [window.scrollX, main ? main.scrollLeft : 0, document.documentElement.scrollWidth, window.innerWidth];
        }"""
    )
    assert offsets[:2] == [0, 0], offsets
    assert offsets[2] <= offsets[3], offsets
    box = page.locator(MAP_FRAME).bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 375
