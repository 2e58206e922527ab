"""Placing a listing on the form's small map: the address as typed, a click or a drag of the pin."""

from __future__ import annotations

import folium
import pytest

from maps.pin_map import pin_map
from opportunities import i18n
from opportunities.errors import GeocodingError
from opportunities.places.gazetteer import Location
from opportunities.places.geocoding import Geocoder
from opportunities.places.placement import (
    MAP_SOURCE,
    click_uncertainty_m,
    clicked_point,
    explain,
    place_from_address,
    place_from_map,
)
from opportunities.vocabulary import Precision

TILES = {"tile_url": "https://tiles.example/{z}/{x}/{y}.png", "tile_attribution": "tiles", "asset_base": "/app/static"}


@pytest.mark.parametrize(
    ("country", "city", "address", "precision", "words"),
    [
        ("SE", "Göteborg", "", Precision.CITY, "Placed at the town centre: click the venue on the map to place it exactly."),
        ("SE", "Göteborg", "Götaplatsen 3, 412 56 Göteborg", Precision.POSTCODE, "centre of the postcode area"),
        ("SI", "Ljubljana", "Trubarjeva 1, 1000 Ljubljana", Precision.POSTCODE, "postcode area"),
        ("PL", "Kraków", "ul. Floriańska 1, Kraków", Precision.CITY, "town centre"),
    ],
)
def test_the_typed_address_is_placed_and_explained(
    geocoder: Geocoder, country: str, city: str, address: str, precision: Precision, words: str
) -> None:
    placement = place_from_address(geocoder, country=country, city=city, address=address, language="en")
    assert placement.location.precision is precision
    assert words in placement.explanation
    assert placement.approximate


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("sv", "Placerad i stadens centrum: klicka på platsen på kartan för att placera den exakt."),
        ("pl", "Umieszczono w centrum miejscowości: kliknij miejsce zajęć na mapie, aby umieścić je dokładnie."),
        ("sl", "Postavljeno v središče kraja: kliknite prizorišče na zemljevidu, da ga postavite natančno."),
    ],
)
def test_the_explanation_is_in_the_users_language(geocoder: Geocoder, language: str, words: str) -> None:
    placement = place_from_address(geocoder, country="SE", city="Göteborg", address="", language=language)
    assert placement.explanation == words


def test_an_unknown_city_and_address_say_what_to_do(geocoder: Geocoder) -> None:
    with pytest.raises(GeocodingError, match="add the postcode to the address, or click the venue on the map"):
        place_from_address(geocoder, country="SE", city="Xyzzyborg", address="Nowhere 1", language="en")
    with pytest.raises(GeocodingError) as caught:
        place_from_address(geocoder, country="PL", city="Xyzzyborg", address="", language="pl")
    polish = i18n.explain(caught.value.reason, "pl")
    assert "dodaj kod pocztowy" in polish and "Xyzzyborg" in polish


@pytest.mark.parametrize(
    ("value", "point"),
    [
        ({"last_clicked": {"lat": 57.7, "lng": 11.97}}, (57.7, 11.97)),
        ({"last_clicked": {"lat": "57.7", "lng": "11.97"}, "zoom": 15}, (57.7, 11.97)),
        ({"last_clicked": None}, None),
        ({}, None),
        (None, None),
        ({"last_clicked": {"lat": "nan", "lng": 11.97}}, None),
        ({"last_clicked": {"lat": "x", "lng": 11.97}}, None),
        ({"last_clicked": [57.7, 11.97]}, None),
    ],
)
def test_clicked_point_reads_the_component(value: dict[str, object] | None, point: tuple[float, float] | None) -> None:
    assert clicked_point(value) == point


@pytest.mark.parametrize(
    ("country", "city", "lat", "lon"),
    [
        ("SE", "Göteborg", 57.6969, 11.9865),  # Götaplatsen
        ("SI", "Ljubljana", 46.0511, 14.5051),
        ("PL", "Warszawa", 52.2297, 21.0122),
        ("SI", "Nova Gorica", 45.9559, 13.6483),  # beside the Italian border
    ],
)
def test_a_moved_pin_is_a_location_given_by_the_provider(
    geocoder: Geocoder, country: str, city: str, lat: float, lon: float
) -> None:
    placement = place_from_map(geocoder, lat + 0.0000001234, lon, country=country, city=city, language="en", zoom=17)
    assert placement.location.precision is Precision.PROVIDED
    assert placement.location.source == MAP_SOURCE
    assert placement.location.latitude == round(lat + 0.0000001234, 6)
    assert not placement.approximate
    assert "Placed where you put the pin" in placement.explanation


@pytest.mark.parametrize(
    ("country", "city", "lat", "lon", "language", "words"),
    [
        ("SI", "Nova Gorica", 46.0711, 13.2346, "en", "That point is outside Slovenia"),  # Udine, Italy
        ("SE", "Malmö", 55.6761, 12.5683, "sv", "Den punkten ligger utanför Sverige"),  # Copenhagen
        ("PL", "Słubice", 52.2470, 14.4180, "pl", "Ten punkt leży poza krajem Polska"),  # Müllrose, Germany
        ("SE", "Göteborg", 59.3293, 18.0686, "en", "from Göteborg"),  # Stockholm: in Sweden, far from the city
        ("SE", "Göteborg", 95.0, 11.0, "en", "not on the map"),
    ],
)
def test_a_pin_outside_the_country_or_far_from_the_city_is_refused(
    geocoder: Geocoder, country: str, city: str, lat: float, lon: float, language: str, words: str
) -> None:
    with pytest.raises(GeocodingError) as caught:
        place_from_map(geocoder, lat, lon, country=country, city=city, language=language)
    assert words in i18n.explain(caught.value.reason, language)


@pytest.mark.parametrize(("zoom", "low", "high"), [(18, 5, 5), (16, 10, 30), (12, 200, 400), (None, 10, 30)])
def test_a_click_is_as_exact_as_the_map_is_zoomed(zoom: int | None, low: int, high: int) -> None:
    assert low <= click_uncertainty_m(57.7, zoom) <= high


def test_coarse_coordinates_are_explained_as_approximate() -> None:
    location = Location(57.7, 11.97, Precision.PROVIDED, "provider", 790)
    assert (
        explain(location, "en")
        == "Placed at the coordinates given (may be up to 800 m off): click the venue on the map to place it exactly."
    )


def test_pin_map_has_a_draggable_pin_that_reports_its_drag_as_a_click() -> None:
    location = Location(57.6969, 11.9865, Precision.PROVIDED, MAP_SOURCE, 10)
    html = pin_map(location, centre=(57.7, 11.97), language="sv", **TILES).get_root().render()
    assert '"draggable": true' in html
    assert '.on("dragend"' in html and '.fire("click"' in html
    assert "Dra nålen till platsen" in html
    assert "L.circle(" not in html  # an exact pin has no circle
    # The pin's images come from the vendored Leaflet, named before the pin is made (not guessed
    # from a style sheet that may not be applied yet).
    image_path = html.index(f'L.Icon.Default.imagePath = "{TILES["asset_base"]}/vendor/leaflet-1.9.4/images/"')
    assert image_path < html.index("L.marker(")


def test_pin_map_of_an_approximate_place_shows_how_far_off_it_may_be() -> None:
    location = Location(57.7, 11.97, Precision.CITY, "geonames:1", 7400)
    m = pin_map(location, centre=(57.7, 11.97), **TILES)
    html = m.get_root().render()
    assert '"radius": 7400' in html
    assert isinstance(m, folium.Map)


def test_pin_map_without_a_place_shows_the_city_without_a_pin() -> None:
    html = pin_map(None, centre=(57.7, 11.97), **TILES).get_root().render()
    assert "L.marker(" not in html


def test_an_address_found_on_its_street_says_so() -> None:
    on_street = Location(46.2389, 14.3556, Precision.STREET, "addresses:SI-kranj:street", 60)
    assert explain(on_street, "en").startswith("Placed on the street (may be up to 60 m off)")
    assert explain(on_street, "sv").startswith("Placerad på gatan")
