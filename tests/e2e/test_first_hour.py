"""A newcomer's first hour: the demo command prints one account per role, and each signs in.

The README's quick start, as a person follows it: ``python -m opportunities demo``, start the
app, sign in with what the demo printed, and find the pages of that role in the menu.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from opportunities import __version__
from tests.e2e.conftest import FIRST_LOAD_TIMEOUT_MS, PROJECT_ROOT, AppServer, serve

pytestmark = pytest.mark.browser
ACCOUNT_LINE = re.compile(r"^\s+(\w+)\s+(\S+@demo\.example)\s+password: (\S+)\s+\((.+)\)$", re.MULTILINE)
# The menu entries each role finds after signing in (and the ones it must not).
ROLE_PAGES = {
    "admin": (("Submit an opportunity", "Review submissions"), ()),
    "city_lead": (("Review submissions",), ("Submit an opportunity",)),
    "provider": (("Submit an opportunity", "My opportunities"), ("Review submissions",)),
}


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, dict[str, tuple[str, str]]]]:
    """A server on a database made by the demo command, and what the command printed (role -> email, password)."""
    folder = tmp_path_factory.mktemp("first-hour")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'e2e.db'}"}
    done = subprocess.run([sys.executable, "-m", "opportunities", "demo", "--size", "60"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    printed = {role: (email, password) for role, email, password, _scope in ACCOUNT_LINE.findall(done.stdout)}
    assert printed.keys() == ROLE_PAGES.keys(), done.stdout
    with serve(folder) as server:
        yield server, printed


@pytest.mark.parametrize("role", ROLE_PAGES)
def test_each_demo_account_signs_in_and_finds_its_pages(page: Page, demo_server: tuple[AppServer, dict[str, tuple[str, str]]],
                                                         role: str) -> None:  # fmt: skip
    server, printed = demo_server
    email, password = printed[role]
    page.goto(f"{server.url}/sign_in")
    field = page.get_by_label("Email", exact=True)
    expect(field).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    field.fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("You are signed in as")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    page.goto(server.url)  # the next page's menu is the role's (the sign-in cookie carries it)
    expect(page.get_by_role("link", name="Account", exact=True)).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    shown, hidden = ROLE_PAGES[role]
    for name in shown:
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    for name in hidden:
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
    if role == "provider":
        page.get_by_role("link", name="Submit an opportunity", exact=True).click()
        expect(page.get_by_role("heading", name="Submit an opportunity")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)


def test_the_about_menu_names_the_version(page: Page, demo_server: tuple[AppServer, dict[str, tuple[str, str]]]) -> None:
    server, _printed = demo_server
    page.goto(server.url)
    menu = page.get_by_test_id("stMainMenu")
    expect(menu).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    menu.click()
    page.get_by_text("About", exact=True).click()
    expect(page.get_by_role("dialog").get_by_text(f"Cities of Learning map {__version__}")).to_be_visible()
