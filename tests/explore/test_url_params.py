"""Filters read from and written to URL query parameters."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from opportunities.explore.url_params import (
    FILTER_NAMES,
    ExploreParams,
    Filters,
    MapPosition,
    filters_from_params,
    local_today,
    map_position_from_params,
    read_params,
    relaxations,
    selected_from_params,
    share_url,
)
from opportunities.i18n import negotiate_language
from opportunities.vocabulary import Mode, OpportunityType

CITIES = ("Kranj", "Göteborg", "Łódź")
TAUGHT = ("en", "sl", "sv")
TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, Filters()),
        ({"city": ["Kranj"]}, Filters(city="Kranj")),
        ({"city": ["goteborg"]}, Filters(city="Göteborg")),
        ({"city": ["LODZ"]}, Filters(city="Łódź")),
        ({"topic": ["digital-skills"]}, Filters(topics=("digital-skills",))),
        ({"topic": ["Digital skills", "arts-culture"]}, Filters(topics=("digital-skills", "arts-culture"))),
        ({"topic": ["Digitala färdigheter,digital-skills"]}, Filters(topics=("digital-skills",))),
        ({"age": ["15"]}, Filters(age=15)),
        ({"age": ["0"]}, Filters(age=0)),
        ({"age": ["teens"]}, Filters(age_group="teens")),
        ({"age": ["Teens"]}, Filters(age_group="teens")),
        ({"free": ["1"]}, Filters(free_only=True)),
        ({"free": ["0"]}, Filters()),
        ({"age": ["12", "14"]}, Filters(age=14)),  # the last value wins
        ({"unknown": ["x"]}, Filters()),
    ],
)
def test_usable_values(params: dict[str, list[str]], expected: Filters) -> None:
    assert filters_from_params(params, cities=CITIES) == (expected, [])


@pytest.mark.parametrize(("wanted", "city"), [("БЕОГРАД", "Београд"), ("αθηνα", "Αθήνα"), ("київ", "Київ"), ("LODZ", "Łódź")])
def test_city_names_in_any_script(wanted: str, city: str) -> None:
    # With the old folding every non-Latin name was "", and all of them one city.
    cities = ("Łódź", "Київ", "Београд", "Αθήνα")
    assert filters_from_params({"city": [wanted]}, cities=cities) == (Filters(city=city), [])


@pytest.mark.parametrize(
    ("params", "expected", "message"),
    [
        ({"city": ["<script>alert(1)</script>"]}, Filters(), "The city “scriptalert1script” in the link is not on the map"),
        ({"city": ["Atlantis"]}, Filters(), "“Atlantis”"),
        ({"city": ["x" * 500]}, Filters(), "too long"),
        ({"topic": ["cooking", "languages"]}, Filters(topics=("languages",)), "The topic “cooking”"),
        ({"age": ["abc"]}, Filters(), "The age “abc” in the link was ignored"),
        ({"age": ["-3"]}, Filters(), "The age “-3”"),
        ({"age": ["121"]}, Filters(), "The age “121”"),
        ({"age": ["١٥"]}, Filters(), "The age"),  # Arabic-Indic digits: isdecimal but not an age we accept
        ({"age": ["1e3"]}, Filters(), "The age “1e3”"),
        ({"free": ["maybe"]}, Filters(), "The free filter “maybe”"),
        ({"city": ["![x](https://evil.example/t.png)"]}, Filters(), "“xhttpsevil.examplet.png”"),
    ],
)
def test_unusable_values_are_dropped_with_a_message(params: dict[str, list[str]], expected: Filters, message: str) -> None:
    filters, problems = filters_from_params(params, cities=CITIES)
    assert filters == expected
    assert len(problems) == 1
    assert message in problems[0]
    for markup in "<>[]()!`*":
        assert markup not in problems[0].split("in the link")[0]


@pytest.mark.parametrize(
    "filters",
    [
        Filters(),
        Filters(city="Göteborg", topics=("digital-skills", "languages"), age_group="teens", free_only=True),
        Filters(city="Kranj", age=16),
    ],
)
def test_params_round_trip(filters: Filters) -> None:
    params = {k: [v] if isinstance(v, str) else v for k, v in filters.to_params().items()}
    assert filters_from_params(params, cities=CITIES) == (filters, [])


def test_to_query() -> None:
    query = Filters(city="Kranj", topics=("languages",), age=15, free_only=True).to_query(limit=50, today=TODAY)
    assert (query.city, query.topics, query.age, query.free_only, query.limit) == ("Kranj", ("languages",), 15, True, 50)
    assert (query.date_from, query.date_to, query.near) == (TODAY, None, None)


def test_to_query_all_fields() -> None:
    filters = Filters(
        date_from=date(2027, 1, 1), date_to=date(2027, 2, 1), modes=(Mode.ONLINE,), types=(OpportunityType.CLUB,),
        language="sv", accessible_only=True, text="robot", place="Kranj", radius_km=25,
    )  # fmt: skip
    query = filters.to_query(limit=10, today=TODAY, near=(46.24, 14.36))
    assert (query.date_from, query.date_to) == (date(2027, 1, 1), date(2027, 2, 1))
    assert (query.modes, query.types, query.language) == ((Mode.ONLINE,), (OpportunityType.CLUB,), "sv")
    assert (query.accessible_only, query.text, query.near, query.radius_km) == (True, "robot", (46.24, 14.36), 25.0)


def test_an_end_before_the_start_is_not_searched() -> None:
    query = Filters(date_from=date(2027, 3, 1), date_to=date(2027, 2, 1)).to_query(limit=10, today=TODAY)
    assert (query.date_from, query.date_to) == (date(2027, 3, 1), None)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"from": ["2027-01-10"]}, Filters(date_from=date(2027, 1, 10))),
        ({"to": ["2027-01-10"]}, Filters(date_to=date(2027, 1, 10))),
        ({"from": ["2027-01-10"], "to": ["2027-01-10"]}, Filters(date_from=date(2027, 1, 10), date_to=date(2027, 1, 10))),
        ({"mode": ["online", "hybrid"]}, Filters(modes=(Mode.ONLINE, Mode.HYBRID))),
        ({"mode": ["Online,online"]}, Filters(modes=(Mode.ONLINE,))),
        ({"type": ["workshop", "club"]}, Filters(types=(OpportunityType.WORKSHOP, OpportunityType.CLUB))),
        ({"accessible": ["1"]}, Filters(accessible_only=True)),
        ({"language": ["SV"]}, Filters(language="sv")),
        ({"q": ["  robot  "]}, Filters(text="robot")),
        ({"near": ["Kranj"]}, Filters(place="Kranj")),
        ({"radius": ["25"]}, Filters(radius_km=25)),
    ],
)
def test_usable_values_of_the_other_filters(params: dict[str, list[str]], expected: Filters) -> None:
    assert filters_from_params(params, cities=CITIES, languages_taught=TAUGHT, today=TODAY) == (expected, [])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": ["2027-13-01"]}, "The date “2027-13-01” (from)"),
        ({"from": ["tomorrow"]}, "The date “tomorrow” (from)"),
        ({"to": ["1900-01-01"]}, "The date “1900-01-01” (to)"),
        ({"to": ["+002027-01-01"]}, "(to)"),
        ({"from": ["2027-02-01"], "to": ["2027-01-01"]}, "before the start date"),
        ({"to": ["2026-01-01"]}, "before the start date"),  # before today, the default start
        ({"mode": ["boat"]}, "The mode “boat”"),
        ({"type": ["<b>party</b>"]}, "The type “bpartyb”"),
        ({"accessible": ["maybe"]}, "The accessible filter “maybe”"),
        ({"language": ["xx"]}, "The language “xx”"),
        ({"language": ["sv;drop table"]}, "The language"),
        ({"q": ["x" * 101]}, "The q in the link is too long"),
        ({"near": ["x" * 101]}, "The near in the link is too long"),
        ({"radius": ["0"]}, "The radius “0”"),
        ({"radius": ["101"]}, "The radius “101”"),
        ({"radius": ["nan"]}, "The radius “nan”"),
        ({"radius": ["1e2"]}, "The radius “1e2”"),
    ],
)
def test_unusable_values_of_the_other_filters(params: dict[str, list[str]], message: str) -> None:
    filters, problems = filters_from_params(params, cities=CITIES, languages_taught=TAUGHT, today=TODAY)
    assert filters.date_to is None
    assert set(filters.to_params()) <= {"from"} & set(params)  # the bad value is not written back into the link
    assert len(problems) == 1
    assert message in problems[0]


@pytest.mark.parametrize(
    "filters",
    [
        Filters(date_from=date(2027, 1, 2), date_to=date(2027, 3, 4), modes=(Mode.IN_PERSON,), types=(OpportunityType.CAMP,)),
        Filters(language="sv", accessible_only=True, text="robot & co", place="Kranj, Slovenia", radius_km=50),
    ],
)
def test_params_round_trip_all_filters(filters: Filters) -> None:
    params = {k: [v] if isinstance(v, str) else v for k, v in filters.to_params().items()}
    assert filters_from_params(params, cities=CITIES, languages_taught=TAUGHT, today=TODAY) == (filters, [])


def test_active_and_without() -> None:
    filters = Filters(city="Kranj", free_only=True, place="Kranj", radius_km=30, date_to=date(2027, 1, 1))
    assert filters.active() == ("free", "dates", "near", "city")
    assert filters.without("free") == Filters(city="Kranj", place="Kranj", radius_km=30, date_to=date(2027, 1, 1))
    assert filters.without("near") == Filters(city="Kranj", free_only=True, date_to=date(2027, 1, 1))
    assert Filters(use_browser_position=True).active() == ("near",)
    assert Filters(use_browser_position=True).without("near") == Filters()
    assert Filters().active() == ()
    assert set(FILTER_NAMES) == set(Filters(
        city="x", topics=("languages",), age=3, date_from=TODAY, modes=(Mode.ONLINE,), types=(OpportunityType.CLUB,),
        free_only=True, accessible_only=True, badge_only=True, playlist=7, language="sv", text="x", place="x",
    ).active())  # fmt: skip


def test_relaxations_name_the_filters_that_help_most_first() -> None:
    filters = Filters(free_only=True, accessible_only=True, city="Kranj")
    counts = {"free": 3, "accessible": 0, "city": 7}

    def count(relaxed: Filters) -> int:
        (name,) = set(filters.active()) - set(relaxed.active())
        return counts[name]

    assert relaxations(filters, count) == [("city", 7), ("free", 3)]
    assert relaxations(Filters(), count) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, None),
        ({"lat": ["46.24"], "lon": ["14.36"], "z": ["12"]}, MapPosition(46.24, 14.36, 12)),
        ({"lat": ["-33.9"], "lon": ["-70.5"], "z": ["0"]}, MapPosition(-33.9, -70.5, 0)),
    ],
)
def test_map_position(params: dict[str, list[str]], expected: MapPosition | None) -> None:
    assert map_position_from_params(params) == (expected, [])


@pytest.mark.parametrize(
    "params",
    [
        {"lat": ["46.24"]},
        {"lat": ["46.24"], "lon": ["14.36"], "z": ["20"]},
        {"lat": ["95"], "lon": ["14.36"], "z": ["3"]},
        {"lat": ["nan"], "lon": ["14.36"], "z": ["3"]},
        {"lat": ["inf"], "lon": ["14.36"], "z": ["3"]},
        {"lat": ["46"], "lon": ["1e400"], "z": ["3"]},
        {"lat": ["46"], "lon": ["14"], "z": ["3.5"]},
        {"lat": ["<script>"], "lon": ["14"], "z": ["3"]},
    ],
)
def test_unusable_map_positions(params: dict[str, list[str]]) -> None:
    position, problems = map_position_from_params(params)
    assert position is None
    assert len(problems) == 1
    assert "map position" in problems[0]


def test_map_position_to_params_round_trips() -> None:
    position = MapPosition(46.123456, 14.654321, 11)
    params = {k: [str(v)] for k, v in position.to_params().items()}
    assert map_position_from_params(params) == (MapPosition(46.12346, 14.65432, 11), [])


@pytest.mark.parametrize(
    ("value", "expected", "problem"),
    [
        ("123", 123, False),
        (" 7 ", 7, False),
        ("abc", None, True),
        ("0", None, True),
        ("-5", None, True),
        ("1.5", None, True),
        ("99999999999999999999", None, True),  # beyond 64 bits
        ("١٢", None, True),
    ],
)
def test_selected_id(value: str, expected: int | None, problem: bool) -> None:
    selected, problems = selected_from_params({"id": [value]})
    assert selected == expected
    assert bool(problems) is problem


@pytest.mark.parametrize(
    ("lang", "accept", "expected", "problems"),
    [
        ([], "", "en", 0),
        (["sv"], "", "sv", 0),
        (["SL"], "pl", "sl", 0),
        ([], "pl-PL,pl;q=0.9,en;q=0.5", "pl", 0),
        (["xx"], "sv-SE", "sv", 1),
        (["<script>"], "", "en", 1),
    ],
)
def test_read_params_chooses_the_ui_language(lang: list[str], accept: str, expected: str, problems: int) -> None:
    read = read_params(
        {"lang": lang} if lang else {},
        cities=CITIES,
        browser_language=negotiate_language([accept]) if accept else "en",
        today=TODAY,
    )
    assert read.language == expected
    assert len(read.problems) == problems


def test_read_params_reads_everything_and_messages_follow_the_language() -> None:
    params = {"lang": ["sv"], "city": ["kranj"], "id": ["42"], "lat": ["46"], "lon": ["14"], "z": ["9"], "age": ["abc"]}
    read = read_params(params, cities=CITIES, today=TODAY)
    assert read == ExploreParams(
        language="sv", filters=Filters(city="Kranj"), selected=42, position=MapPosition(46, 14, 9), problems=read.problems
    )
    assert len(read.problems) == 1
    english = read_params({**params, "lang": ["en"]}, cities=CITIES, today=TODAY)
    assert english.problems[0] != read.problems[0]  # translated
    assert read.to_params(default_language="en") == {
        "city": "Kranj", "id": "42", "lat": "46.00000", "lon": "14.00000", "z": "9", "lang": "sv",
    }  # fmt: skip
    assert "lang" not in read.to_params(default_language="sv")
    assert read.to_params(default_language=None)["lang"] == "sv"  # a link to share always names its language


def test_share_url() -> None:
    url = share_url("http://127.0.0.1:8620/?old=1#x", {"city": "Göteborg", "topic": ["a", "b"], "q": "robot & co", "id": "7"})
    assert url == "http://127.0.0.1:8620/?city=G%C3%B6teborg&topic=a&topic=b&q=robot+%26+co&id=7"
    assert share_url("http://127.0.0.1:8620", {"id": "7"}) == "http://127.0.0.1:8620/?id=7"
    assert share_url("", {}) == "/"


# 2026-11-24 01:00 UTC: still the evening of the 23rd in Santo Domingo (UTC−4), the 24th in Europe.
LATE_EVENING_IN_THE_AMERICAS = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zones", "now", "expected"),
    [
        (["America/Santo_Domingo"], LATE_EVENING_IN_THE_AMERICAS, date(2026, 11, 23)),
        (["Europe/Ljubljana"], LATE_EVENING_IN_THE_AMERICAS, date(2026, 11, 24)),
        (["Europe/Ljubljana", "America/Santo_Domingo"], LATE_EVENING_IN_THE_AMERICAS, date(2026, 11, 23)),  # the earliest
        (["Pacific/Kiritimati"], datetime(2026, 11, 23, 10, 0, tzinfo=UTC), date(2026, 11, 24)),  # UTC+14: already tomorrow
        ([], LATE_EVENING_IN_THE_AMERICAS, date(2026, 11, 24)),  # no city: the date in UTC
        (["", "Not/A_Zone", "../etc/passwd"], LATE_EVENING_IN_THE_AMERICAS, date(2026, 11, 24)),  # unusable names skipped
        (["America/Santo_Domingo"], datetime(2026, 11, 24, 1, 0), date(2026, 11, 23)),  # naive means UTC
        (["Europe/Stockholm"], datetime(2026, 3, 28, 23, 30, tzinfo=UTC), date(2026, 3, 29)),  # after midnight in CET
    ],
)
def test_local_today_is_the_earliest_date_among_the_places(zones: list[str], now: datetime, expected: date) -> None:
    assert local_today(zones, now=now) == expected


def test_local_today_keeps_an_evening_event_in_the_search() -> None:
    """An event at 20:30 in Santo Domingo on the 23rd is still ahead at 01:00 UTC on the 24th."""
    today = local_today(["America/Santo_Domingo"], now=LATE_EVENING_IN_THE_AMERICAS)
    query = Filters().to_query(limit=10, today=today)
    assert query.date_from == date(2026, 11, 23)
    assert Filters().to_query(limit=10, today=LATE_EVENING_IN_THE_AMERICAS.date()).date_from == date(2026, 11, 24)
