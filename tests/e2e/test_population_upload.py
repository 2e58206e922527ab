"""A Warszawa city lead uploads a population layer on the Coverage page in Chromium: the preview
(residents per district, age bands, residents outside), then the figures stored on confirm."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from shapely.geometry import Point

from opportunities.coverage.boundaries import load_districts
from opportunities.db.connection import open_database
from opportunities.db.queries import find_city
from tests.browser import screenshot_path
from tests.e2e.conftest import FIRST_LOAD_TIMEOUT_MS, AppServer
from tests.e2e.test_accessibility import axe_violations

pytestmark = pytest.mark.browser
SCREENS = Path("/tmp/screens/population")


def layer(folder: Path) -> Path:
    """Census points in Warszawa (Śródmieście, Mokotów, Praga-Północ) and one in Kraków, in Polish CS92."""
    path = folder / "ludnosc.geojson"
    gpd.GeoDataFrame(
        {"ludnosc": [1200, 800, 500, 99], "population_teens": [100, 60, 40, 9]},
        geometry=[Point(21.012, 52.231), Point(21.020, 52.190), Point(21.035, 52.260), Point(19.94, 50.06)],
        crs=4326,
    ).to_crs(2180).to_file(path, driver="GeoJSON")
    return path


def open_coverage(browser: Browser, app_server: AppServer, token: str, width: int, locale: str, scheme: str) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 1400}, locale=locale, color_scheme=scheme,  # type: ignore[arg-type]
                                  extra_http_headers={"Accept-Language": locale})  # fmt: skip
    context.add_cookies([{"name": "col_session", "value": token, "url": app_server.url}])
    page = context.new_page()
    page.goto(f"{app_server.url}/coverage?lang={locale[:2]}")  # Chromium sends no locale on the websocket
    return page


def shot(page: Page, name: str, at: Locator) -> None:
    """A screenshot with ``at`` in view (Streamlit scrolls inside the page: a full-page one shows only the top)."""
    page.wait_for_timeout(800)
    at.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    page.screenshot(path=screenshot_path(name))
    SCREENS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot_path(name), SCREENS / f"{name}.png")


@pytest.mark.parametrize(("width", "locale", "scheme", "outside", "confirm", "stored"), [
    (1280, "en-GB", "light", "99 residents of the layer are in no district of Warszawa", "Replace the residents of Warszawa",
     "Residents of 18 districts stored."),
    (390, "pl-PL", "dark", "Mieszkańcy warstwy poza wszystkimi dzielnicami miasta Warszawa: 99.", "Zastąp liczby mieszkańców: Warszawa",
     "Zapisano mieszkańców dzielnic: 18."),
])  # fmt: skip
def test_a_lead_previews_and_stores_a_population_layer(browser: Browser, app_server: AppServer, lead_token: str, tmp_path: Path,
                                                        width: int, locale: str, scheme: str, outside: str, confirm: str,
                                                        stored: str) -> None:  # fmt: skip
    page = open_coverage(browser, app_server, lead_token, width, locale, scheme)
    uploaders = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    expect(uploaders).to_have_count(2, timeout=FIRST_LOAD_TIMEOUT_MS)
    uploaders.nth(1).set_input_files(str(layer(tmp_path)))
    expect(page.get_by_text(outside)).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    expect(
        page.get_by_text(
            "2,500 residents in 18 districts" if locale == "en-GB" else "w dzielnicach: 18, układ współrzędnych EPSG:2180"
        )
    ).to_be_visible()
    shot(page, f"population-preview-{width}-{locale}-{scheme}", page.get_by_role("button", name=confirm))
    serious = [v for v in axe_violations(page) if v.get("impact") in ("serious", "critical")]
    assert not serious, serious
    page.get_by_role("button", name=confirm).click()
    expect(page.get_by_text(stored)).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    # The page is drawn anew from the stored figures: the file has left the box, and its preview too.
    expect(page.get_by_role("button", name=confirm)).to_have_count(0)
    expect(page.get_by_test_id("stFileUploaderFile")).to_have_count(0)
    shot(page, f"population-stored-{width}-{locale}-{scheme}", page.get_by_text(stored))
    page.context.close()
    engine = open_database(app_server.database_url)
    with engine.connect() as conn:
        city = find_city(conn, "Warszawa", "PL")
        assert city is not None and city.id is not None
        districts = load_districts(conn, [city.id])
    engine.dispose()
    assert sum(d.population or 0 for d in districts) == 2500
    assert sum(d.population_by_age.get("teens", 0) for d in districts) == 200


def test_a_bad_population_layer_shows_the_reason_and_changes_nothing(browser: Browser, app_server: AppServer, lead_token: str,
                                                                     tmp_path: Path) -> None:  # fmt: skip
    bad = tmp_path / "ludnosc.csv"
    bad.write_text("lat;lon;ludnosc\n52,23;21,01;-5\n", encoding="utf-8")
    page = open_coverage(browser, app_server, lead_token, 1280, "en-GB", "light")
    uploaders = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    expect(uploaders).to_have_count(2, timeout=FIRST_LOAD_TIMEOUT_MS)
    uploaders.nth(1).set_input_files(str(bad))
    expect(page.get_by_text("This file cannot be used; nothing was changed.")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    expect(page.get_by_text("feature 1 has no population count in 'ludnosc'")).to_be_visible()
    expect(page.get_by_role("button", name="Replace the residents of Warszawa")).not_to_be_visible()
    shot(page, "population-bad-file-1280-en", page.get_by_text("This file cannot be used; nothing was changed."))
    page.context.close()
