"""Subscribing to a search (issue 17) through the ASGI app: the calendar read back by ``icalendar``
and ``recurring-ical-events`` (a weekly rule across the spring daylight-saving change), the Atom
feed read by ``feedparser`` without errors, the printable list with its filters and QR code;
hostile provider text escaped in all three; bad parameters a 400 naming the parameter."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import icalendar
import pytest
import recurring_ical_events
import streamlit as st
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware

from opportunities.explore import url_params
from opportunities.feeds.printable import qr_svg
from opportunities.listings.importing import import_records
from opportunities.places.geocoding import Geocoder
from tests.conftest import template_row
from tests.web import asgi
from web.headers import SecurityHeaders
from web.subscriptions import ROUTES

PUBLIC = "https://map.example.org"
NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)  # a Wednesday; summer time starts on 28 March
STOCKHOLM = ZoneInfo("Europe/Stockholm")
HOSTILE = 'Kod <script>alert("x")</script> ]]> & <b>; a, b \\ c'
LOCATED = {"latitude": "57.6969", "longitude": "11.9795"}


@pytest.fixture
def app(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Starlette]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("INDEX_REFRESH_S", "0")
    monkeypatch.setattr(url_params, "utc_now", lambda: NOW)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield Starlette(routes=ROUTES, middleware=[Middleware(SecurityHeaders)])
    st.cache_resource.clear()


@pytest.fixture
def ids(engine: Engine, geocoder: Geocoder) -> dict[str, int]:
    rows = [
        template_row(title=HOSTILE, description="Line one\nline two; with, commas\r\nand ]]> too", **LOCATED),
        template_row(title="Målarverkstad", topics="arts-culture", schedule="", start="2027-03-20 10:00", end="", **LOCATED),
        template_row(title="Robotika", city="Kranj", country="SI", address="", latitude="46.2389", longitude="14.3556",
                     provider="Mladinski center Kranj", languages="sl", schedule="FREQ=WEEKLY;BYDAY=MO"),
        template_row(title="Kodläger", schedule="", start="2027-09-01 09:00", end="", **LOCATED),  # after the 90 days
    ]  # fmt: skip
    report = import_records(engine, rows, geocoder, publish=True)
    assert not report.rejected, report.rejected
    return dict(zip(["hostile", "arts", "kranj", "later"], report.stored_ids, strict=True))


def get(app: Starlette, path: str, query: str = "", headers: dict[str, str] | None = None) -> asgi.Answer:
    return asgi.get(app, path, query, headers)


def header(answer: asgi.Answer, name: str) -> str:
    return answer.headers[name][-1]


def test_the_calendar_of_a_city_and_topic_holds_every_weekly_session_across_summer_time(
    app: Starlette, ids: dict[str, int]
) -> None:
    answer = get(app, "/subscribe/calendar.ics", "city=G%C3%B6teborg&topic=digital-skills")
    assert answer.status == 200, answer.body
    assert header(answer, "content-type") == "text/calendar; charset=utf-8"
    assert header(answer, "cache-control") == "public, max-age=600"
    calendar = icalendar.Calendar.from_ical(answer.body)
    assert str(calendar["X-WR-CALNAME"]) == "Cities of Learning: Göteborg · Digital skills"
    assert calendar["REFRESH-INTERVAL"].to_ical() == b"PT1H"
    assert [str(z["TZID"]) for z in calendar.walk("VTIMEZONE")] == ["Europe/Stockholm"]
    events = calendar.walk("VEVENT")
    starts = [e["DTSTART"].dt for e in events]
    # Every Wednesday from today to the series' end (26 May), 12 sessions, all at 17:00 in Göteborg.
    assert [s.date() for s in starts] == [date(2027, 3, 10) + timedelta(weeks=k) for k in range(12)]
    assert starts[-1].date() == date(2027, 5, 26)
    assert all(s.tzinfo is not None and s.astimezone(STOCKHOLM).hour == 17 for s in starts)
    # Around the change: 16:00 UTC in winter time, 15:00 UTC in summer time.
    utc_hours = {s.date(): s.astimezone(UTC).hour for s in starts}
    assert utc_hours[date(2027, 3, 24)] == 16 and utc_hours[date(2027, 3, 31)] == 15
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == 12 and uids[0] == f"opportunity-{ids['hostile']}-20270310T170000@citiesoflearning"
    # The same feed read by a calendar library that expands what it is given, for one week.
    week = recurring_ical_events.of(calendar).between(date(2027, 3, 29), date(2027, 4, 5))
    assert [e["DTSTART"].dt.astimezone(STOCKHOLM).isoformat() for e in week] == ["2027-03-31T17:00:00+02:00"]
    # The same request gives the same file (a cache's ETag then holds).
    assert get(app, "/subscribe/calendar.ics", "city=G%C3%B6teborg&topic=digital-skills").body == answer.body


def test_stable_uids_and_one_off_events_in_the_window(app: Starlette, ids: dict[str, int]) -> None:
    calendar = icalendar.Calendar.from_ical(get(app, "/subscribe/calendar.ics", "city=G%C3%B6teborg").body)
    titles = {str(e["SUMMARY"]) for e in calendar.walk("VEVENT")}
    assert "Målarverkstad" in titles and "Kodläger" not in titles  # September is past the 90 days
    one_off = next(e for e in calendar.walk("VEVENT") if str(e["SUMMARY"]) == "Målarverkstad")
    assert str(one_off["UID"]) == f"opportunity-{ids['arts']}-20270320T100000@citiesoflearning"
    assert str(one_off["URL"]) == "https://example.org/kod"
    # All cities: Göteborg's and Kranj's sessions, both zones described.
    everything = icalendar.Calendar.from_ical(get(app, "/subscribe/calendar.ics").body)
    assert sorted(str(z["TZID"]) for z in everything.walk("VTIMEZONE")) == ["Europe/Ljubljana", "Europe/Stockholm"]
    assert str(everything["X-WR-CALNAME"]) == "Cities of Learning: All learning opportunities"


def test_hostile_provider_text_is_escaped_in_the_calendar(app: Starlette, ids: dict[str, int]) -> None:
    body = get(app, "/subscribe/calendar.ics", "city=G%C3%B6teborg&topic=digital-skills").body.decode()
    assert 'SUMMARY:Kod <script>alert("x")</script> ]]> & <b>\\; a\\, b \\\\ c' in body.replace("\r\n ", "")
    unfolded = body.replace("\r\n ", "")
    assert "line two\\; with\\, commas\\nand ]]> too" in unfolded
    assert all(line.split(":", 1)[0].split(";", 1)[0].isupper() or line == "" for line in unfolded.split("\r\n"))
    event = icalendar.Calendar.from_ical(body).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == HOSTILE
    assert str(event["DESCRIPTION"]).startswith("Line one\nline two; with, commas\nand ]]> too\n\n")


def test_the_atom_feed_parses_without_errors_newest_first(app: Starlette, ids: dict[str, int]) -> None:
    answer = get(app, "/subscribe/atom.xml", "city=G%C3%B6teborg&lang=sv")
    assert answer.status == 200
    assert header(answer, "content-type") == "application/atom+xml; charset=utf-8"
    assert header(answer, "cache-control") == "public, max-age=600"
    feed = feedparser.parse(answer.body)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.language == "sv"
    assert feed.feed.title == "Cities of Learning: Göteborg"
    links = {link.rel: link.href for link in feed.feed.links}
    assert links["self"] == f"{PUBLIC}/subscribe/atom.xml?city=G%C3%B6teborg&lang=sv"
    assert links["alternate"] == f"{PUBLIC}/explore?city=G%C3%B6teborg&lang=sv"
    # Newest first; the hostile title comes through as the same text, not as markup.
    assert [e.title for e in feed.entries] == ["Kodläger", "Målarverkstad", HOSTILE]
    hostile = feed.entries[-1]
    assert re.fullmatch(rf"tag:map\.example\.org,\d{{4}}-\d\d-\d\d:opportunity/{ids['hostile']}", hostile.id)
    assert hostile.link == f"{PUBLIC}/explore?id={ids['hostile']}&lang=sv"
    assert hostile.author == "Stadsbiblioteket Göteborg"
    assert "Gratis" in hostile.summary and "Line one" in hostile.summary
    assert hostile.updated_parsed is not None
    raw = answer.body.decode()
    assert "<script>" not in raw and "&lt;script&gt;" in raw and 'xml:lang="sv"' in raw


def test_the_printable_list_states_the_filters_and_carries_a_qr_code(app: Starlette, ids: dict[str, int]) -> None:
    answer = get(app, "/print", "city=G%C3%B6teborg&topic=digital-skills&free=1&lang=pl")
    assert answer.status == 200
    assert header(answer, "content-type") == "text/html; charset=utf-8"
    page = answer.body.decode()
    assert '<html lang="pl">' in page and "@page { size: A4" in page
    assert "<dt>Miasto</dt><dd><bdi>Göteborg</bdi></dd>" in page
    assert "Umiejętności cyfrowe" in page and "Tylko bezpłatne" in page
    live = f"{PUBLIC}/explore?city=G%C3%B6teborg&amp;topic=digital-skills&amp;free=1&amp;lang=pl"
    assert live in page
    svg = re.search(r"<svg [^>]*>.*?</svg>", page, re.S)
    assert svg is not None and 'role="img"' in svg.group(0) and "<path" in svg.group(0)
    # The code is the live view's address: the same modules as a QR code made of it alone.
    assert svg.group(0) == qr_svg(html.unescape(live), "Kod QR: to wyszukiwanie, na bieżąco")
    assert "<script" not in page.replace("&lt;script&gt;", "")  # the hostile title is text
    assert "Kod &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; ]]&gt; &amp; &lt;b&gt;; a, b \\ c" in page


def test_a_place_and_radius_narrow_the_calendar(app: Starlette, ids: dict[str, int]) -> None:
    answer = get(app, "/subscribe/calendar.ics", "near=G%C3%B6teborg&radius=20")
    assert answer.status == 200, answer.body
    titles = {str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(answer.body).walk("VEVENT")}
    assert titles == {HOSTILE, "Målarverkstad"}  # Kranj's club is 900 km away


@pytest.mark.parametrize(
    ("path", "query", "parameter"),
    [
        ("/subscribe/calendar.ics", "city=Atlantis", "city"),
        ("/subscribe/calendar.ics", "topic=alchemy", "topic"),
        ("/subscribe/atom.xml", "age=old", "age"),
        ("/subscribe/atom.xml", "from=2027-02-30", "from"),
        ("/subscribe/calendar.ics", "from=2027-04-01&to=2027-03-01", "to"),
        ("/subscribe/calendar.ics", "free=perhaps", "free"),
        ("/subscribe/atom.xml", "mode=teleport", "mode"),
        ("/subscribe/atom.xml", "radius=9000", "radius"),
        ("/subscribe/calendar.ics", "lang=xx", "lang"),
        ("/subscribe/calendar.ics", "language=qqq", "language"),
        ("/subscribe/atom.xml", "city=" + "x" * 500, "city"),
        ("/subscribe/calendar.ics", "near=Nowhereville%20Qq", "near"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(app: Starlette, ids: dict[str, int], path: str, query: str, parameter: str) -> None:
    answer = get(app, path, query, {"Accept-Language": "sv"})
    assert answer.status == 400
    assert header(answer, "content-type") == "application/json"
    assert header(answer, "cache-control") == "no-store"
    body: dict[str, Any] = json.loads(answer.body)
    assert body["error"] == "bad parameter" and body["parameter"] == parameter
    assert body["message"]


def test_a_bad_parameter_on_the_print_page_is_a_page_saying_which(app: Starlette, ids: dict[str, int]) -> None:
    answer = get(app, "/print", "topic=%3Cscript%3E&lang=sl")
    assert answer.status == 400
    page = answer.body.decode()
    assert '<html lang="sl">' in page and "topic" in page and "<script>" not in page


def test_the_messages_of_a_bad_parameter_are_in_the_readers_language(app: Starlette, ids: dict[str, int]) -> None:
    english = json.loads(get(app, "/subscribe/atom.xml", "city=Atlantis").body)["message"]
    swedish = json.loads(get(app, "/subscribe/atom.xml", "city=Atlantis", {"Accept-Language": "sv-SE,sv;q=0.9"}).body)
    assert "Atlantis" in english and swedish["message"] != english and "Atlantis" in swedish["message"]


def test_without_public_url_the_links_start_at_the_address_the_request_came_to(
    app: Starlette, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PUBLIC_URL")
    feed = feedparser.parse(get(app, "/subscribe/atom.xml", "topic=arts-culture").body)
    assert feed.bozo == 0
    assert {link.rel: link.href for link in feed.feed.links}[
        "self"
    ] == "http://127.0.0.1/subscribe/atom.xml?topic=arts-culture&lang=en"
    assert [e.link for e in feed.entries] == [f"http://127.0.0.1/explore?id={ids['arts']}&lang=en"]


def test_the_calendar_is_named_in_the_language_asked_for(app: Starlette, ids: dict[str, int]) -> None:
    calendar = icalendar.Calendar.from_ical(get(app, "/subscribe/calendar.ics", "free=1", {"Accept-Language": "pl"}).body)
    assert str(calendar["X-WR-CALNAME"]) == "Cities of Learning: Tylko bezpłatne"
    assert "Subskrypcja nie zapisuje nic o Tobie." in str(calendar["X-WR-CALDESC"])


def test_words_in_titles_narrow_the_feed(app: Starlette, ids: dict[str, int]) -> None:
    feed = feedparser.parse(get(app, "/subscribe/atom.xml", "q=m%C3%A5lar").body)
    assert feed.bozo == 0 and [e.title for e in feed.entries] == ["Målarverkstad"]
