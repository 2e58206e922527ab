from __future__ import annotations

import pytest

from opportunities.errors import GeocodingError
from opportunities.geocoding import Geocoder, NominatimGeocoder, haversine_km
from opportunities.text import fold
from opportunities.vocabulary import Precision

# Centres from GeoNames (cities500), the gazetteer the package ships.
PLACES = [
    ("Göteborg", "SE", 57.707, 11.967),
    ("Goteborg", "SE", 57.707, 11.967),
    ("Gothenburg", "SE", 57.707, 11.967),
    ("GÖTEBORG", "SE", 57.707, 11.967),
    ("Borås", "SE", 57.721, 12.940),
    ("Trollhättan", "SE", 58.283, 12.289),
    ("Uddevalla", "SE", 58.349, 11.938),
    ("Bollnäs", "SE", 61.348, 16.395),
    ("Hudiksvall", "SE", 61.729, 17.104),
    ("Söderhamn", "SE", 61.304, 17.062),
    ("Ljusdal", "SE", 61.829, 16.091),
    ("Ljubljana", "SI", 46.051, 14.505),
    ("Kranj", "SI", 46.239, 14.356),
    ("Maribor", "SI", 46.554, 15.646),
    ("Novo mesto", "SI", 45.804, 15.169),
    ("Warszawa", "PL", 52.230, 21.012),
    ("Warsaw", "PL", 52.230, 21.012),
    ("warszawa", None, 52.230, 21.012),
    ("Płock", "PL", 52.547, 19.706),
    ("Plock", "PL", 52.547, 19.706),
    ("Radom", "PL", 51.403, 21.147),
    ("Siedlce", "PL", 52.168, 22.290),
]


@pytest.mark.parametrize(("name", "country", "lat", "lon"), PLACES)
def test_place_names_any_case_diacritics_and_language(geocoder: Geocoder, name: str, country: str | None, lat: float, lon: float) -> None:
    found = geocoder.geocode_query(name, country)
    assert found.latitude == pytest.approx(lat, abs=0.01)
    assert found.longitude == pytest.approx(lon, abs=0.01)
    assert found.precision is Precision.LOCALITY
    assert found.source.startswith("geonames:")


def test_country_scope_and_larger_place_wins(geocoder: Geocoder) -> None:
    # "Kranj" scoped to Slovenia; unscoped names pick the most populous place.
    assert geocoder.gazetteer.place("Kranj", "PL") is None
    london = geocoder.gazetteer.place("London")
    assert london is not None and london.country == "GB"


@pytest.mark.parametrize(
    ("address", "country", "lat", "lon"),
    [
        ("Götaplatsen 3, 412 56 Göteborg", "SE", 57.69, 11.98),
        ("Storgatan 1, 41256 Göteborg", "SE", 57.69, 11.98),
        ("ul. Marszałkowska 1, 00-624 Warszawa", "PL", 52.21, 21.02),
        ("Koroška cesta 1, 4000 Kranj", "SI", 46.24, 14.36),
        ("412 56", "SE", 57.69, 11.98),
        ("4000", "SI", 46.24, 14.36),
    ],
)
def test_postcodes(geocoder: Geocoder, address: str, country: str, lat: float, lon: float) -> None:
    found = geocoder.geocode_query(address, country)
    assert found.precision is Precision.POSTCODE
    assert haversine_km(found.latitude, found.longitude, lat, lon) < 5


def test_locate_prefers_provided_coordinates(geocoder: Geocoder) -> None:
    found = geocoder.locate(country="SE", city="Göteborg", address="412 56 Göteborg", latitude=57.70, longitude=11.95)
    assert (found.latitude, found.longitude, found.precision) == (57.70, 11.95, Precision.PROVIDED)


def test_locate_order_postcode_locality_city(geocoder: Geocoder) -> None:
    assert geocoder.locate(country="SE", city="Göteborg", address="Götaplatsen 3, 412 56 Göteborg").precision is Precision.POSTCODE
    locality = geocoder.locate(country="SE", city="Göteborg", address="Skolvägen 1, Mölndal")
    assert locality.precision is Precision.LOCALITY
    assert 5 < haversine_km(locality.latitude, locality.longitude, 57.707, 11.967) < 15
    city = geocoder.locate(country="SE", city="Göteborg", address="Storgatan 7")
    assert city.precision is Precision.CITY
    assert city.latitude == pytest.approx(57.707, abs=0.01)


def test_far_away_matches_are_ignored(geocoder: Geocoder) -> None:
    # A postcode of Stockholm in an address of Göteborg is a typo, not a location.
    found = geocoder.locate(country="SE", city="Göteborg", address="Drottninggatan 1, 111 51 Stockholm")
    assert found.precision is Precision.CITY


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"country": "SE", "city": "Nowhereville"}, "cannot locate the city"),
        ({"country": "SE", "city": "Göteborg", "latitude": 52.2, "longitude": 21.0}, "outside SE"),
        ({"country": "SE", "city": "Göteborg", "latitude": 11.97, "longitude": 57.7}, "swapped"),
        ({"country": "SE", "city": "Göteborg", "latitude": 0.0, "longitude": 0.0}, "outside SE"),
        ({"country": "SE", "city": "Göteborg", "latitude": 95.0, "longitude": 0.0}, "out of range"),
    ],
)
def test_unlocatable_is_an_error_never_zero_zero(geocoder: Geocoder, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(GeocodingError, match=message):
        geocoder.locate(**kwargs)  # type: ignore[arg-type]


def test_query_errors(geocoder: Geocoder) -> None:
    with pytest.raises(GeocodingError, match="no place or postcode"):
        geocoder.geocode_query("Xyzzyville", "SE")
    for text in ("46.24, 14.36", "46.24 14.36", "46.24,14.36"):
        found = geocoder.geocode_query(text)
        assert (found.latitude, found.longitude, found.precision) == (46.24, 14.36, Precision.PROVIDED)


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Göteborg", "goteborg"), ("Płock", "plock"), ("Łódź", "lodz"), ("  Novo   mesto ", "novo mesto"), ("Søborg", "soborg")],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("name", "country", "lat", "lon"),
    [
        ("Київ", "UA", 50.455, 30.524),
        ("Київ", None, 50.455, 30.524),
        ("Львів", "UA", 49.838, 24.023),
        ("Београд", "RS", 44.804, 20.465),
        ("ΑΘΗΝΑ", None, 37.984, 23.728),
        ("Гётеборг", "SE", 57.707, 11.967),
        ("Любляна", "SI", 46.051, 14.505),
        ("哥德堡", "SE", 57.707, 11.967),
        ("كييف", None, 50.455, 30.524),
    ],
)
def test_place_names_in_other_scripts(geocoder: Geocoder, name: str, country: str | None, lat: float, lon: float) -> None:
    # GeoNames' alternate names in Cyrillic, Greek, Chinese and Arabic are indexed too.
    place = geocoder.gazetteer.place(name, country)
    assert place is not None
    assert (place.latitude, place.longitude) == (pytest.approx(lat, abs=0.01), pytest.approx(lon, abs=0.01))


class _FakeNominatim:
    """Stands in for geopy's client at the library boundary."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def geocode(self, query: str, **_: object) -> object:
        self.calls.append(query)

        class Found:
            latitude, longitude = 57.6900, 11.9700

        return Found()


def test_online_geocoder_is_rate_limited_and_cached(geocoder: Geocoder, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 0.2, 5.0, 9.0]).__next__
    sleeps: list[float] = []
    monkeypatch.setattr("opportunities.geocoding.time.sleep", sleeps.append)
    online = NominatimGeocoder("http://nominatim.localhost:8080", "test", clock=clock)
    fake = _FakeNominatim()
    online._client = fake  # type: ignore[assignment]
    assert online.geocode("Storgatan 1, Göteborg", "SE") == (57.69, 11.97)
    assert online.geocode("storgatan 1 göteborg", "SE") == (57.69, 11.97)  # cached: same folded query
    online.geocode("Kungsgatan 2, Göteborg", "SE")
    assert len(fake.calls) == 2
    assert sleeps and sleeps[0] == pytest.approx(0.8)
    both = Geocoder(geocoder.gazetteer, online)
    found = both.locate(country="SE", city="Göteborg", address="Storgatan 1, Göteborg")
    assert found.precision is Precision.ADDRESS and found.source == "nominatim"
