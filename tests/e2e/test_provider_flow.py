"""A provider's whole way onto the map, in a real browser: an organisation registers, a city lead
verifies it, the provider signs in and submits an opportunity with its pin moved on the small map,
the lead approves it, and young people find it on the Explore map and in its list.

Only the city lead is made in the database (leads are appointed, not registered); every other step
is a click or a keystroke in the browser.
"""

from __future__ import annotations

import re
import secrets
import time
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from opportunities.accounts import accounts
from opportunities.accounts.identity import Role
from opportunities.db import queries, schema
from opportunities.db.connection import open_database, writing
from opportunities.db.queries import list_cities
from opportunities.model import Provider
from opportunities.settings import load_settings
from tests.browser import outside_requests, screenshot_path
from tests.e2e.conftest import FIRST_LOAD_TIMEOUT_MS, AppServer
from tests.e2e.test_explore import MAP_FRAME, choose, open_explore
from tests.e2e.test_upload_review import context_for, serious_violations, wait_ready

pytestmark = pytest.mark.browser

ORGANISATION = "E2E Młodzieżowe Centrum Łódź-Kranj"
PROVIDER_EMAIL = "flow.provider@example.org"
LEAD_EMAIL = "flow.lead@kranj.example"
PASSWORD = "a long provider passphrase"
TITLE = "E2E Flow: Löten für Anfänger"
CITY, COUNTRY = "Kranj", "SI"
SCREENS = "flow"
# The live index refreshes every INDEX_REFRESH_S; a margin for a busy shared machine.
LISTED_WITHIN_S = 60


def new_context(browser: Browser, server: AppServer) -> BrowserContext:
    context = browser.new_context(viewport={"width": 1280, "height": 1800}, locale="en-GB")
    context.set_default_timeout(30_000)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    context.requests = requests  # type: ignore[attr-defined]
    return context


def sign_in(page: Page, server: AppServer, email: str, password: str) -> None:
    page.goto(f"{server.url}/sign_in")
    field = page.get_by_label("Email", exact=True)
    expect(field).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    field.fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("You are signed in as")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    # The server sets the cookie at /auth/session, where the page sends the browser after the message.
    start = time.monotonic()
    while not any(c["name"] == "col_session" for c in page.context.cookies()):
        assert time.monotonic() - start < 30, "the sign-in cookie was never written"
        page.wait_for_timeout(200)


def fill(page: Page, label: str, value: str) -> None:
    """Type into a text field and leave it, so Streamlit reruns with the value."""
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Tab")
    wait_ready(page)


def stored(server: AppServer, title: str = TITLE) -> tuple[int, str, str]:
    engine = open_database(server.database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                select(schema.opportunities.c.id, schema.opportunities.c.status, schema.opportunities.c.location_precision).where(
                    schema.opportunities.c.title == title
                )
            ).one()
    finally:
        engine.dispose()
    return int(row.id), str(row.status), str(row.location_precision)


def test_register_verify_submit_with_a_moved_pin_approve_and_find_it(browser: Browser, app_server: AppServer) -> None:
    # Names of this try's own: a rerun of a failed try registers afresh instead of meeting its leftovers.
    run = secrets.token_hex(3)
    organisation, provider_email, title = f"{ORGANISATION} {run}", f"flow.provider.{run}@example.org", f"{TITLE} {run}"
    # The entry point first: a fresh server runs pages/ scripts alone until app.py has run once.
    context = new_context(browser, app_server)
    open_explore(context.new_page(), app_server)
    context.close()
    settings = load_settings({"DATABASE_URL": app_server.database_url})
    engine = open_database(app_server.database_url)
    with writing(engine) as conn:
        city_id = next(c.id for c in list_cities(conn) if c.name == CITY and c.id is not None)
        assert city_id is not None
        if accounts.find_user(conn, LEAD_EMAIL) is None:  # a rerun finds the lead of the first try
            accounts.add_user(conn, LEAD_EMAIL, role=Role.CITY_LEAD, password=PASSWORD, settings=settings,
                              now=accounts.now_utc(), city_ids=(city_id,))  # fmt: skip
    engine.dispose()

    # 1. The organisation registers.
    context = new_context(browser, app_server)
    page = context.new_page()
    page.goto(f"{app_server.url}/register")
    expect(page.get_by_role("heading", name="Register an organisation")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    wait_ready(page)
    page.get_by_label("Name", exact=True).fill(organisation)
    choose(page, "City", f"{CITY} ({COUNTRY})")
    page.get_by_label("Contact email shown with your listings", exact=True).fill("info@centrum.example")
    page.get_by_label("Your email", exact=True).fill(provider_email)
    page.get_by_label("Choose a password", exact=True).fill(PASSWORD)
    page.get_by_label("The password again", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text("Open it within 7 days to confirm your address")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    # 1b. The link mailed to the address confirms it (and signs the provider in).
    engine = open_database(app_server.database_url)
    with engine.connect() as conn:
        body = conn.execute(
            select(schema.mail_outbox.c.body).where(schema.mail_outbox.c.recipient == provider_email)
        ).scalar_one()
    engine.dispose()
    link = re.search(r"confirm=([\w-]+)", body)
    assert link is not None
    page.goto(f"{app_server.url}/sign_in?confirm={link.group(1)}")
    expect(page.get_by_text("You are signed in as")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    context.close()

    # 2. The city lead verifies it.
    lead = new_context(browser, app_server)
    page = lead.new_page()
    sign_in(page, app_server, LEAD_EMAIL, PASSWORD)
    page.goto(f"{app_server.url}/review")
    expect(page.get_by_role("heading", name="Review submissions")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    wait_ready(page)
    page.get_by_role("tab", name="Provider organisations").click()
    expect(page.get_by_text(organisation).first).to_be_visible()
    page.get_by_role("button", name="Verify organisation").click()
    expect(page.get_by_text("Saved.")).to_be_visible(timeout=30_000)
    wait_ready(page)

    # 3. The provider signs in and submits, with the pin moved on the small map.
    provider = new_context(browser, app_server)
    page = provider.new_page()
    sign_in(page, app_server, provider_email, PASSWORD)
    page.goto(f"{app_server.url}/submit")
    expect(page.get_by_role("heading", name="Submit an opportunity")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    wait_ready(page)
    expect(page.get_by_text("not verified yet")).to_have_count(0)
    fill(page, "Title *", title)
    choose(page, "Topics *", "Science and technology")
    page.keyboard.press("Escape")
    wait_ready(page)
    choose(page, "Kind of activity *", "Workshop")
    wait_ready(page)
    choose(page, "Where it happens *", "In person")
    wait_ready(page)
    fill(page, "Youngest age *", "13")
    for part, value in (("day", "20"), ("month", "01"), ("year", "2027")):  # the date field's segments
        segment = page.get_by_role("spinbutton", name=f"{part}, Start *")
        segment.click()
        segment.press_sequentially(value)
    page.keyboard.press("Tab")
    wait_ready(page)
    choose(page, "Country *", "Slovenia")
    wait_ready(page)
    fill(page, "City *", CITY)
    frame = page.frame_locator(MAP_FRAME)
    leaflet = frame.locator(".leaflet-container")
    expect(leaflet).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    wait_ready(page)
    box = leaflet.bounding_box()
    assert box is not None
    # Off the middle (where the pin sits) and clear of the zoom buttons and attribution.
    leaflet.click(position={"x": box["width"] * 0.7, "y": box["height"] * 0.35})
    expect(page.get_by_text("Placed where you put the pin.")).to_be_visible(timeout=30_000)
    wait_ready(page)
    assert serious_violations(page) == []
    page.screenshot(path=screenshot_path(f"{SCREENS}/submit-filled-1280"), full_page=True)
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_text("Sent for review.")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    opportunity_id, status, precision = stored(app_server, title)
    assert (status, precision) == ("pending", "provided")  # placed by the provider's pin, not the city centre
    page.goto(f"{app_server.url}/my_opportunities")
    expect(page.get_by_text(title).first).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    wait_ready(page)
    assert serious_violations(page) == []
    page.screenshot(path=screenshot_path(f"{SCREENS}/my-opportunities-1280"), full_page=True)

    # 4. The city lead approves it.
    page = lead.new_page()
    page.goto(f"{app_server.url}/review")
    expect(page.get_by_role("heading", name="Review submissions")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    wait_ready(page)
    choose(page, "Review one", next(o for o in _review_labels(page) if title in o))
    wait_ready(page)
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text("Saved.")).to_be_visible(timeout=30_000)
    assert stored(app_server, title)[1] == "published"

    # 5. A visitor finds it in the list and on the map, at the moved pin.
    visitor = new_context(browser, app_server)
    page = visitor.new_page()
    start = time.monotonic()
    while True:
        open_explore(page, app_server, f"?q={quote('Löten für Anfänger')}")
        if page.get_by_text(title).count() > 0 or time.monotonic() - start > LISTED_WITHIN_S:
            break
        time.sleep(1)  # the index refreshes on its own clock; each visit asks anew
    expect(page.get_by_text(title).first).to_be_visible()
    markers = page.frame_locator(MAP_FRAME).locator(".leaflet-marker-icon")
    expect(markers.first).to_be_visible(timeout=30_000)
    page.screenshot(path=screenshot_path(f"{SCREENS}/explore-found-1280"), full_page=True)
    for ctx in (lead, provider, visitor):
        assert outside_requests(ctx.requests) == []  # type: ignore[attr-defined]
        ctx.close()
    assert opportunity_id > 0


def _review_labels(page: Page) -> list[str]:
    box = page.get_by_role("combobox", name="Review one", exact=True)
    box.click()
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    labels = [o.inner_text() for o in options.all()]
    page.keyboard.press("Escape")
    return [re.sub(r"\s+", " ", label).strip() for label in labels]


@pytest.mark.parametrize(
    ("width", "locale", "scheme"), [(1280, "en-GB", "light"), (390, "en-GB", "light"), (1280, "pl-PL", "dark")]
)
def test_provider_and_lead_pages_look_right(
    browser: Browser, app_server: AppServer, width: int, locale: str, scheme: str
) -> None:
    """Screenshots of the new pages (looked at by a person), each free of errors and of serious axe-core findings."""
    settings = load_settings({"DATABASE_URL": app_server.database_url})
    context = new_context(browser, app_server)
    open_explore(context.new_page(), app_server)
    context.close()
    engine = open_database(app_server.database_url)
    with writing(engine) as conn:
        city_id = next(c.id for c in list_cities(conn) if c.name == CITY and c.id is not None)
        assert city_id is not None
        org = queries.ensure_provider(conn, Provider(name="E2E Looks Organisation"), city_id)
        now = accounts.now_utc()
        provider = accounts.add_user(conn, f"looks.{width}.{locale}@example.org", role=Role.PROVIDER, password=None,
                                     settings=settings, now=now, organisation_id=org)  # fmt: skip
        lead = accounts.add_user(conn, f"looks.lead.{width}.{locale}@example.org", role=Role.CITY_LEAD, password=None,
                                 settings=settings, now=now, city_ids=(city_id,))  # fmt: skip
        tokens = {
            "provider": accounts.start_session(conn, provider.id, now, settings=settings),
            "lead": accounts.start_session(conn, lead.id, now, settings=settings),
        }
    engine.dispose()
    for who, pages in (("provider", ("submit", "my_opportunities", "upload", "account")), ("lead", ("review",))):
        context = context_for(browser, app_server, tokens[who], width=width, locale=locale, scheme=scheme)
        page = context.new_page()
        for name in pages:
            page.goto(f"{app_server.url}/{name}?lang={locale[:2]}")  # Chromium sends no locale on the websocket
            expect(page.locator("h1, h2").first).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
            wait_ready(page)
            expect(page.get_by_role("dialog", name="Page not found")).to_have_count(0)
            if name in ("submit", "my_opportunities"):
                assert serious_violations(page) == [], name
            page.screenshot(path=screenshot_path(f"{SCREENS}/{name}-{width}-{locale}-{scheme}"), full_page=True)
        context.close()
