"""Signing in, in a real browser: the sign-in survives a reload (the cookie), and signing out ends it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from opportunities.accounts import accounts
from opportunities.accounts.identity import Role
from opportunities.db.connection import open_database, writing
from opportunities.db.schema import sign_in_sessions
from opportunities.settings import load_settings
from tests.browser import screenshot_path
from tests.e2e.conftest import FIRST_LOAD_TIMEOUT_MS, AppServer

pytestmark = pytest.mark.browser
PASSWORD = "browser test passphrase"


def reload(page: Page) -> None:
    """Reload the page; once more when a navigation of the page's own aborted the first try
    (``net::ERR_ABORTED``, seen now and then on the session's starting code too)."""
    try:
        page.reload()
    except PlaywrightError as exc:
        if "ERR_ABORTED" not in str(exc):
            raise
        page.wait_for_load_state()
        page.reload()


def test_sign_in_survives_a_reload_and_sign_out_ends_it(page: Page, app_server: AppServer) -> None:
    engine = open_database(app_server.database_url)
    with writing(engine) as conn:
        if accounts.find_user(conn, "e2e.admin@example.org") is None:
            accounts.add_user(conn, "e2e.admin@example.org", role=Role.ADMIN, password=PASSWORD, settings=load_settings({}),
                              now=accounts.now_utc())  # fmt: skip
    # The entry point first: the server's first visit loads the demo data (a longer wait).
    page.goto(app_server.url)
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    page.goto(f"{app_server.url}/sign_in")
    email = page.get_by_label("Email", exact=True)
    expect(email).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    email.fill("E2E.Admin@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    # The page trades its one-minute ticket for the cookie at /auth/session, which sends the browser
    # back here: wait for that navigation to end, or the next one would abort it.
    with page.expect_navigation(url=re.compile(r".*/sign_in.*"), timeout=FIRST_LOAD_TIMEOUT_MS):
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("You are signed in as")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    page.goto(f"{app_server.url}/account")
    heading = page.get_by_role("heading", name="Your account")
    expect(heading).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    page.screenshot(path=screenshot_path("accounts-signed-in"), full_page=True)

    reload(page)  # a new Streamlit session: only the cookie knows who this is
    expect(heading).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    cookie = next(c for c in page.context.cookies() if c["name"] == "col_session")
    assert cookie["sameSite"] == "Strict" and cookie["httpOnly"] and cookie["path"] == "/"
    # Set by the server (web/session.py), HttpOnly: no script of the page, nor of a map frame, reads it.
    assert "col_session" not in page.evaluate("document.cookie")
    response = page.request.get(app_server.url)
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"

    page.get_by_role("button", name="Sign out").click()
    # Signed out, the menu offers Sign in again (the Account page is gone from it).
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    expect(page.get_by_role("link", name="Account", exact=True)).to_have_count(0)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(sign_in_sessions)).scalar_one() == 0
    reload(page)  # the cookie is gone, and its session with it
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    expect(heading).not_to_be_visible()
    engine.dispose()


def test_signing_in_from_a_page_that_asked_for_it_goes_back_to_that_page(page: Page, app_server: AppServer) -> None:
    engine = open_database(app_server.database_url)
    with writing(engine) as conn:
        if accounts.find_user(conn, "e2e.next@example.org") is None:
            accounts.add_user(conn, "e2e.next@example.org", role=Role.ADMIN, password=PASSWORD, settings=load_settings({}),
                              now=accounts.now_utc())  # fmt: skip
    engine.dispose()
    page.goto(f"{app_server.url}/review")
    expect(page.get_by_text("Sign in to see this page.")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    page.get_by_test_id("stMain").get_by_role("link", name="Sign in").click()  # the page's link, not the menu's
    expect(page).to_have_url(re.compile(r"/sign_in\?next=%2Freview$"), timeout=FIRST_LOAD_TIMEOUT_MS)
    page.get_by_label("Email", exact=True).fill("e2e.next@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/review\?lang=en$"), timeout=FIRST_LOAD_TIMEOUT_MS)
    expect(page.get_by_text("Sign in to see this page.")).not_to_be_visible()
