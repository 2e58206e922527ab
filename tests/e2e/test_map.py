"""The map in headless Chromium: without tiles, on a phone, and by keyboard.

Tiles point at an unroutable port in every browser test (``LOCAL_TILE_URL``), so these tests see
the map as a visitor does when the tile server is down.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine

from maps.opportunity_map import build_map
from opportunities.db.queries import list_cities
from opportunities.model import Opportunity
from opportunities.vocabulary import Mode, OpportunityType, Precision, Status
from tests.browser import LOCAL_TILE_URL
from tests.e2e.conftest import AppServer
from tests.e2e.test_explore import (
    CLUSTERS,
    MAP_FRAME,
    MAX_CLUSTER_CLICKS,
    PINS,
    choose,
    click_central,
    map_frame,
    open_explore,
    settle,
    ui_text,
)

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "static"
PHONE = {"width": 390, "height": 844}


def has_class(name: str) -> re.Pattern[str]:
    """Matches a class attribute that lists ``name`` among its classes."""
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


def city_names(app_server: AppServer) -> list[str]:
    engine = create_engine(app_server.database_url)
    try:
        with engine.connect() as conn:
            return [c.name for c in list_cities(conn)]
    finally:
        engine.dispose()


@pytest.mark.parametrize("has_touch", [True])
@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_phone_map_without_tiles_names_cities_says_why_and_scrolls_the_page(page: Page, app_server: AppServer) -> None:
    open_explore(page, app_server, "?lang=pl", lang="pl")
    settle(page)
    frame = map_frame(page)
    notice = frame.locator(".col-map-notice")
    expect(notice).to_be_visible()
    expect(notice).to_have_text(ui_text("pl", "Map background could not be loaded; places and cities are still shown."))
    expect(notice).to_have_attribute("role", "status")
    expect(frame.locator("html")).to_have_attribute("lang", "pl")  # the map's frame speaks the page's language
    # Every city of the network is named on the map from our own data.
    names = city_names(app_server)
    assert names
    labels = frame.locator(".col-place-label")
    expect(labels).to_have_count(len(names))
    assert sorted(labels.evaluate_all("els => els.map(e => e.textContent)")) == sorted(names)
    # Crowded names give way to each other (the busiest city first), the rest are shown.
    shown = labels.evaluate_all("els => els.filter(e => e.firstChild.style.visibility !== 'hidden').map(e => e.textContent)")
    assert 0 < len(shown) <= len(names)
    # One finger scrolls the page: Leaflet's one-finger dragging is off, its pinch (two fingers) stays.
    container = frame.locator(".leaflet-container")
    expect(container).not_to_have_class(has_class("leaflet-touch-drag"))
    expect(container).to_have_class(has_class("leaflet-touch-zoom"))
    hint = frame.locator(".col-map-hint")
    expect(hint).to_have_text(ui_text("pl", "Use two fingers to move the map"))
    container.evaluate(
        """el => {
            const t = new Touch({identifier: 1, target: el, clientX: 100, clientY: 100});
            el.dispatchEvent(new TouchEvent("touchstart", {touches: [t], bubbles: true}));
            el.dispatchEvent(new TouchEvent("touchmove", {touches: [t], bubbles: true}));
        }"""
    )
    expect(hint).to_have_class(has_class("col-visible"))
    expect(hint).not_to_have_class(has_class("col-visible"), timeout=5_000)  # it fades out again


def test_clusters_zoom_in_with_enter_and_space(page: Page, app_server: AppServer) -> None:
    open_explore(page, app_server)
    settle(page)
    frame = map_frame(page)
    scale = frame.locator(".leaflet-control-scale-line").first
    for key in ("Enter", " "):
        cluster = frame.locator(CLUSTERS).first
        expect(cluster).to_have_attribute("role", "button")
        name = cluster.get_attribute("aria-label") or ""
        assert name.endswith("zoom in") and name.split()[0].replace(",", "").isdigit(), name
        before = scale.inner_text()
        cluster.focus()
        page.keyboard.press(key)
        expect(scale).not_to_have_text(before)  # zoomed in, as a click does
        settle(page)
        if frame.locator(CLUSTERS).count() == 0:
            break


def test_popup_of_a_pin_at_the_edge_stays_in_view_on_a_phone(browser: Browser, tmp_path: Path) -> None:
    """A pin tapped at the map's very edge opens its popup inside the map (autoPan, keepInView)."""
    pin = Opportunity(
        title="Kodklubb vid kanten", provider="Stadsbiblioteket", city="Göteborg", country="SE",
        topics=("digital-skills", "arts-culture"), age_min=12, age_max=16, mode=Mode.IN_PERSON,
        type=OpportunityType.CLUB, start=date(2026, 12, 2), latitude=57.7072,
        longitude=11.9668, precision=Precision.ADDRESS, url="https://example.org/kod", status=Status.PUBLISHED,
    )  # fmt: skip
    m = build_map([pin], tile_url=LOCAL_TILE_URL, tile_attribution="t", asset_base=STATIC.as_uri(), language="sv")
    path = tmp_path / "map.html"
    m.save(str(path))
    context = browser.new_context(viewport=PHONE, has_touch=True)
    try:
        page = context.new_page()
        page.goto(path.as_uri())
        marker = page.locator(".col-pin")
        expect(marker).to_have_count(1)
        # Put the pin 6 px from the map's right edge, then tap it.
        page.evaluate(
            """() => {
                const map = Object.values(window).find(v => v instanceof L.Map);
                const size = map.getSize();
                const pin = map.latLngToContainerPoint([57.7072, 11.9668]);
                map.panBy([pin.x - (size.x - 6), 0], {animate: false});
            }"""
        )
        box = marker.bounding_box()
        assert box is not None and box["x"] + box["width"] / 2 > PHONE["width"] - 20
        marker.tap()
        popup = page.locator(".leaflet-popup")
        expect(popup).to_be_visible()
        expect(popup).to_contain_text("Digitala färdigheter")
        expect(popup).to_contain_text("Konst och kultur")
        page.wait_for_timeout(600)  # the pan animation
        popup_box, map_box = popup.bounding_box(), page.locator(".leaflet-container").bounding_box()
        assert popup_box is not None and map_box is not None
        assert popup_box["x"] >= map_box["x"] and popup_box["x"] + popup_box["width"] <= map_box["x"] + map_box["width"]
        assert popup_box["y"] >= map_box["y"]
    finally:
        context.close()


# In the map's frame: the uncovered pin furthest right (but inside the map), as the visitor sees it.
_EDGE_PIN = """(body) => {
    const map = body.querySelector('.leaflet-container').getBoundingClientRect();
    let best = null;
    for (const el of body.querySelectorAll('.col-pin')) {
        const r = el.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        if (x > map.right - 10 || y < map.top + 60 || y > map.bottom - 60) continue;
        if (!el.contains(document.elementFromPoint(x, y))) continue;
        if (!best || x > best.x) best = {x: x, y: y, title: el.getAttribute('title') || ''};
    }
    return best;
}"""


@pytest.mark.parametrize("has_touch", [True])
@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_phone_popup_of_a_pin_near_the_edge_survives_the_pan(page: Page, app_server: AppServer) -> None:
    """The popup pans the map into view; the page then rebuilds the pins for the new view, and the
    popup must still be open, whole, inside the map."""
    open_explore(page, app_server, "?city=Kranj")
    settle(page)
    frame = map_frame(page)
    for _ in range(MAX_CLUSTER_CLICKS):
        if frame.locator(PINS).count() >= 3:
            break
        assert click_central(page, CLUSTERS) is not None, "no cluster to zoom into"
        settle(page)
    iframe = page.locator(MAP_FRAME)
    iframe.evaluate("el => el.scrollIntoView({block: 'center'})")
    pin = frame.locator("body").evaluate(_EDGE_PIN)
    assert pin is not None, "no pin on the map"
    box = iframe.bounding_box()
    assert box is not None
    page.touchscreen.tap(box["x"] + pin["x"], box["y"] + pin["y"])
    popup = frame.locator(".leaflet-popup")
    expect(popup).to_be_visible()
    page.wait_for_timeout(1_000)  # the pan, then the page's rerun for the new view
    settle(page)
    expect(popup).to_be_visible()
    expect(popup).to_contain_text(pin["title"])
    popup_box, map_box = popup.bounding_box(), frame.locator(".leaflet-container").bounding_box()
    assert popup_box is not None and map_box is not None
    assert map_box["x"] <= popup_box["x"] and popup_box["x"] + popup_box["width"] <= map_box["x"] + map_box["width"]


def _map_messages(frames: list[bytes]) -> list[int]:
    """The sizes of the messages, among the websocket ``frames`` the server sent, that carry the map (its layer)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    sizes = []
    for frame in frames:
        message = ForwardMsg()
        message.ParseFromString(frame)
        if message.WhichOneof("type") != "delta" or message.delta.WhichOneof("type") != "new_element":
            continue
        if message.delta.new_element.WhichOneof("type") == "component_instance":
            sizes.append(len(frame))
    return sizes


def test_a_filter_change_sends_the_map_layer_once(page: Page, app_server: AppServer) -> None:
    """Issue 16: after a redraw the map reports its new view, which reruns the map; that report
    (of the view the page fitted) sends no second layer, only Streamlit's reference to the first."""
    frames: list[bytes] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f) if isinstance(f, bytes) else None))
    open_explore(page, app_server)
    settle(page)
    for city in ("Ljubljana", "Warszawa"):
        frames.clear()
        choose(page, "City", city)
        settle(page)
        page.wait_for_timeout(2000)  # the map's report of its new view, and the rerun it asks for
        sent = _map_messages(frames)
        assert len(sent) == 1, f"choosing {city} sent the map {len(sent)} times ({sent} bytes)"
