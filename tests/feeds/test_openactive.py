"""An opportunity as an OpenActive item (issue 17, OpenActive out): the type, the schedule read from
the RRULE, place, online, offers, ages, accessibility and activity concepts."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from opportunities.feeds import openactive
from opportunities.feeds.openactive import EVENT, SESSION_SERIES, Listing, item_data
from opportunities.model import Opportunity
from opportunities.settings import PROJECT_ROOT
from opportunities.vocabulary import Mode, OpportunityType, Precision, Status

PUBLIC = "https://map.example.org"
# OpenActive's own lists (see its README): the concept ids we emit must be theirs.
LISTS = PROJECT_ROOT / "tests" / "data" / "openactive"  # OpenActive's own lists (tests/data/README.md)
WEDNESDAY, SUNDAY = "https://schema.org/Wednesday", "https://schema.org/Sunday"


def opportunity(**changes: Any) -> Opportunity:
    values: dict[str, Any] = {
        "id": 7, "title": "Kodklubb", "provider": "Stadsbiblioteket", "city": "Göteborg", "country": "SE",
        "topics": ("digital-skills",), "age_min": 12, "age_max": 16, "mode": Mode.IN_PERSON, "type": OpportunityType.CLUB,
        "start": datetime(2026, 12, 2, 17, 0), "end": date(2027, 5, 26), "schedule": "FREQ=WEEKLY;BYDAY=WE",
        "venue": "Stadsbiblioteket", "address": "Götaplatsen 3, 412 56 Göteborg", "latitude": 57.6969, "longitude": 11.9795,
        "precision": Precision.ADDRESS, "uncertainty_m": 10, "languages": ("en", "sv"), "url": "https://example.org/kod",
        "status": Status.PUBLISHED,
    }  # fmt: skip
    values.update(changes)
    return Opportunity(**values)


def item(**changes: Any) -> dict[str, Any]:
    return item_data(Listing(opportunity(**changes), 3, "https://bibliotek.example.se", "Europe/Stockholm"), PUBLIC)


def test_a_recurring_activity_is_a_session_series_with_its_schedule() -> None:
    data = item()
    assert data["@type"] == SESSION_SERIES and data["@id"] == f"{PUBLIC}/openactive/session-series/7"
    assert data["@context"] == "https://openactive.io/"  # the beta namespace only where used (online)
    assert data["eventSchedule"] == [
        {"@type": "PartialSchedule", "repeatFrequency": "P1W", "startDate": "2026-12-02", "endDate": "2027-05-26",
         "startTime": "17:00", "byDay": [WEDNESDAY], "scheduleTimezone": "Europe/Stockholm"}
    ]  # fmt: skip
    assert data["organizer"] == {"@type": "Organization", "@id": f"{PUBLIC}/openactive/organisations/3",
                                 "name": "Stadsbiblioteket", "url": "https://bibliotek.example.se"}  # fmt: skip
    assert data["location"] == {
        "@type": "Place", "name": "Stadsbiblioteket",
        "address": {"@type": "PostalAddress", "streetAddress": "Götaplatsen 3, 412 56 Göteborg",
                    "addressLocality": "Göteborg", "addressRegion": "Västra Götaland", "postalCode": "412 56",
                    "addressCountry": "SE"},
        "geo": {"@type": "GeoCoordinates", "latitude": 57.6969, "longitude": 11.9795},
    }  # fmt: skip
    assert data["offers"] == [{"@type": "Offer", "@id": f"{PUBLIC}/openactive/session-series/7#/offers/0", "price": 0,
                               "priceCurrency": "SEK"}]  # fmt: skip
    assert data["isAccessibleForFree"] is True
    assert data["ageRange"] == {"@type": "QuantitativeValue", "minValue": 12, "maxValue": 16}
    assert data["inLanguage"] == ["en", "sv"] and data["category"] == ["Digital skills"]
    assert data["url"] == "https://example.org/kod" and data["name"] == "Kodklubb"
    assert data["eventAttendanceMode"] == "https://schema.org/OfflineEventAttendanceMode"
    assert "activity" not in data and "accessibilitySupport" not in data and "beta:virtualLocation" not in data
    json.dumps(data)  # plain data


@pytest.mark.parametrize(
    ("schedule", "start", "end", "expected"),
    [
        ("FREQ=WEEKLY;BYDAY=WE,SU", datetime(2026, 12, 2, 17, 0), None,
         {"repeatFrequency": "P1W", "startDate": "2026-12-02", "startTime": "17:00", "byDay": [WEDNESDAY, SUNDAY]}),
        ("FREQ=WEEKLY;INTERVAL=2", datetime(2026, 12, 2, 17, 30), date(2027, 1, 31),
         {"repeatFrequency": "P2W", "startDate": "2026-12-02", "endDate": "2027-01-31", "startTime": "17:30", "byDay": [WEDNESDAY]}),
        ("FREQ=WEEKLY;BYDAY=WE;COUNT=3", datetime(2026, 12, 2, 17, 0), None,
         {"repeatFrequency": "P1W", "startDate": "2026-12-02", "endDate": "2026-12-16", "startTime": "17:00", "byDay": [WEDNESDAY],
          "repeatCount": 3}),
        ("FREQ=WEEKLY;BYDAY=WE;UNTIL=20270110", datetime(2026, 12, 2, 17, 0), date(2027, 5, 26),
         {"repeatFrequency": "P1W", "startDate": "2026-12-02", "endDate": "2027-01-10", "startTime": "17:00", "byDay": [WEDNESDAY]}),
        # the first session is the first day the rule gives, not a start day it skips
        ("FREQ=MONTHLY;BYDAY=-1FR", date(2026, 12, 1), None,
         {"repeatFrequency": "P1M", "startDate": "2026-12-25", "byDay": ["-1FR"]}),
        ("FREQ=MONTHLY", datetime(2026, 12, 15, 10, 0), None,
         {"repeatFrequency": "P1M", "startDate": "2026-12-15", "startTime": "10:00", "byMonthDay": [15]}),
        ("FREQ=YEARLY", date(2026, 12, 15), None,
         {"repeatFrequency": "P1Y", "startDate": "2026-12-15", "byMonth": [12], "byMonthDay": [15]}),
        ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", datetime(2026, 12, 2, 8, 0), date(2026, 12, 11),
         {"repeatFrequency": "P1D", "startDate": "2026-12-02", "endDate": "2026-12-11", "startTime": "08:00",
          "byDay": [f"https://schema.org/{d}" for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")]}),
    ],
)  # fmt: skip
def test_the_schedule_is_read_from_the_rule(
    schedule: str, start: date | datetime, end: date | None, expected: dict[str, Any]
) -> None:
    [found] = item(schedule=schedule, start=start, end=end)["eventSchedule"]
    assert found == {"@type": "PartialSchedule", **expected, "scheduleTimezone": "Europe/Stockholm"}


@pytest.mark.parametrize(
    ("start", "end", "dates"),
    [
        (datetime(2026, 12, 5, 10, 0), datetime(2026, 12, 5, 12, 30),
         ("2026-12-05T10:00:00+01:00", "2026-12-05T12:30:00+01:00", "PT2H30M")),
        (datetime(2027, 6, 5, 10, 0), None, ("2027-06-05T10:00:00+02:00", None, None)),  # summer time
        # all day: from the midnight that starts the first day to the one that ends the last
        (date(2027, 7, 1), date(2027, 7, 5), ("2027-07-01T00:00:00+02:00", "2027-07-06T00:00:00+02:00", "P5D")),
        (date(2027, 7, 1), None, ("2027-07-01T00:00:00+02:00", "2027-07-02T00:00:00+02:00", "P1D")),
        (datetime(2027, 7, 1, 9, 0), date(2027, 7, 2), ("2027-07-01T09:00:00+02:00", "2027-07-03T00:00:00+02:00", "P1DT15H")),
        (datetime(2027, 7, 1, 9, 0), datetime(2027, 7, 1, 9, 0), ("2027-07-01T09:00:00+02:00", None, None)),
    ],
)  # fmt: skip
def test_a_one_off_activity_is_an_event_with_local_times(
    start: date | datetime, end: date | None, dates: tuple[str, str | None, str | None]
) -> None:
    data = item(schedule="", start=start, end=end)
    assert data["@type"] == EVENT and data["@id"] == f"{PUBLIC}/openactive/events/7"
    assert "eventSchedule" not in data
    assert (data["startDate"], data.get("endDate"), data.get("duration")) == dates


@pytest.mark.parametrize(
    ("address", "country", "code"),
    [("Götaplatsen 3, 412 56 Göteborg", "SE", "412 56"), ("Drottninggatan 1, 11151 Stockholm", "SE", "11151"),
     ("ul. Długa 5, 00-238 Warszawa", "PL", "00-238"), ("Koroška cesta 1, 4000 Kranj", "SI", "4000"),
     ("Slovenska cesta 1234/5", "SI", None), ("Götaplatsen 3", "SE", None), ("10115 Berlin", "DE", None)],
)  # fmt: skip
def test_the_postcode_is_read_from_the_address(address: str, country: str, code: str | None) -> None:
    assert openactive.postal_code(address, country) == code


def test_a_place_is_named_by_its_venue_else_its_address_else_its_city() -> None:
    assert item()["location"]["name"] == "Stadsbiblioteket"
    assert item(venue="")["location"]["name"] == "Götaplatsen 3, 412 56 Göteborg"
    assert item(venue="", address="")["location"]["name"] == "Göteborg"


@pytest.mark.parametrize(
    ("changes", "address"),
    [({"address": "Götaplatsen 3"}, "Götaplatsen 3, Göteborg, Västra Götaland, SE"),
     ({"address": ""}, "Göteborg, Västra Götaland, SE"),
     ({"address": "Mestni trg 1, Ljubljana", "city": "Ljubljana", "country": "SI"}, "Mestni trg 1, Ljubljana, Slovenija, SI"),
     ({"address": "Rynek 1", "city": "Kraków", "country": "PL"}, "Rynek 1, Kraków, Poland, PL")],
)  # fmt: skip
def test_an_address_without_all_its_parts_is_one_line(changes: dict[str, str], address: str) -> None:
    """OpenActive's PostalAddress needs a street, a postcode and a region: without them, text."""
    assert item(**changes)["location"]["address"] == address


def test_a_rule_no_longer_accepted_counts_as_one_event() -> None:
    assert openactive.kind(opportunity(schedule="FREQ=MINUTELY")) == EVENT
    assert openactive.kind(opportunity()) == SESSION_SERIES


@pytest.mark.parametrize(
    ("mode", "place", "virtual", "attendance"),
    [(Mode.IN_PERSON, True, False, "Offline"), (Mode.ONLINE, False, True, "Online"), (Mode.HYBRID, True, True, "Mixed")],
)
def test_online_activities_have_a_virtual_location(mode: Mode, place: bool, virtual: bool, attendance: str) -> None:
    data = item(mode=mode)
    assert ("location" in data) is place
    assert data["eventAttendanceMode"] == f"https://schema.org/{attendance}EventAttendanceMode"
    assert data["@context"] == (
        "https://openactive.io/" if not virtual else ["https://openactive.io/", "https://openactive.io/ns-beta"]
    )
    assert data.get("beta:virtualLocation") == (
        {"@type": "VirtualLocation", "url": "https://example.org/kod"} if virtual else None
    )


def test_an_approximate_place_has_its_address_but_no_coordinates() -> None:
    data = item(precision=Precision.POSTCODE, uncertainty_m=1500)
    assert "geo" not in data["location"] and data["location"]["address"]["postalCode"] == "412 56"
    assert "geo" not in item(latitude=None, longitude=None, precision=None, uncertainty_m=None)["location"]


@pytest.mark.parametrize(
    ("changes", "offer", "free"),
    [({"cost": Decimal("50")}, {"price": 50, "priceCurrency": "SEK"}, False),
     ({"cost": Decimal("12.50"), "currency": "EUR", "country": "SI"}, {"price": 12.5, "priceCurrency": "EUR"}, False),
     ({"country": "PL"}, {"price": 0, "priceCurrency": "PLN"}, True),
     ({"country": "DE"}, {"price": 0}, True)],
)  # fmt: skip
def test_offers(changes: dict[str, Any], offer: dict[str, Any], free: bool) -> None:
    data = item(**changes)
    [found] = data["offers"]
    assert {k: v for k, v in found.items() if k not in ("@type", "@id")} == offer
    assert data["isAccessibleForFree"] is free


def test_every_item_has_an_age_range_and_an_open_one_has_no_maximum() -> None:
    assert item(age_min=16, age_max=None)["ageRange"] == {"@type": "QuantitativeValue", "minValue": 16}


def test_our_link_when_the_provider_gave_none_or_an_unsafe_one() -> None:
    assert item(url="")["url"] == f"{PUBLIC}/explore?id=7"
    assert item(url="javascript:alert(1)")["url"] == f"{PUBLIC}/explore?id=7"


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("Lokalen är tillgänglig med rullstol och har hörslinga.", ["Hearing impairment", "Physical impairment"]),
        ("Entré utan trappsteg; tillgänglig toalett finns.", ["Physical impairment"]),
        ("Prostor je dostopen z invalidskim vozičkom.", ["Physical impairment"]),
        ("Budynek jest dostępny dla osób na wózkach.", ["Physical impairment"]),
        ("Step-free access, a hearing loop and Braille menus.", ["Visual impairment", "Hearing impairment", "Physical impairment"]),
        ("Autism-friendly quiet room; easy read materials", ["Learning impairment"]),
        ("Tłumacz języka migowego", ["Hearing impairment"]),
        ("Support for young people with mental health issues", ["Mental health issues"]),
        ("", []),
        ("Bring a packed lunch; the room is on the second floor.", []),
        ("Dovolj prostora za vse.", []),  # "dov…" is not "döv" (deaf)
    ],
)  # fmt: skip
def test_accessibility_support_from_the_providers_words(text: str, labels: list[str]) -> None:
    assert [c["prefLabel"] for c in openactive.accessibility_support(text)] == labels
    if labels:
        assert item(accessibility=text)["accessibilitySupport"][0]["inScheme"] == "https://openactive.io/accessibility-support"


@pytest.mark.parametrize(
    ("title", "topics", "labels"),
    [
        ("Climbing for beginners", ("sport-outdoors",), ["Climbing"]),
        ("Klättring", ("sport-outdoors",), ["Climbing"]),
        ("Plezanje za mlade", ("sport-outdoors",), ["Climbing"]),
        ("Bieg na orientację", ("sport-outdoors",), ["Orienteering"]),
        ("Turystyka piesza", ("sport-outdoors",), ["Hiking"]),
        ("Fotboll och innebandy", ("sport-outdoors", "wellbeing"), ["Football", "Floorball"]),
        ("Friluftsliv", ("sport-outdoors",), []),  # no concept fits: none
        ("Climbing the career ladder", ("careers",), []),  # sports only for sport-outdoors
        ("Running a business", ("entrepreneurship",), []),
        ("Dans och teater", ("arts-culture",), ["Dance", "Acting"]),  # the arts for any topic
        ("Kör för unga", ("arts-culture",), ["Singing"]),
        ("Kortspel", ("arts-culture",), []),  # "kör" is a whole word
        ("Gledališka delavnica", ("arts-culture",), ["Acting"]),
        ("Chór szkolny", ("arts-culture",), ["Singing"]),
        ("Trädgårdsodling", ("sustainability",), ["Gardening"]),
        ("Mindfulness", ("wellbeing",), ["Meditation"]),
        ("Yoga i parken", ("sport-outdoors",), ["Yoga"]),
    ],
)  # fmt: skip
def test_activities_named_by_the_title(title: str, topics: tuple[str, ...], labels: list[str]) -> None:
    data = item(title=title, topics=topics)
    assert [c["prefLabel"] for c in data.get("activity", [])] == labels
    assert openactive.in_scope(opportunity(title=title, topics=topics)) is bool(labels)


@pytest.mark.parametrize(
    ("file", "table"),
    [
        ("accessibility-support.jsonld", openactive.ACCESSIBILITY),
        ("activity-list.jsonld", openactive.ACTIVITIES),
        ("activity-list.jsonld", openactive.ANY_TOPIC_ACTIVITIES),
    ],
)
def test_the_concepts_are_openactives_own(file: str, table: dict[str, tuple[str, str]]) -> None:
    concepts = {c["id"]: c["prefLabel"] for c in json.loads(Path(LISTS / file).read_text(encoding="utf-8"))["concept"]}
    scheme = openactive.ACCESSIBILITY_SCHEME if "accessibility" in file else openactive.ACTIVITY_SCHEME
    wrong = [(concept, label) for concept, (label, _stems) in table.items() if concepts.get(f"{scheme}#{concept}") != label]
    assert wrong == []
