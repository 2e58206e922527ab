"""Near me: the browser's position and a typed place, turned into the point to search around."""

from __future__ import annotations

import math

import pytest

from opportunities.errors import GeocodingError
from opportunities.places.gazetteer import Location
from opportunities.places.geocoding import Geocoder
from opportunities.places.nearby import Near, near_point, position_from_browser
from opportunities.vocabulary import Precision


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"latitude": 46.2389, "longitude": 14.3556, "accuracy": 30}, (46.2389, 14.3556)),
        ({"latitude": 46.238912345, "longitude": 14.355612345}, (46.2389, 14.3556)),  # rounded to ~10 m
        ({"latitude": "57.7", "longitude": "11.97", "accuracy": "12.5"}, (57.7, 11.97)),
        ({"latitude": -90, "longitude": 180, "accuracy": 0}, (-90, 180)),
        ({"latitude": 91, "longitude": 14}, None),
        ({"latitude": 46, "longitude": -181}, None),
        ({"latitude": math.nan, "longitude": 14}, None),
        ({"latitude": math.inf, "longitude": 14}, None),
        ({"latitude": True, "longitude": 14}, None),
        ({"latitude": None, "longitude": 14}, None),
        ({"latitude": "north", "longitude": 14}, None),
        ({"latitude": 46, "longitude": 14, "accuracy": 200_000}, None),  # too vague to sort by
        ({"longitude": 14}, None),
        ("denied", None),
        (None, None),
        ([46, 14], None),
    ],
)
def test_position_from_browser(value: object, expected: tuple[float, float] | None) -> None:
    assert position_from_browser(value) == expected


def _locate(text: str) -> Location:
    if text == "Kranj":
        return Location(46.2389, 14.3556, Precision.LOCALITY, "test")
    raise GeocodingError(f"no place called {text!r}")


@pytest.mark.parametrize(
    ("place", "browser", "expected"),
    [
        ("", None, Near()),
        ("   ", None, Near()),
        ("Kranj", None, Near((46.2389, 14.3556), "place")),
        (" Kranj ", None, Near((46.2389, 14.3556), "place")),
        ("Atlantis", None, Near(place_not_found=True)),
        ("", (57.7, 11.97), Near((57.7, 11.97), "browser")),
        ("Kranj", (57.7, 11.97), Near((57.7, 11.97), "browser")),  # the shared position wins
    ],
)
def test_near_point(place: str, browser: tuple[float, float] | None, expected: Near) -> None:
    assert near_point(place=place, browser=browser, locate=_locate) == expected


def test_near_point_with_the_offline_geocoder(geocoder: Geocoder) -> None:
    near = near_point(place="Kranj", browser=None, locate=lambda text: geocoder.geocode_query(text, "SI"))
    assert near.source == "place"
    assert near.point is not None
    assert near.point == pytest.approx((46.24, 14.36), abs=0.05)
    missing = near_point(place="Qwxzy Nowhere", browser=None, locate=lambda text: geocoder.geocode_query(text, "SI"))
    assert missing == Near(place_not_found=True)
