"""Bulk upload and review in a real browser: a provider uploads a spreadsheet with good and bad rows,
checks the preview, stores it; the city lead approves one. Screenshots at 1280 and 390 px, in
Swedish and in the dark theme, and axe-core on both pages.

The accounts are made in the server's database and signed in with the session cookie that
ui/access.py reads (signing in through the form is the accounts tests' business).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from opportunities.accounts import accounts
from opportunities.accounts.identity import Role
from opportunities.db import queries, schema
from opportunities.db.connection import open_database, writing
from opportunities.listings.importing import Registry
from opportunities.model import Provider
from opportunities.places.geocoding import Geocoder
from opportunities.settings import load_settings
from opportunities.validation import TEMPLATE_COLUMNS
from tests.browser import journey_screenshot, outside_requests, require_axe, screenshot_path
from tests.conftest import template_row
from tests.e2e.conftest import FIRST_LOAD_TIMEOUT_MS, AppServer
from tests.e2e.test_accessibility import _RUN_AXE, FAILING_IMPACTS, WCAG_TAGS
from tests.e2e.test_explore import open_explore

pytestmark = pytest.mark.browser

ORGANISATION = "E2E Kodskola"
SCREENS = "reviewupload"


@dataclass
class Signed:
    provider_token: str
    lead_token: str
    database_url: str


@pytest.fixture(scope="module")
def signed(browser: Browser, app_server: AppServer, geocoder: Geocoder) -> Signed:
    settings = load_settings({"DATABASE_URL": app_server.database_url})
    engine = open_database(app_server.database_url)
    now = accounts.now_utc()
    with writing(engine) as conn:
        city_id, _name = Registry(conn, geocoder).city("Göteborg", "SE")
        org = queries.ensure_provider(conn, Provider(name=ORGANISATION), city_id)
        provider = accounts.add_user(
            conn, "kodskola@example.org", role=Role.PROVIDER, password=None, settings=settings, now=now, organisation_id=org
        )
        lead = accounts.add_user(
            conn, "lead@goteborg.example", role=Role.CITY_LEAD, password=None, settings=settings, now=now, city_ids=(city_id,)
        )
        tokens = (
            accounts.start_session(conn, provider.id, now, settings=settings),
            accounts.start_session(conn, lead.id, now, settings=settings),
        )
    engine.dispose()
    # The server's first session must start at app.py: until a session has run st.navigation,
    # Streamlit serves a deep link (/upload) from the pages/ folder without it.
    context = browser.new_context()
    open_explore(context.new_page(), app_server)
    context.close()
    return Signed(tokens[0], tokens[1], app_server.database_url)


def context_for(browser: Browser, server: AppServer, token: str, *, width: int = 1280, locale: str = "en-GB",
                scheme: str = "light") -> BrowserContext:  # fmt: skip
    context = browser.new_context(viewport={"width": width, "height": 1800}, locale=locale, color_scheme=scheme)  # type: ignore[arg-type]
    context.set_default_timeout(30_000)
    context.add_cookies([{"name": "col_session", "value": token, "url": server.url}])
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    context.requests = requests  # type: ignore[attr-defined]
    return context


def spreadsheet(tmp_path: Path) -> Path:
    rows = [
        template_row(title="E2E Robotklubb", provider=ORGANISATION, start="2027-01-13 17:00", end=""),
        template_row(title="E2E Без возраста", provider=ORGANISATION, age_min=""),
        template_row(title="E2E Målarverkstad", provider=ORGANISATION, start="2027-01-14 17:00", end=""),
        template_row(title="E2E Someone else's", provider="Another organisation", start="2027-01-15 17:00", end=""),
    ]
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(TEMPLATE_COLUMNS), delimiter=";")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "kodskola.csv"
    path.write_text(out.getvalue(), encoding="utf-8-sig")
    return path


def wait_ready(page: Page) -> None:
    expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=30_000)
    # Tables, text areas and the map are drawn by code loaded on first use: skeletons until then.
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=30_000)
    page.wait_for_timeout(500)
    exception = page.get_by_test_id("stException")
    if exception.count():
        pytest.fail(f"the page shows an error:\n{exception.first.inner_text()}")


def serious_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(require_axe()))
    found = page.evaluate(_RUN_AXE, WCAG_TAGS)
    for v in found:
        print(f"axe [{v['impact']}] {v['id']}: {v['help']} {[n['target'] for n in v['nodes']][:3]}")
    return [v for v in found if v["impact"] in FAILING_IMPACTS]


def test_upload_preview_confirm_then_review(browser: Browser, app_server: AppServer, signed: Signed, tmp_path: Path) -> None:
    context = context_for(browser, app_server, signed.provider_token)
    page = context.new_page()
    page.goto(f"{app_server.url}/upload")
    expect(page.get_by_role("heading", name="Upload opportunities")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    wait_ready(page)
    expect(page.get_by_test_id("stSidebarNav")).to_contain_text("Upload opportunities")  # app.py's navigation
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(spreadsheet(tmp_path)))
    expect(page.get_by_role("button", name="Store 2 opportunities")).to_be_visible(timeout=60_000)
    wait_ready(page)
    metrics = [m.inner_text() for m in page.get_by_test_id("stMetricValue").all()]
    assert metrics == ["2", "2", "0"]
    expect(page.get_by_role("button", name="Download the rejected rows")).to_be_visible()
    expect(page.get_by_text("Row 3: Youngest age (age_min): This is required.")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the rejected rows").click()
    rejected = download.value.path().read_text(encoding="utf-8-sig")
    assert (
        "E2E Без возраста" in rejected and "Row 5: Organisation (provider): names the provider 'Another organisation'" in rejected
    )
    assert serious_violations(page) == []
    page.screenshot(path=screenshot_path(f"{SCREENS}/upload-preview-1280"), full_page=True)
    journey_screenshot(page, "upload")  # a provider's bulk upload: the README's picture
    before = count(signed)
    page.get_by_role("button", name="Store 2 opportunities").click()
    expect(page.get_by_text("2 opportunities were stored.")).to_be_visible(timeout=60_000)
    wait_ready(page)
    page.screenshot(path=screenshot_path(f"{SCREENS}/upload-done-1280"), full_page=True)
    assert count(signed) == before + 2
    assert outside_requests(context.requests) == []  # type: ignore[attr-defined]
    context.close()

    lead = context_for(browser, app_server, signed.lead_token)
    page = lead.new_page()
    page.goto(f"{app_server.url}/review")
    expect(page.get_by_role("heading", name="Review submissions")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    wait_ready(page)
    expect(page.get_by_role("heading", name="E2E Robotklubb")).to_be_visible()
    assert serious_violations(page) == []
    page.screenshot(path=screenshot_path(f"{SCREENS}/review-1280"), full_page=True)
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text("Saved.")).to_be_visible(timeout=30_000)
    wait_ready(page)
    engine = open_database(signed.database_url)
    with engine.connect() as conn:
        status = conn.execute(
            select(schema.opportunities.c.status).where(schema.opportunities.c.title == "E2E Robotklubb")
        ).scalar_one()
    engine.dispose()
    assert status == "published"
    lead.close()


@pytest.mark.parametrize(("who", "width", "locale", "scheme"), [
    ("provider", 390, "sv-SE", "light"), ("provider", 1280, "pl-PL", "dark"),
    ("lead", 390, "sl-SI", "dark"), ("lead", 1280, "sv-SE", "dark"),
])  # fmt: skip
def test_pages_on_a_phone_in_another_language_and_dark(
    browser: Browser, app_server: AppServer, signed: Signed, who: str, width: int, locale: str, scheme: str
) -> None:
    token = signed.provider_token if who == "provider" else signed.lead_token
    context = context_for(browser, app_server, token, width=width, locale=locale, scheme=scheme)
    page = context.new_page()
    name = "upload" if who == "provider" else "review"
    page.goto(f"{app_server.url}/{name}?lang={locale[:2]}")  # Chromium sends no locale on the websocket
    expect(page.locator("h1").first).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    wait_ready(page)
    titles = {"sv-SE": ("Ladda upp aktiviteter", "Granska inskickade aktiviteter"), "pl-PL": ("Prześlij zajęcia", "Sprawdzanie zgłoszeń"),
              "sl-SI": ("Nalaganje dejavnosti", "Pregled oddanih dejavnosti")}  # fmt: skip
    expect(page.locator("h1").first).to_have_text(titles[locale][0 if who == "provider" else 1])
    assert serious_violations(page) == []
    page.screenshot(path=screenshot_path(f"{SCREENS}/{name}-{width}-{locale}-{scheme}"), full_page=True)
    context.close()


def count(signed: Signed) -> int:
    """How many opportunities the server's database holds."""
    engine = open_database(signed.database_url)
    with engine.connect() as conn:
        found = queries.count_opportunities(conn)
    engine.dispose()
    return found
