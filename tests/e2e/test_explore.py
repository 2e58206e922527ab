"""The Explore page in headless Chromium: load, filter, map clicks, hostile links, phone width.

Elements are found by role, label and text, and map features by Leaflet's own classes, so the
tests keep working as the page gains filters and views. Streamlit draws the folium map inside
an iframe.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from playwright.sync_api import FrameLocator, Locator, Page, expect
from sqlalchemy import create_engine, select, update

from opportunities.db.queries import get_opportunities, search_text
from opportunities.db.schema import opportunities
from opportunities.explore.search import SearchQuery, count
from opportunities.i18n import LANGUAGE_NAMES, topic_label, translator
from opportunities.model import Opportunity
from opportunities.opportunity_text import safe_link
from tests.browser import journey_screenshot
from tests.e2e.conftest import FIRST_LOAD_TIMEOUT_MS, AppServer, PageRecord

pytestmark = pytest.mark.browser

COUNT = re.compile(r"(\d+)\s+opportunit(?:y matches|ies match)")
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
# Whatever draws the points (folium's markercluster or the grid overview), each is a Leaflet marker.
MARKERS = ".leaflet-marker-icon"
CLUSTERS = ".marker-cluster, .col-cluster"
PINS = ".col-pin"
MAX_CLUSTER_CLICKS = 8
LANGUAGE_SWITCHER = "Language · Språk · Jezik · Język"
# "1.2 km" / "1,2 km" / "12 km": the distance that leads a card's facts when a place is given.
DISTANCE = re.compile(r"^(\d+(?:[.,]\d+)?)\s?km\b")


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


def ui_text(lang: str, msgid: str) -> str:
    """``msgid`` as the page shows it in ``lang``, read from that language's catalog."""
    return translator(lang).gettext(msgid)


@cache
def count_pattern(lang: str) -> re.Pattern[str]:
    """The result count sentence in ``lang`` (every plural form), the number in group 1."""
    if lang == "en":
        return COUNT
    ngettext = translator(lang).ngettext
    singular, plural = "{count} opportunity matches your filters.", "{count} opportunities match your filters."
    forms = sorted({ngettext(singular, plural, n) for n in range(1000)}, key=len, reverse=True)
    number = r"(\d(?:[\d.,\s\u00a0\u202f]*\d)?)"
    return re.compile("|".join(re.escape(form).replace(re.escape("{count}"), number) for form in forms))


def summary(page: Page, lang: str = "en") -> Locator:
    return page.get_by_text(count_pattern(lang)).first


def open_explore(page: Page, app_server: AppServer, query: str = "", lang: str = "en") -> int:
    """Open the page and wait until it shows its result count (in ``lang``); returns that count."""
    page.goto(f"{app_server.url}/{query}")
    # An app error replaces the count: stop at once and show it, rather than time out.
    exception = page.get_by_test_id("stException")
    expect(summary(page, lang).or_(exception).first).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    if exception.count():
        pytest.fail(f"the page shows an error:\n{exception.first.inner_text()}")
    return shown_count(page, lang)


def shown_count(page: Page, lang: str = "en") -> int:
    found = count_pattern(lang).search(summary(page, lang).inner_text())
    assert found, "no result count on the page"
    number = next(group for group in found.groups() if group is not None)
    return int(re.sub(r"\D", "", number))


def url_params(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def stored_opportunity(app_server: AppServer, opportunity_id: int) -> Opportunity:
    """The opportunity as the server's database holds it."""
    engine = create_engine(app_server.database_url)
    try:
        with engine.connect() as conn:
            found = get_opportunities(conn, [opportunity_id])
    finally:
        engine.dispose()
    assert found, f"no opportunity {opportunity_id} in the database"
    return found[0]


def first_card(page: Page, lang: str = "en") -> tuple[Locator, Locator]:
    """The first card of the list and its "Details" button (the card is the button's own block)."""
    prefix = ui_text(lang, "Details: {title}").split("{title}")[0]  # each button names its opportunity
    button = page.get_by_role("button", name=re.compile("^" + re.escape(prefix))).first
    expect(button).to_be_visible(timeout=30_000)
    card = button.locator("xpath=ancestor::div[@data-testid='stVerticalBlock'][1]")
    return card, button


def settle(page: Page) -> None:
    """Wait until the map is drawn and has reported its view (a rerun of its own), before the next step."""
    stale = page.locator("[data-stale='true']")  # left over from an earlier run, until this one ends
    expect(stale).to_have_count(0, timeout=30_000)
    expect(page.locator(MAP_FRAME)).to_have_count(1, timeout=30_000)  # a new language redraws the map anew
    map_frame(page)
    page.wait_for_timeout(700)
    expect(stale).to_have_count(0)


def open_options(page: Page, label: str, option: str, tries: int = 3) -> Locator:
    """Open the list of the selectbox or multiselect labelled ``label`` until ``option`` shows; returns it.

    The list closes when the sidebar scrolls, so the box is scrolled into view before the click;
    should a rerun still close the list as it opens, it is opened once more.
    """
    box = page.get_by_role("combobox", name=label, exact=True)
    item = page.get_by_role("option", name=option, exact=True)
    for attempt in range(tries):
        box.scroll_into_view_if_needed()
        box.click()
        try:
            expect(item).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            if attempt == tries - 1:
                raise
            page.keyboard.press("Escape")
    return item


def choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox or multiselect labelled ``label``."""
    open_options(page, label, option).click()


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
    settle(page)
    journey_screenshot(page, "explore")  # a young person's first view: the README's picture


def test_city_filter_changes_count_and_link(page: Page, app_server: AppServer) -> None:
    before = open_explore(page, app_server)
    settle(page)  # the map's first report is a rerun of its own, which would close the list
    open_options(page, "City", "Kranj").click()  # opened again should a rerun still close the list
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


def test_details_dialog_shows_the_card_offers_ics_and_closes(page: Page, app_server: AppServer) -> None:
    open_explore(page, app_server)
    card, details = first_card(page)
    title = card.locator("strong").first.inner_text().strip()
    assert title
    details.click()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name=title, exact=True)).to_be_visible()
    page.wait_for_url(re.compile(r"[?&]id=\d+(&|$)"))
    opportunity = stored_opportunity(app_server, int(url_params(page)["id"][0]))
    assert opportunity.title == title

    download = dialog.get_by_role("button", name="Add to calendar (.ics)")
    expect(download).to_be_visible()
    register = dialog.get_by_role("link", name="Register or read more")
    if safe_link(opportunity.url) is None:
        expect(register).to_have_count(0)
    else:
        expect(register).to_be_visible()
        expect(register).to_have_attribute("href", re.compile(r"^https?://"))

    with page.expect_download() as info:
        download.click()
    ics = info.value
    assert ics.suggested_filename.endswith(".ics"), ics.suggested_filename
    content = ics.path().read_text(encoding="utf-8")
    assert content.startswith("BEGIN:VCALENDAR"), content[:200]
    assert "SUMMARY:" in content

    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    page.wait_for_url(lambda url: "id" not in parse_qs(urlsplit(url).query))
    expect(summary(page)).to_be_visible()


def test_language_switcher_and_language_link(page: Page, app_server: AppServer) -> None:
    open_explore(page, app_server)
    choose(page, LANGUAGE_SWITCHER, LANGUAGE_NAMES["sv"])
    expect(page.get_by_role("heading", name=ui_text("sv", "Learning opportunities"), exact=True)).to_be_visible()
    page.wait_for_url(re.compile(r"[?&]lang=sv(&|$)"))
    expect(summary(page, "sv")).to_be_visible()
    settle(page)
    # The topics are Swedish too: the sidebar's multiselect offers them by their Swedish names.
    expect(open_options(page, ui_text("sv", "Topics"), topic_label("digital-skills", "sv"))).to_be_visible()
    page.keyboard.press("Escape")

    # A link with ?lang= opens in that language in a new session.
    open_explore(page, app_server, "?lang=pl", lang="pl")
    expect(page.get_by_role("heading", name=ui_text("pl", "Learning opportunities"), exact=True)).to_be_visible()
    expect(page.get_by_role("combobox", name=LANGUAGE_SWITCHER)).to_have_value(LANGUAGE_NAMES["pl"])


def test_kranj_digital_skills_age_15_free_in_slovenian(page: Page, app_server: AppServer) -> None:
    """The question the map answers: what free digital-skills activities near Kranj suit a 15-year-old?"""
    lang = "sl"
    everything = open_explore(page, app_server, "?lang=sl", lang=lang)
    expect(page.get_by_role("heading", name=ui_text(lang, "Learning opportunities"), exact=True)).to_be_visible()
    settle(page)

    place = page.get_by_role("textbox", name=ui_text(lang, "A place or an address"), exact=True)
    place.fill("Kranj")
    place.press("Enter")
    page.wait_for_url(re.compile(r"[?&]near=Kranj(&|$)"))
    expect(page.get_by_text(re.compile(r"Kranj”")).first).to_be_visible()
    settle(page)

    choose(page, ui_text(lang, "Topics"), topic_label("digital-skills", lang))
    page.wait_for_url(re.compile(r"[?&]topic=digital-skills(&|$)"))
    page.keyboard.press("Escape")  # close the multiselect's list
    settle(page)

    choose(page, ui_text(lang, "Age"), ui_text(lang, "Exact age…"))
    years = page.get_by_role("spinbutton", name=ui_text(lang, "Age in years"), exact=True)
    for age in (16, 15):  # the box starts at 15: go there from 16, so that typing is what sets it
        years.fill(str(age))
        years.press("Enter")
        page.wait_for_url(re.compile(rf"[?&]age={age}(&|$)"))
        settle(page)

    free = page.get_by_role("checkbox", name=ui_text(lang, "Free only"), exact=True)
    page.get_by_test_id("stSidebar").get_by_text(ui_text(lang, "Free only"), exact=True).click()  # the label, as a visitor
    page.wait_for_url(re.compile(r"[?&]free=1(&|$)"))
    expect(free).to_be_checked()
    settle(page)
    found = shown_count(page, lang)
    assert 1 <= found < everything
    assert found <= published(app_server, topics=("digital-skills",), age=15, free_only=True)
    card, _ = first_card(page, lang)
    facts = card.locator("span.stMarkdownColoredText").first  # the card's first note, in small grey text
    expect(facts).to_have_text(DISTANCE)
    distance = DISTANCE.match(facts.inner_text())
    assert distance is not None
    assert float(distance[1].replace(",", ".")) <= 10  # the default radius
    assert url_params(page)["lang"] == ["sl"]


@pytest.mark.parametrize(("first", "second"), [("en", "sv"), ("sl", "pl")])
def test_a_language_switch_keeps_the_filters_through_the_next_change(
    page: Page, app_server: AppServer, first: str, second: str
) -> None:
    """Switching the language relabels every chosen filter, and the next change keeps them all (issue 6)."""
    query = "?topic=digital-skills&age=teens&mode=in-person&language=sl" + ("" if first == "en" else f"&lang={first}")
    before = open_explore(page, app_server, query, lang=first)
    settle(page)
    choose(page, LANGUAGE_SWITCHER, LANGUAGE_NAMES[second])
    page.wait_for_url(re.compile(rf"[?&]lang={second}(&|$)"))
    expect(summary(page, second)).to_be_visible()
    settle(page)
    sidebar = page.get_by_test_id("stSidebar")
    # The chosen topic and mode show in the new language (the chips of the multiselects).
    expect(sidebar.get_by_text(topic_label("digital-skills", second), exact=True)).to_be_visible()
    assert shown_count(page, second) == before

    sidebar.get_by_text(ui_text(second, "Free only"), exact=True).click()  # the next change
    page.wait_for_url(re.compile(r"[?&]free=1(&|$)"))
    settle(page)
    params = url_params(page)
    assert params["topic"] == ["digital-skills"]
    assert params["age"] == ["teens"]
    assert params["mode"] == ["in-person"]
    assert params["language"] == ["sl"]
    assert shown_count(page, second) <= before


@pytest.mark.parametrize("lang", ["sv", "sl", "pl"])
def test_the_document_and_streamlits_own_texts_follow_the_language(page: Page, app_server: AppServer, lang: str) -> None:
    open_explore(page, app_server, f"?lang={lang}", lang=lang)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("combobox", name=ui_text(lang, "Topics"), exact=True)).to_have_attribute(
        "placeholder", ui_text(lang, "All topics")
    )
    expect(page.locator('[placeholder="Choose options"], [placeholder="Choose an option"]')).to_have_count(0)
    expect(page.get_by_role("button", name=ui_text(lang, "Choose date"), exact=True).first).to_be_visible()
    for english in ("Collapse sidebar", "Main menu", "Choose date", "Increment"):
        expect(page.locator(f'[aria-label="{english}"]')).to_have_count(0)
    _, details = first_card(page, lang)
    details.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name=ui_text(lang, "Close"), exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Close", exact=True)).to_have_count(0)


def test_a_language_switch_sets_the_document_language(page: Page, app_server: AppServer) -> None:
    open_explore(page, app_server)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    choose(page, LANGUAGE_SWITCHER, LANGUAGE_NAMES["sv"])
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.get_by_role("button", name=ui_text("sv", "Collapse sidebar"), exact=True)).to_have_count(1)


HOSTILE_TITLE = "Zzqx [x](https://evil.example) ![i](https://evil.example/p.png) <img src=x onerror=alert(1)>"


def test_hostile_provider_text_and_link_values_stay_text(page: Page, app_server: AppServer, page_record: PageRecord) -> None:
    """A title with a link, a remote image and HTML, and link values that look like addresses: all shown as text."""
    open_explore(page, app_server)  # the demo data is loaded on the first visit
    engine = create_engine(app_server.database_url)
    try:
        with engine.begin() as conn:
            chosen, description = conn.execute(
                select(opportunities.c.id, opportunities.c.description)
                .where(opportunities.c.status == "published")
                .order_by(opportunities.c.id.desc())
                .limit(1)
            ).one()
            conn.execute(
                update(opportunities)
                .where(opportunities.c.id == chosen)
                .values(title=HOSTILE_TITLE, search_text=search_text(HOSTILE_TITLE, description), updated_at=datetime.now(UTC))
            )
    finally:
        engine.dispose()
    page.goto(f"{app_server.url}/?q=Zzqx&city=www.evil.example&from=www.evil.example")
    expect(summary(page)).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    warnings = page.get_by_test_id("stAlertContentWarning")
    expect(warnings).to_have_count(2)  # the city and the date are ignored, each with a warning quoting it as text
    _, details = first_card(page)
    details.hover()  # the tooltip with the whole title
    page.wait_for_timeout(1_000)
    details.click()
    dialog = page.get_by_role("dialog")
    # The title as written (an invisible word joiner keeps its addresses from becoming links).
    heading = dialog.get_by_role("heading", name=re.compile(r"^Zzqx \[x\]\(https"))
    expect(heading).to_be_visible()
    assert heading.inner_text().replace("\u2060", "") == HOSTILE_TITLE
    expect(page.locator('a[href*="evil.example"], img[src*="evil.example"], img[src="x"]')).to_have_count(0)
    assert not [url for url in page_record.requests if "evil.example" in (urlsplit(url).hostname or "")]
    assert not page_record.dialogs
