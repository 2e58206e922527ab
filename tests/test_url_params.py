"""Filters read from and written to URL query parameters."""

from __future__ import annotations

import pytest

from opportunities.url_params import Filters, filters_from_params

CITIES = ("Kranj", "Göteborg", "Łódź")


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
    query = Filters(city="Kranj", topics=("languages",), age=15, free_only=True).to_query(limit=50)
    assert (query.city, query.topics, query.age, query.free_only, query.limit) == ("Kranj", ("languages",), 15, True, 50)
