"""Subscribing to a search, the domain part (issue 17): the links of a search, the filters in words,
the calendar's window and sessions, and the calendar file written for them, read back by ``icalendar``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest

from opportunities.explore.url_params import Filters
from opportunities.feeds import subscriptions
from opportunities.feeds.printable import qr_svg
from opportunities.feeds.rpde import FeedParameterError
from opportunities.feeds.subscriptions import app_address, describe, links, read_subscription, sessions, title, window
from opportunities.listings.calendar import Session, sessions_ics
from opportunities.model import Opportunity
from opportunities.vocabulary import Mode, OpportunityType

TODAY = date(2027, 3, 10)
GBG = ("Göteborg", "SE")


def opportunity(**overrides: object) -> Opportunity:
    values: dict[str, object] = {
        "title": "Kodklubb", "provider": "Stadsbiblioteket", "city": "Göteborg", "country": "SE", "topics": ("digital-skills",),
        "age_min": 12, "mode": Mode.IN_PERSON, "type": OpportunityType.CLUB, "start": datetime(2026, 12, 2, 17, 0),
        "end": date(2027, 5, 26), "schedule": "FREQ=WEEKLY;BYDAY=WE", "id": 7,
        "updated_at": datetime(2027, 1, 5, 8, 30, tzinfo=UTC), "created_at": datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    }  # fmt: skip
    values.update(overrides)
    return Opportunity(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("public_url", "request_url", "expected"),
    [
        ("https://map.example.org", "http://10.0.0.5:8501/explore?city=x", "https://map.example.org"),
        ("https://map.example.org/", "", "https://map.example.org"),
        ("http://localhost:8501", "https://learn.city.example/explore?topic=arts", "https://learn.city.example"),
        ("http://localhost:8501", "http://127.0.0.1:8620/", "http://127.0.0.1:8620"),
        ("http://localhost:8501", "", "http://localhost:8501"),
        ("http://localhost:8501", "javascript:alert(1)", "http://localhost:8501"),
    ],
)
def test_links_start_at_public_url_when_set_else_at_the_visitors_host(public_url: str, request_url: str, expected: str) -> None:
    assert app_address(public_url, request_url) == expected


def test_the_links_of_a_search_hold_its_filters_and_language() -> None:
    found = links("https://map.example.org", Filters(city="Göteborg", topics=("arts-culture", "sports"), free_only=True), "sv")
    query = "city=G%C3%B6teborg&topic=arts-culture&topic=sports&free=1&lang=sv"
    assert found.explore == f"https://map.example.org/explore?{query}"
    assert found.calendar == f"https://map.example.org/subscribe/calendar.ics?{query}"
    assert found.webcal == f"webcal://map.example.org/subscribe/calendar.ics?{query}"
    assert found.atom == f"https://map.example.org/subscribe/atom.xml?{query}"
    assert found.printable == f"https://map.example.org/print?{query}"


@pytest.mark.parametrize(
    ("filters", "language", "expected"),
    [
        (Filters(), "en", "Cities of Learning: All learning opportunities"),
        (Filters(city="Kranj", topics=("digital-skills",)), "sl", "Cities of Learning: Kranj · Digitalne spretnosti"),
        (Filters(age=15, free_only=True), "sv", "Cities of Learning: 15 · Endast gratis"),
        (Filters(age_group="teens", modes=(Mode.ONLINE,)), "pl", "Cities of Learning: Nastolatki 13–17 · Online"),
        (Filters(place="Kungsportsplatsen", radius_km=5), "en", "Cities of Learning: 5 km around Kungsportsplatsen"),
    ],
)
def test_the_search_in_words(filters: Filters, language: str, expected: str) -> None:
    assert title(filters, language, "Cities of Learning") == expected


def test_every_filter_is_stated_with_its_label() -> None:
    filters = Filters(city="Göteborg", date_from=date(2027, 4, 1), date_to=date(2027, 5, 1), language="sv", text="robot",
                      types=(OpportunityType.CLUB,), accessible_only=True)  # fmt: skip
    assert describe(filters, "en") == [
        ("City", "Göteborg"), ("From", "1 Apr 2027"), ("To", "1 May 2027"), ("Type", "Club"),
        ("Language taught in", "Swedish"), ("Search in titles and descriptions", "“robot”"), ("Accessible only", ""),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(), (TODAY, date(2027, 6, 8))),
        (Filters(date_from=date(2027, 4, 1)), (date(2027, 4, 1), date(2027, 6, 8))),
        (Filters(date_from=date(2027, 1, 1), date_to=date(2027, 3, 20)), (TODAY, date(2027, 3, 20))),
        (Filters(date_from=date(2027, 7, 1)), None),  # the search starts after the 90 days
        (Filters(date_to=date(2027, 3, 1)), None),  # and this one ended before today
    ],
)
def test_the_calendar_covers_the_searchs_days_within_the_next_90(filters: Filters, expected: tuple[date, date] | None) -> None:
    assert window(filters, TODAY) == expected


@pytest.mark.parametrize(
    ("opp", "expected"),
    [
        (opportunity(), [datetime(2027, 3, 10, 17) + timedelta(weeks=k) for k in range(12)]),
        (opportunity(schedule="FREQ=MONTHLY;BYDAY=-1FR", end=None),
         [datetime(2027, 3, 26, 17), datetime(2027, 4, 30, 17), datetime(2027, 5, 28, 17)]),
        (opportunity(schedule="FREQ=DAILY", end=None), [datetime(2027, 3, 10, 17) + timedelta(days=k) for k in range(91)]),
        # A one-off under way since before the window is in it, at its own start.
        (opportunity(schedule="", start=datetime(2027, 3, 8, 9), end=datetime(2027, 3, 12, 15)), [datetime(2027, 3, 8, 9)]),
        (opportunity(schedule="", start=date(2027, 4, 2), end=None), [date(2027, 4, 2)]),
        (opportunity(schedule="", start=datetime(2027, 9, 1, 9), end=None), []),
    ],
)  # fmt: skip
def test_sessions_in_the_window(opp: Opportunity, expected: list[datetime | date]) -> None:
    found = sessions([opp], (TODAY, date(2027, 6, 8)), {GBG: "Europe/Stockholm"}, "https://map.example.org", "en")
    assert [s.start for s in found] == expected
    assert all(s.timezone == "Europe/Stockholm" and s.url == "https://map.example.org/explore?id=7&lang=en" for s in found)


def test_a_calendar_of_sessions_reads_back_with_their_times_and_kinds() -> None:
    timed = opportunity()
    all_day = opportunity(id=8, title="Bokmässa", schedule="", start=date(2027, 4, 2), end=date(2027, 4, 4))
    unknown_zone = opportunity(id=9, title="Online", mode=Mode.ONLINE, schedule="", start=datetime(2027, 3, 15, 18), end=None)
    events = [
        Session(timed, datetime(2027, 3, 31, 17), "Europe/Stockholm"),
        Session(all_day, date(2027, 4, 2), "Europe/Stockholm"),
        Session(unknown_zone, datetime(2027, 3, 15, 18), "Mars/Olympus"),
    ]
    text = sessions_ics(events, name="A; name, with\nnewline", description="About", refresh=timedelta(minutes=90))
    calendar = icalendar.Calendar.from_ical(text)
    assert str(calendar["X-WR-CALNAME"]) == "A; name, with\nnewline"
    assert calendar["REFRESH-INTERVAL"].to_ical() == b"PT1H30M"
    assert sorted(str(z["TZID"]) for z in calendar.walk("VTIMEZONE")) == ["Europe/Stockholm", "UTC"]
    first, second, third = calendar.walk("VEVENT")
    assert first["DTSTART"].dt.utcoffset() == timedelta(hours=2) and first["DTEND"].dt.hour == 19
    assert first["DTSTAMP"].dt == datetime(2027, 1, 5, 8, 30, tzinfo=UTC)
    assert (second["DTSTART"].dt, second["DTEND"].dt) == (date(2027, 4, 2), date(2027, 4, 5))
    assert third["DTSTART"].dt.utcoffset() == timedelta(0) and str(third["LOCATION"]) == "Online"
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


@pytest.mark.parametrize(
    ("query", "parameter"),
    [({"lang": ["klingon"]}, "lang"), ({"city": ["Atlantis"]}, "city"), ({"topic": ["arts-culture", "nope"]}, "topic"),
     ({"accessible": ["maybe"]}, "accessible"), ({"type": ["party"]}, "type"), ({"to": ["20270101"]}, "to")],
)  # fmt: skip
def test_a_parameter_that_cannot_be_used_is_named(query: dict[str, list[str]], parameter: str) -> None:
    with pytest.raises(FeedParameterError) as raised:
        read_subscription(query, cities=["Göteborg"], languages_taught=["sv"], today=TODAY)
    assert raised.value.parameter == parameter


def test_a_good_link_gives_its_filters_and_language() -> None:
    found = read_subscription(
        {"city": ["goteborg"], "topic": ["Konst och kultur"], "lat": ["99"], "lang": ["sl"]},
        cities=["Göteborg"], languages_taught=["sv"], today=TODAY, browser_language="pl",
    )  # fmt: skip
    assert found == subscriptions.Subscription(Filters(city="Göteborg", topics=("arts-culture",)), "sl")
    assert read_subscription({}, cities=[], languages_taught=None, today=TODAY, browser_language="pl").language == "pl"


def test_text_xml_cannot_hold_is_dropped() -> None:
    assert subscriptions._xml_text("a\x00b\x0bc\ufffe]]>\U0001f600") == "abc]]>\U0001f600"


def test_the_qr_code_is_an_inline_svg_named_for_screen_readers() -> None:
    svg = qr_svg("https://map.example.org/explore?city=G%C3%B6teborg", 'QR "code" <live>')
    assert svg.startswith('<svg role="img" aria-label="QR &quot;code&quot; &lt;live&gt;" ')
    assert "<path" in svg and "http" not in svg.split(">", 1)[1].split("<path", 1)[0].replace("xmlns", "")
