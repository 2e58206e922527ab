from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from opportunities.errors import RecordError
from opportunities.explore.search import SearchQuery, search
from opportunities.places.geocoding import Geocoder
from opportunities.validation import parse_opportunity, parse_when
from opportunities.vocabulary import AGE_GROUPS_BY_ID, Mode, OpportunityType, topic_from_text
from tests.conftest import template_row


def test_valid_row_parses() -> None:
    opp = parse_opportunity(template_row())
    assert opp.title == "Kodklubb"
    assert opp.topics == ("digital-skills",)
    assert (opp.age_min, opp.age_max) == (12, 16)
    assert opp.mode is Mode.IN_PERSON and opp.type is OpportunityType.CLUB
    assert opp.start == datetime(2026, 12, 2, 17, 0)
    assert opp.end == date(2027, 5, 26)
    assert opp.cost == 0 and opp.is_free
    assert opp.languages == ("sv", "en")
    assert opp.age_groups == ("children", "teens")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("title", "", "title: This is required."),
        ("title", "x" * 201, "at most 200"),
        ("provider", "", "provider: This is required."),
        ("city", "", "city: This is required."),
        ("country", "", "country: This is required."),
        ("country", "Sweden", "'Sweden' is not a country code"),
        ("country", "XX", "'XX' is not a country code"),
        ("topics", "", "topics: This is required."),
        ("topics", "cooking", "unknown topic 'cooking'"),
        ("age_min", "", "age_min: This is required."),
        ("age_min", "twelve", "not a number"),
        ("age_min", "12.5", "whole number"),
        ("age_min", "-1", "outside 0–120"),
        ("age_min", "121", "outside 0–120"),
        ("age_max", "10", "age_max: The oldest age (10) is below the youngest age (12)."),
        ("mode", "", "mode: This is required."),
        ("mode", "teleport", "in-person, online, hybrid"),
        ("type", "party", "workshop, course"),
        ("start", "", "start: This is required."),
        ("start", "tomorrow", "not a date"),
        ("start", "2026-02-30", "not a date"),
        ("start", "2026-12-02T17:00+01:00", "start: Give the local time of the city."),
        ("end", "2026-11-01", "end: The end is before the start."),
        ("schedule", "every wednesday", "schedule: This schedule cannot be used: This is not a recurrence rule"),
        ("schedule", "FREQ=SOMETIMES", "FREQ=SOMETIMES is unknown; use DAILY, WEEKLY, MONTHLY or YEARLY"),
        ("cost", "ten", "not a price"),
        ("cost", "-5", "between 0"),
        ("currency", "XYZ", "'XYZ' is not a currency code"),
        ("languages", "swedish", "'swedish' is not a language code"),
        ("url", "javascript:alert(1)", "http:// or https://"),
        ("url", "ftp://example.org", "http:// or https://"),
        ("url", "https://", "http:// or https://"),
        ("contact_email", "not-an-email", "not an email address"),
        ("latitude", "north", "not a number"),
        ("latitude", "95", "latitude: 95.0 is outside −90…90"),
        ("longitude", "181", "longitude: 181.0 is outside −180…180"),
    ],
)
def test_invalid_fields_are_reported_with_a_reason(field: str, value: str, expected: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_opportunity(template_row(**{field: value}))
    fields = [e.field for e in caught.value.errors]
    assert field in fields or (field == "age_max" and "age_max" in fields)
    assert expected in str(caught.value)


def test_all_errors_of_a_row_are_reported_together() -> None:
    with pytest.raises(RecordError) as caught:
        parse_opportunity(template_row(title="", age_min="x", mode="?", url="javascript:x"))
    assert {e.field for e in caught.value.errors} == {"title", "age_min", "mode", "url"}


def test_cost_needs_currency() -> None:
    with pytest.raises(RecordError, match=r"currency: Choose the currency of the price\."):
        parse_opportunity(template_row(cost="50"))


@pytest.mark.parametrize("field", ["title", "provider", "city"])
@pytest.mark.parametrize("value", ["!!!", "🎨 ✨", "--"])
def test_names_need_letters_or_digits(field: str, value: str) -> None:
    # Names are compared folded; "!!!" and "???" would be one provider.
    with pytest.raises(RecordError, match=f"{field}: .* has no letters or digits"):
        parse_opportunity(template_row(**{field: value}))


@pytest.mark.parametrize(("field", "value", "limit"), [("provider", "Straße " * 28, 200), ("city", "ﬃ" * 40, 100)])
def test_names_whose_folded_key_would_not_fit_are_rejected(field: str, value: str, limit: int) -> None:
    # Within the length limit as written, but ß and ﬃ are spelled out for matching.
    with pytest.raises(RecordError, match=rf"{field}: This is too long; shorten it to {limit} characters\."):
        parse_opportunity(template_row(**{field: value}))


@pytest.mark.parametrize("title", ["Кодування", "编程", "C#", "Ρομποτική", "البرمجة"])
def test_names_in_any_script_are_valid(title: str) -> None:
    assert parse_opportunity(template_row(title=title)).title == title


def test_only_one_coordinate_is_an_error() -> None:
    with pytest.raises(RecordError, match="give both latitude and longitude"):
        parse_opportunity(template_row(latitude="57.7"))


@pytest.mark.parametrize(
    ("field", "value", "attribute", "expected"),
    [
        ("cost", "", "cost", Decimal(0)),
        ("cost", "free", "cost", Decimal(0)),
        ("cost", "Gratis", "cost", Decimal(0)),
        ("cost", "12,50", "cost", Decimal("12.50")),
        ("topics", "Digital Skills; konst och kultur ;Języki", "topics", ("digital-skills", "arts-culture", "languages")),
        ("topics", "digital-skills;DIGITAL-SKILLS", "topics", ("digital-skills",)),
        ("mode", "In person", "mode", Mode.IN_PERSON),
        ("country", "se", "country", "SE"),
        ("age_max", "", "age_max", None),
        ("age_min", "15.0", "age_min", 15),
        ("start", "2026-12-02", "start", date(2026, 12, 2)),
        ("start", "2026-12-02T09:30", "start", datetime(2026, 12, 2, 9, 30)),
        ("schedule", "RRULE:freq=weekly;byday=we", "schedule", "FREQ=WEEKLY;BYDAY=WE"),
        ("languages", "SL, en", "languages", ("sl", "en")),
        ("latitude", "57,70", "latitude", 57.70),
    ],
)
def test_lenient_but_exact_parsing(field: str, value: str, attribute: str, expected: object) -> None:
    row = template_row(**{field: value})
    if field == "cost" and value not in ("", "free", "Gratis"):
        row["currency"] = "SEK"
    if field == "latitude":
        row["longitude"] = "11.97"
    assert getattr(parse_opportunity(row), attribute) == expected


@pytest.mark.parametrize(
    ("age_min", "age_max", "groups"),
    [
        (6, 12, ("children",)),
        (12, 13, ("children", "teens")),
        (15, 15, ("teens",)),
        (16, None, ("teens", "young-adults", "adults")),
        (0, 5, ()),
        (31, 99, ("adults",)),
    ],
)
def test_age_groups_follow_overlap(age_min: int, age_max: int | None, groups: tuple[str, ...]) -> None:
    opp = parse_opportunity(template_row(age_min=str(age_min), age_max="" if age_max is None else str(age_max)))
    assert opp.age_groups == groups
    assert all(AGE_GROUPS_BY_ID[g].overlaps(age_min, age_max) for g in groups)


def test_topic_labels_in_every_language() -> None:
    assert topic_from_text("Umiejętności cyfrowe") == "digital-skills"
    assert topic_from_text("digitalne SPRETNOSTI") == "digital-skills"
    assert topic_from_text("Hållbarhet") == "sustainability"
    assert topic_from_text("nonsense") is None


def test_recurring_sessions() -> None:
    opp = parse_opportunity(template_row())
    sessions = opp.sessions(datetime(2026, 12, 1), datetime(2026, 12, 31), limit=10)
    assert sessions == [datetime(2026, 12, d, 17, 0) for d in (2, 9, 16, 23, 30)]
    assert opp.sessions(datetime(2027, 6, 1), datetime(2027, 7, 1)) == []


TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        ({"start": "0001-01-01"}, "start", "is before 2000-01-01"),
        ({"start": "1999-12-31 17:00", "end": ""}, "start", "is before 2000-01-01"),
        ({"start": "9999-12-31", "end": ""}, "start", "is after 2036-11-23"),
        ({"start": "2036-11-24", "end": "", "schedule": ""}, "start", "is after 2036-11-23"),
        ({"end": "9999-12-31"}, "end", "is after 2036-12-02"),
        ({"end": "2036-12-03"}, "end", "series can last at most 10 years"),
        ({"schedule": "FREQ=WEEKLY;BYDAY=WE;UNTIL=20401231"}, "schedule", "The series would last more than 10 years"),
        (
            {"schedule": "FREQ=YEARLY;COUNT=12", "end": ""},
            "schedule",
            "12 sessions would last until 2037-12-02, more than 10 years",
        ),
    ],
)
def test_dates_are_bounded(overrides: dict[str, str], field: str, expected: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_opportunity(template_row(**overrides), today=TODAY)
    assert [e.field for e in caught.value.errors] == [field]
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    "overrides",
    [
        {"start": "2000-01-01", "end": "2009-12-31"},
        {"start": "2036-11-23", "end": "2046-11-23"},
        {"start": "2028-02-29", "end": "2038-02-28"},  # ten years from a 29 February
        {"schedule": "FREQ=WEEKLY;BYDAY=WE;UNTIL=20361202", "end": ""},
    ],
)
def test_dates_at_the_bounds_are_accepted(overrides: dict[str, str]) -> None:
    parse_opportunity(template_row(**overrides), today=TODAY)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("FREQ=MINUTELY", "can repeat daily, weekly, monthly or yearly, not FREQ=MINUTELY"),
        ("FREQ=SECONDLY;COUNT=5", "can repeat daily, weekly, monthly or yearly, not FREQ=SECONDLY"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "has no session between the start and the end"),
        ("FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4", "has no session between the start and the end"),
        ("FREQ=WEEKLY;BYDAY=WE\r\nATTENDEE:mailto:x@example.org", "invisible control character (U+000D)"),
    ],
)
def test_schedules_that_are_not_activity_schedules_are_rejected(schedule: str, expected: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_opportunity(template_row(schedule=schedule), today=TODAY)
    assert [e.field for e in caught.value.errors] == ["schedule"]
    assert expected in str(caught.value)


def test_a_schedule_ending_before_its_first_session_is_rejected() -> None:
    # 2026-12-02 is a Wednesday: a Friday rule ending the next day has no session at all.
    with pytest.raises(RecordError, match="has no session between the start and the end"):
        parse_opportunity(template_row(schedule="FREQ=WEEKLY;BYDAY=FR", end="2026-12-03"), today=TODAY)


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-Infinity", "1e400"])
@pytest.mark.parametrize("field", ["age_min", "age_max", "latitude", "longitude", "cost"])
def test_nan_and_infinity_are_not_numbers(field: str, value: str) -> None:
    # float() accepts them; int(nan) then raised ValueError and the whole import stopped with a traceback.
    row = template_row(currency="SEK", latitude="57.7", longitude="11.9")
    row[field] = value
    with pytest.raises(RecordError) as caught:
        parse_opportunity(row)
    assert field in [e.field for e in caught.value.errors]
    assert repr(value) in str(caught.value)


def test_every_length_limit_is_the_stored_columns() -> None:
    from opportunities.db.schema import cities, opportunities, providers
    from opportunities.validation import MAX_LENGTHS

    assert MAX_LENGTHS["schedule"] == opportunities.c.schedule.type.length == 500
    assert MAX_LENGTHS["provider"] == providers.c.name.type.length
    assert MAX_LENGTHS["city"] == cities.c.name.type.length
    assert MAX_LENGTHS["currency"] == opportunities.c.currency.type.length
    # Every bounded column a template field is stored in has its limit checked.
    assert {"title", "provider", "city", "venue", "address", "schedule", "currency", "url", "contact_email"} <= set(MAX_LENGTHS)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (
            "schedule",
            "FREQ=WEEKLY;BYDAY=" + ",".join(["MO"] * 200),
            "schedule: This is 617 characters long; at most 500 are allowed.",
        ),
        ("provider", "p" * 201, "provider: This is 201 characters long; at most 200 are allowed."),
        ("city", "Göteborg" + "g" * 100, "city: This is 108 characters long; at most 100 are allowed."),
        # Folded for the duplicate key, "ß" becomes "ss": 150 characters would not fit in 200.
        ("provider", "ß" * 150, "provider: This is too long; shorten it to 200 characters."),
        ("title", "Kod\x00klubb", "title: This contains an invisible control character (U+0000) at position 4; remove it."),
        ("city", "Göteborg\x1b", "city: This contains an invisible control character (U+001B)"),
        ("title", "Kod\tklubb", "U+0009"),
        ("url", "https://example.org/\x7f", "U+007F"),
        (
            "description",
            "line\x00",
            "description: This contains an invisible control character (U+0000) at position 5; remove it.",
        ),
        ("currency", "SEKK", "currency: This is 4 characters long; at most 3 are allowed."),
    ],
)
def test_over_long_and_control_characters_reject_the_row(field: str, value: str, expected: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_opportunity(template_row(**{"cost": "10", "currency": "SEK", field: value}))
    assert expected in str(caught.value)
    assert [e.field for e in caught.value.errors].count(field) == 1  # reported once, not also "is required"


def test_line_breaks_and_tabs_stay_in_multiline_fields() -> None:
    opp = parse_opportunity(template_row(description="Rad 1\r\nRad 2\tmed tab", accessibility="Ramp\nHiss"))
    assert opp.description == "Rad 1\r\nRad 2\tmed tab"
    assert opp.accessibility == "Ramp\nHiss"


def test_languages_are_limited_per_opportunity() -> None:
    from opportunities.validation import MAX_LANGUAGES

    many = ";".join(["sv", "en", "sl", "pl", "de", "fr", "es", "it", "fi", "da", "no", "nl", "pt", "cs", "sk",
                     "hu", "ro", "bg", "hr", "sr", "uk"])  # fmt: skip
    with pytest.raises(RecordError, match=f"languages: 21 languages are chosen; .* at most {MAX_LANGUAGES}"):
        parse_opportunity(template_row(languages=many))
    assert len(parse_opportunity(template_row(languages=many.rsplit(";", 1)[0])).languages) == MAX_LANGUAGES


def test_an_over_long_or_nul_bearing_value_rejects_only_its_row(engine: Engine, geocoder: Geocoder) -> None:
    # On PostgreSQL either value made the driver raise and aborted the whole file's transaction.
    from opportunities.listings.importing import import_records

    records = [
        template_row(title="Kodklubb 1"),
        template_row(title="Kodklubb 2", schedule="FREQ=WEEKLY;BYDAY=" + ",".join(["WE"] * 200)),
        template_row(title="Kodklubb 3"),
        template_row(title="Kod\x00klubb 4"),
        template_row(title="Kodklubb 5", provider="Stadsbiblioteket\x1bGöteborg"),
        template_row(title="Kodklubb 6"),
    ]
    report = import_records(engine, records, geocoder, publish=True)
    assert report.stored == 3
    assert [(r.row, r.field) for r in report.rejected] == [(3, "schedule"), (5, "title"), (6, "provider")]
    assert "at most 500" in report.rejected[0].reason
    assert "U+0000" in report.rejected[1].reason
    with engine.connect() as conn:
        assert sorted(o.title for o in search(conn, SearchQuery(limit=10))) == ["Kodklubb 1", "Kodklubb 3", "Kodklubb 6"]


@pytest.mark.parametrize("text", ["brezplac\u030cno", "BEZPŁATNE", "Kostnadsfritt", " gratis "])
def test_free_words_match_folded(text: str) -> None:
    # A macOS file writes "č" decomposed (c + combining caron): still the Slovenian "free".
    assert parse_opportunity(template_row(cost=text)).cost == 0


@pytest.mark.parametrize("text", ["?", "-", "n/a"])
def test_symbols_are_not_free(text: str) -> None:
    with pytest.raises(RecordError, match="cost"):
        parse_opportunity(template_row(cost=text))


@pytest.mark.parametrize("text", ["2027-03-28", "20270328"])
def test_a_day_without_a_time_is_a_day(text: str) -> None:
    """Not an event at midnight: "20270328" (ISO 8601's compact form) used to become 00:00."""
    assert parse_when(text, "start") == date(2027, 3, 28)
