"""A badge's whole life in a real browser: a provider makes a claim code and shows its QR code; a
signed-out learner on a 390 px phone claims it, finds it in My badges, downloads it (the JSON and
the PNG baked in the browser); the Verify page accepts the PNG; the city lead revokes the badge
and the Verify page then says revoked. Screenshots at 1280 and 390 px, in Polish and in the dark
theme, and axe-core on the learner's three pages.

The server runs with an issuer key of its own (BADGE_KEY_FILE in a temporary folder). The badge
is defined and published in the database (the Badges page's forms are the AppTests' business);
every learner step is a click in the browser, with no account.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from opportunities.accounts import accounts
from opportunities.accounts.identity import Role
from opportunities.badges import achievements, baking, playlists
from opportunities.db import queries, schema
from opportunities.db.connection import open_database, writing
from opportunities.settings import load_settings
from opportunities.vocabulary import Status
from tests.browser import screenshot_path
from tests.e2e.conftest import FIRST_LOAD_TIMEOUT_MS, AppServer, serve
from tests.e2e.test_explore import open_explore
from tests.e2e.test_upload_review import serious_violations, wait_ready
from ui import badge_images
from ui.app_state import BADGES_CACHE_S

pytestmark = pytest.mark.browser

TEXTS = {
    "en": {"name": "E2E Robot builder", "description": "Built and programmed a robot.", "criteria": "Three sessions."},
    "pl": {"name": "E2E Konstruktor robotów", "description": "Zbudował(a) robota.", "criteria": "Trzy zajęcia."},
}
WALLET_ENTRY = {
    "added": "2026-12-06T10:00:00Z",
    "name": "Ada",
    "credential": {
        "id": "urn:uuid:6f1f4c1e-8f0e-4b7a-9d55-000000000001", "validFrom": "2026-12-01T10:00:00Z",
        "issuer": {"id": "did:key:z6Mk", "name": "Cities of Learning"},
        "credentialSubject": {"id": "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e", "achievement": {
            "name": "Klub robotyki", "description": "Zbudował(a) robota.", "image": {"id": badge_images.data_url("star")}}},
    },
}  # fmt: skip
OTHER_TEXTS = {"en": {"name": "E2E Gardener", "description": "Grew vegetables.", "criteria": "A season."}}
PLAYLIST_TEXTS = {"en": {"name": "E2E City Explorer", "description": "Badges across the city.", "criteria": "Any one badge."}}
CODE = re.compile(r"^[A-Z2-9]{5}-[A-Z2-9]{5}$")


@dataclass
class Badged:
    server: AppServer
    provider_token: str
    lead_token: str


@pytest.fixture(scope="module")
def badged(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Badged]:
    folder = tmp_path_factory.mktemp("badges")
    with serve(folder, environment={"BADGE_KEY_FILE": str(folder / "keys" / "issuer.key")}) as server:
        first = browser.new_context()  # the first session starts at app.py, which loads the demo data
        open_explore(first.new_page(), server)
        first.close()
        settings = load_settings({"DATABASE_URL": server.database_url})
        engine = open_database(server.database_url)
        now = accounts.now_utc()
        with writing(engine) as conn:
            city = queries.find_city(conn, "Warszawa", "PL")
            assert city is not None and city.id is not None
            row, other = conn.execute(
                select(schema.opportunities.c.id, schema.opportunities.c.provider_id)
                .where(schema.opportunities.c.city_id == city.id, schema.opportunities.c.status == Status.PUBLISHED.value)
                .order_by(schema.opportunities.c.id)
                .limit(2)
            ).all()
            provider = accounts.add_user(conn, "badges.provider@example.org", role=Role.PROVIDER, password=None,
                                         settings=settings, now=now, organisation_id=row.provider_id)  # fmt: skip
            lead = accounts.add_user(conn, "badges.lead@warszawa.example", role=Role.CITY_LEAD, password=None,
                                     settings=settings, now=now, city_ids=(city.id,))  # fmt: skip
            badge = achievements.define_badge(
                conn, provider, row.id, texts=TEXTS, image_url=badge_images.data_url("code"), now=now
            )
            if badge.status is Status.PENDING:
                achievements.review_badge(conn, lead, badge.id, approve=True, now=now)
            maker = provider
            if other.provider_id != row.provider_id:
                maker = accounts.add_user(conn, "badges.other@example.org", role=Role.PROVIDER, password=None,
                                          settings=settings, now=now, organisation_id=other.provider_id)  # fmt: skip
            # A second badge (another activity's) and a playlist of both: any one of them earns it.
            second = achievements.define_badge(conn, maker, other.id, texts=OTHER_TEXTS,
                                               image_url=badge_images.data_url("leaf"), now=now)  # fmt: skip
            if second.status is Status.PENDING:
                achievements.review_badge(conn, lead, second.id, approve=True, now=now)
            playlists.create_playlist(conn, lead, city_id=city.id, texts=PLAYLIST_TEXTS, members=[badge.id, second.id],
                                      rule=playlists.Rule.any_n(1), image_url=badge_images.data_url("compass"), now=now)  # fmt: skip
            tokens = [accounts.start_session(conn, user.id, now, settings=settings) for user in (provider, lead)]
        engine.dispose()
        yield Badged(server, *tokens)


def context(browser: Browser, server: AppServer, *, token: str | None = None, width: int = 1280, scheme: str = "light",
            locale: str = "en-GB") -> BrowserContext:  # fmt: skip
    phone = width < 500
    made = browser.new_context(viewport={"width": width, "height": 900 if phone else 1400}, color_scheme=scheme,  # type: ignore[arg-type]
                               locale=locale, accept_downloads=True, has_touch=phone, is_mobile=phone)  # fmt: skip
    made.set_default_timeout(30_000)
    if token:
        made.add_cookies([{"name": "col_session", "value": token, "url": server.url}])
    errors: list[str] = []
    made.on("weberror", lambda error: errors.append(str(error.error)))
    made.errors = errors  # type: ignore[attr-defined]
    return made


def open_page(page: Page, server: AppServer, path: str, heading: str) -> None:
    page.goto(f"{server.url}/{path}")
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    wait_ready(page)


def make_claim_code(browser: Browser, badged: Badged) -> str:
    """The provider's part: a claim code and its QR code on the Badges page."""
    provider = context(browser, badged.server, token=badged.provider_token)
    page = provider.new_page()
    open_page(page, badged.server, "badges", "Badges")
    page.get_by_text("Claim code and QR code").first.click()
    page.get_by_role("button", name="Make a claim code").first.click()
    expect(page.get_by_text("The claim code is ready.")).to_be_visible()
    wait_ready(page)
    expect(page.get_by_text("QR code of the claim link")).to_be_visible()
    code = page.locator("h2 code").first.inner_text().strip()
    assert CODE.fullmatch(code), code
    page.screenshot(path=screenshot_path("badges-provider-code-1280"), full_page=True)
    provider.close()
    return code


def verify_file(page: Page, path: Path) -> str:
    """Drop ``path`` on the Verify page; the verdict shown."""
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(path))
    verdict = page.get_by_test_id("stAlertContainer").first
    expect(verdict).to_be_visible(timeout=30_000)
    wait_ready(page)
    return verdict.inner_text()


def test_a_learner_claims_keeps_downloads_and_verifies_a_badge_then_sees_it_revoked(
    browser: Browser, badged: Badged, tmp_path: Path
) -> None:
    server = badged.server
    code = make_claim_code(browser, badged)

    learner = context(browser, server, width=390)
    page = learner.new_page()
    # Explore: only the two activities with a badge, each marked (the page refreshes the set of
    # badges every BADGES_CACHE_S seconds; the server's first visit came before they were published).
    deadline = time.monotonic() + BADGES_CACHE_S + 30
    while open_explore(page, server, "?badge=1") != 2:
        assert time.monotonic() < deadline, "the filter never showed the two activities with a badge"
        page.wait_for_timeout(3000)
    expect(page.get_by_text("Awards a badge: E2E Robot builder")).to_be_visible()
    page.screenshot(path=screenshot_path("badges-explore-filter-390"))
    # The QR code's link: the code arrives in the form.
    open_page(page, server, f"claim?code={code}", "Claim a badge")
    expect(page.get_by_test_id("claim-code")).to_have_value(code)
    page.screenshot(path=screenshot_path("badges-claim-390"))
    page.get_by_test_id("claim-button").click()
    expect(page.get_by_test_id("claim-status")).to_contain_text("“E2E Robot builder” is now in your badges")
    expect(page.get_by_role("link", name="Open My badges")).to_be_visible()
    subject = page.evaluate("localStorage.getItem('col.badges.subject')")
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", subject)

    # The same code again: refused, said plainly, nothing added.
    page.get_by_test_id("claim-code").fill(code)
    page.get_by_test_id("claim-button").click()
    expect(page.get_by_test_id("claim-status")).to_contain_text("used already")

    open_page(page, server, "my_badges", "My badges")
    expect(page.get_by_test_id("wallet-badge")).to_have_count(1)
    expect(page.get_by_test_id("wallet-badge")).to_contain_text("E2E Robot builder")
    expect(page.get_by_text("Clearing the browser's data")).to_be_visible()
    page.screenshot(path=screenshot_path("badges-wallet-390"))
    # The playlist this badge counts towards: claimed by presenting the badge.
    expect(page.get_by_test_id("wallet-playlists")).to_contain_text("E2E City Explorer")
    page.get_by_test_id("claim-playlist").click()
    expect(page.get_by_test_id("wallet-playlists")).to_contain_text("“E2E City Explorer” is now in your badges")
    expect(page.get_by_test_id("wallet-badge")).to_have_count(2, timeout=10_000)
    expect(page.get_by_test_id("wallet-playlists")).to_contain_text("You have this playlist's badge.")
    page.screenshot(path=screenshot_path("badges-wallet-playlist-390"))
    # The playlist's activities on the map, from its card.
    page.get_by_role("link", name="See its activities on the map").click()
    expect(page.get_by_text("Playlist “E2E City Explorer”")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    expect(page.get_by_text("Awards a badge: E2E Gardener")).to_be_visible()
    open_page(page, server, "my_badges", "My badges")
    with page.expect_download() as download:
        page.get_by_test_id("download-json").first.click()
    saved_json = tmp_path / "badge.json"
    download.value.save_as(saved_json)
    credential = json.loads(saved_json.read_text(encoding="utf-8"))
    assert credential["credentialSubject"]["id"] == subject  # the browser's id, never a name
    # The learner's name on their own copy: kept in this browser, drawn under the PNG's picture,
    # outside the signed credential.
    first_card = page.get_by_test_id("wallet-badge").first
    first_card.get_by_text("Add your name to your own copy").click()
    first_card.get_by_label("Your name", exact=True).fill("Ada Lovelace")
    first_card.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_test_id("wallet-badge").first).to_contain_text("Your name on your copy: Ada Lovelace")
    with page.expect_download() as download:
        page.get_by_test_id("download-png").first.click()
    saved_png = tmp_path / "badge.png"
    download.value.save_as(saved_png)
    baked = saved_png.read_bytes()
    assert json.loads(baking.unbake_png(baked)) == credential
    assert (int.from_bytes(baked[16:20], "big"), int.from_bytes(baked[20:24], "big")) == (512, 576)  # IHDR: the name's strip
    assert "Ada Lovelace" not in baked.decode("latin-1")

    open_page(page, server, "verify", "Verify a badge")
    assert "Valid: this badge was issued here" in verify_file(page, saved_png)
    expect(page.get_by_text("E2E Robot builder")).to_be_visible()
    page.screenshot(path=screenshot_path("badges-verify-valid-390"))

    # The city lead revokes it, with a reason.
    lead = context(browser, server, token=badged.lead_token)
    lead_page = lead.new_page()
    open_page(lead_page, server, "badges", "Badges")
    lead_page.get_by_role("tab", name="Revoke").click()
    lead_page.get_by_label("Badge id").fill(credential["id"])
    lead_page.get_by_label("Why it is revoked").fill("Given by mistake")
    lead_page.get_by_role("button", name="Revoke the badge").click()
    expect(lead_page.get_by_text("The badge is revoked.")).to_be_visible()
    lead.close()

    open_page(page, server, "verify", "Verify a badge")
    assert "Revoked: the issuer withdrew this badge." in verify_file(page, saved_json)
    page.goto(f"{server.url}/my_badges")
    page.get_by_test_id("check-badge").first.click()
    expect(page.get_by_test_id("badge-verdict").first).to_contain_text("Revoked")
    assert not learner.errors  # type: ignore[attr-defined]
    learner.close()


@pytest.mark.parametrize(("scheme", "width", "locale", "lang"), [("dark", 390, "pl-PL", "pl"), ("light", 1280, "en-GB", "en")])
def test_the_learners_pages_pass_axe_in_both_themes(browser: Browser, badged: Badged, scheme: str, width: int, locale: str,
                                                    lang: str) -> None:  # fmt: skip
    server = badged.server
    made = context(browser, server, width=width, scheme=scheme, locale=locale)
    page = made.new_page()
    # A badge in the wallet, so that its card is checked too (kept as a claim keeps it).
    page.goto(f"{server.url}/claim?lang={lang}")
    expect(page.get_by_test_id("claim-code")).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    page.evaluate("(entry) => localStorage.setItem('col.badges.wallet', JSON.stringify([entry]))", WALLET_ENTRY)
    headings = {
        "en": ("Claim a badge", "My badges", "Verify a badge"),
        "pl": ("Odbierz odznakę", "Moje odznaki", "Sprawdź odznakę"),
    }
    problems = {}
    for path, heading in zip(("claim", "my_badges", "verify"), headings[lang], strict=True):
        open_page(page, server, f"{path}?lang={lang}", heading)
        page.screenshot(path=screenshot_path(f"badges-{path}-{lang}-{scheme}-{width}"))
        found = serious_violations(page)
        if found:
            problems[path] = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in found]
    assert not problems, problems
    made.close()
