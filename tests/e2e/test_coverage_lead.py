"""The Coverage page for a signed-in city lead of Warszawa in Chromium: their city with pending
listings, at desktop and phone width, in Polish and in the dark theme, checked by axe-core."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser import journey_screenshot, screenshot_path
from tests.e2e.conftest import FIRST_LOAD_TIMEOUT_MS, AppServer
from tests.e2e.test_accessibility import axe_violations

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("width", "locale", "scheme", "heading", "scope"), [
    (1280, "en-GB", "light", "Coverage", "Published and pending opportunities of your cities."),
    (390, "en-GB", "light", "Coverage", "Published and pending opportunities of your cities."),
    (1280, "pl-PL", "dark", "Pokrycie", "Opublikowane i oczekujące oferty w Twoich miastach."),
])  # fmt: skip
def test_a_city_lead_sees_their_city(browser: Browser, app_server: AppServer, lead_token: str, width: int, locale: str,
                                     scheme: str, heading: str, scope: str) -> None:  # fmt: skip
    context = browser.new_context(viewport={"width": width, "height": 1400}, locale=locale, color_scheme=scheme,  # type: ignore[arg-type]
                                  extra_http_headers={"Accept-Language": locale})  # fmt: skip
    context.add_cookies([{"name": "col_session", "value": lead_token, "url": app_server.url}])
    page = context.new_page()
    page.goto(f"{app_server.url}/coverage?lang={locale[:2]}")  # Chromium sends no locale on the websocket
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    expect(page.get_by_text(scope)).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
    expect(frame.locator("path.leaflet-interactive").first).to_be_attached(timeout=FIRST_LOAD_TIMEOUT_MS)
    page.wait_for_timeout(1500)
    page.screenshot(path=screenshot_path(f"coverage-lead-{width}-{locale}-{scheme}"), full_page=True)
    if (width, locale) == (1280, "en-GB"):
        journey_screenshot(page, "coverage")  # a city lead's own city: the README's picture
    serious = [v for v in axe_violations(page) if v.get("impact") in ("serious", "critical")]
    context.close()
    assert not serious, serious


def test_a_bad_boundary_file_shows_the_reason_and_changes_nothing(browser: Browser, app_server: AppServer, lead_token: str,
                                                                  tmp_path: Path) -> None:  # fmt: skip
    bad = tmp_path / "dzielnice.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    context = browser.new_context(
        viewport={"width": 1280, "height": 1400}, locale="pl-PL", extra_http_headers={"Accept-Language": "pl-PL"}
    )
    context.add_cookies([{"name": "col_session", "value": lead_token, "url": app_server.url}])
    page = context.new_page()
    page.goto(f"{app_server.url}/coverage?lang=pl")
    expect(page.get_by_text("Granice dzielnic: Warszawa")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    # Every page says its language to the browser, and Streamlit's own drop zone speaks Polish too
    # and names the boundary files' limit, not Streamlit's global one.
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    zone = page.get_by_test_id("stFileUploaderDropzone").first  # the boundary file's (the population layer's is next)
    expect(zone.get_by_test_id("stBaseButton-secondary")).to_have_text(re.compile("Prześlij$"))
    expect(zone.get_by_test_id("stFileUploaderDropzoneInput")).to_have_attribute("aria-label", "wybierz plik")
    expect(zone).to_contain_text("20MB")
    zone.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(bad))
    expect(page.get_by_text("Nie można użyć tego pliku; nic nie zostało zmienione.")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    # The reason itself is in Polish (the reader's language), the file's name as it was.
    expect(page.get_by_text("dzielnice.geojson: nie da się odczytać jako danych geograficznych")).to_be_visible()
    expect(page.get_by_role("button", name="Zastąp dzielnice: Warszawa")).not_to_be_visible()
    page.screenshot(path=screenshot_path("coverage-lead-bad-boundary-file"), full_page=True)
    context.close()
