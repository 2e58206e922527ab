"""The geocoder chain: the offline gazetteer and address index, then an optional online service."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from opportunities.errors import N_, Country, GeocodingError, Reason, because
from opportunities.places.address_index import AddressIndex
from opportunities.places.gazetteer import (
    ADDRESS_UNCERTAINTY_M,
    MAX_KM_FROM_CITY,
    POSTCODE_EXAMPLES,
    Gazetteer,
    Location,
    Place,
    coordinate_uncertainty_m,
    haversine_km,
)
from opportunities.progress import Progress
from opportunities.text import fold
from opportunities.vocabulary import Precision


class OnlineGeocoder(Protocol):
    """An optional street-address geocoder (your own Nominatim server)."""

    def geocode(self, query: str, country: str) -> tuple[float, float] | None: ...


class NominatimGeocoder:
    """geopy's Nominatim against your own server, at most one request a second, cached."""

    def __init__(self, url: str, user_agent: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        from urllib.parse import urlparse

        from geopy.geocoders import Nominatim

        parts = urlparse(url)
        self._client = Nominatim(domain=parts.netloc + parts.path.rstrip("/"), scheme=parts.scheme, user_agent=user_agent)
        self._cache: dict[tuple[str, str], tuple[float, float] | None] = {}
        self._clock = clock
        self._last = -math.inf

    def geocode(self, query: str, country: str) -> tuple[float, float] | None:
        key = (fold(query), country)
        if key not in self._cache:
            now = self._clock()
            wait = self._last + 1.0 - now
            if wait > 0:
                time.sleep(wait)
                now += wait
            self._last = now
            try:
                found = self._client.geocode(query, country_codes=country.lower(), timeout=10)
            except Exception:  # network errors must not break an import: fall back offline
                return None
            self._cache[key] = None if found is None else (found.latitude, found.longitude)
        return self._cache[key]


_POSTCODE_CANDIDATE = re.compile(r"(?<![\w-])(\d{2,3}[ -]?\d{2,3}|\d{4,6}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})(?![\w-])")


def _postcode_candidates(address: str) -> Iterator[str]:
    # Postcodes stand after the street number in most formats: try from the right.
    yield from reversed(_POSTCODE_CANDIDATE.findall(address.upper()))


def _place_candidates(address: str) -> Iterator[str]:
    for part in reversed(address.split(",")):
        words = re.sub(r"\d[\d -]*", " ", part).strip()
        if words:
            yield words


class Geocoder:
    """Locates opportunities and free-text queries, offline first."""

    def __init__(self, gazetteer: Gazetteer, online: OnlineGeocoder | None = None,
                 addresses: AddressIndex | None = None) -> None:  # fmt: skip
        self.gazetteer = gazetteer
        self.online = online
        self.addresses = addresses

    def with_addresses(self, addresses: AddressIndex | None) -> Geocoder:
        """The same geocoder with another address index (None: without one)."""
        return Geocoder(self.gazetteer, self.online, addresses)

    def _from_address_index(self, address: str, country: str, city: str, centre: Place | None) -> Location | None:
        if self.addresses is None:
            return None

        def postcode_point(code: str) -> tuple[float, float, int] | None:
            return self.gazetteer.postcode_area(code, country)

        found = self.addresses.locate(address, country, city=city, postcode_point=postcode_point,
                                      centre=(centre.latitude, centre.longitude) if centre is not None else None)  # fmt: skip
        if found is None:
            return None
        source = f"addresses:{found.area}" if found.method == "exact" else f"addresses:{found.area}:{found.method}"
        return Location(found.latitude, found.longitude, found.precision, source[:100], found.uncertainty_m)

    def city(self, name: str, country: str) -> Place:
        """The gazetteer place for a city name in a country."""
        place = self.gazetteer.place(name, country)
        if place is None:
            raise GeocodingError(unknown_place_help(name, country))
        return place

    def locate(
        self,
        *,
        country: str,
        city: str,
        address: str = "",
        latitude: float | None = None,
        longitude: float | None = None,
        written: tuple[str, str] | None = None,
        centre: Place | None = None,
    ) -> Location:
        """Locate an opportunity: its coordinates, else its street address in the address index
        (the house, else the street), else postcode, else a place name, else its city.

        Every location says how far off it may be (``uncertainty_m``; for coordinates, from the
        decimals of their ``written`` text when given). Provided coordinates must lie in
        ``country`` and within MAX_KM_FROM_CITY of ``city`` when that city is known. ``centre``
        stands for the city when the gazetteer does not know it (a town added from an earlier row).
        Raises :class:`GeocodingError` when nothing can be found: never returns 0,0.
        """
        centre = (self.gazetteer.place(city, country) if city else None) or centre
        if latitude is not None and longitude is not None:
            self.check_coordinates(latitude, longitude, country=country, city=city, centre=centre)
            uncertainty = coordinate_uncertainty_m(latitude, longitude, written)
            return Location(latitude, longitude, Precision.PROVIDED, "provider", uncertainty)
        found = self._from_address_index(address, country, city, centre) if address else None
        if found is not None:
            return found
        found = self._from_address(address, country, centre, city) if address else None
        if found is not None:
            return found
        if centre is None:
            if address:
                raise GeocodingError(
                    because(
                        N_(
                            "cannot locate the city {city} in {country} nor the address {address}; give latitude and longitude, a postcode, or a known city name"
                        ),
                        city=repr(city),
                        country=Country(country),
                        address=repr(address),
                    )
                )
            raise GeocodingError(
                because(
                    N_(
                        "cannot locate the city {city} in {country}; give latitude and longitude, a postcode, or a known city name"
                    ),
                    city=repr(city),
                    country=Country(country),
                )
            )
        return Location(centre.latitude, centre.longitude, Precision.CITY, centre.source, centre.uncertainty_m)

    def check_coordinates(
        self, latitude: float, longitude: float, *, country: str, city: str = "", centre: Place | None = None
    ) -> None:
        """Raise :class:`GeocodingError` saying what is wrong when the point is not in ``country``
        (judged by the places around it) or lies over MAX_KM_FROM_CITY from the known ``city``."""
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise GeocodingError(because(N_("the coordinates {value} are out of range"), value=f"{latitude}, {longitude}"))
        verdict = self.gazetteer.country_of(latitude, longitude, country)
        if not verdict.inside:
            where = (
                because(
                    N_("they are in {other} (nearest place: {nearest}), not in {country}"),
                    other=Country(str(verdict.country)),
                    nearest=str(verdict.nearest),
                    country=Country(country),
                )
                if verdict.country
                else because(N_("they are not in {country}"), country=Country(country))
            )
            swapped = -90 <= longitude <= 90 and self.gazetteer.country_of(longitude, latitude, country).inside
            hint = (
                because(N_("latitude and longitude look swapped"))
                if swapped
                else because(N_("check them, and that latitude and longitude are not swapped"))
            )
            raise GeocodingError(
                because(
                    N_("the coordinates {value} are outside {country}: {where}; {hint}"),
                    value=f"{latitude:.5f}, {longitude:.5f}",
                    country=Country(country),
                    where=where,
                    hint=hint,
                )
            )
        if centre is None and city:
            centre = self.gazetteer.place(city, country)
        if centre is not None:
            km = haversine_km(latitude, longitude, centre.latitude, centre.longitude)
            if km > MAX_KM_FROM_CITY and not (
                city and self.gazetteer.named_near(city, country, latitude, longitude, MAX_KM_FROM_CITY)
            ):
                shown = f"{latitude:.5f}, {longitude:.5f}"
                raise GeocodingError(
                    because(N_("the coordinates {value} are {limit} km from {city}; check them or the city"), value=shown,
                            limit=round(km), city=city)
                    if city
                    else because(N_("the coordinates {value} are {limit} km from the city; check them or the city"), value=shown,
                                 limit=round(km))
                )  # fmt: skip

    def _from_address(self, address: str, country: str, centre: Place | None, city: str = "") -> Location | None:
        def near_city(lat: float, lon: float) -> bool:
            if centre is None or haversine_km(lat, lon, centre.latitude, centre.longitude) <= MAX_KM_FROM_CITY:
                return True
            # ``centre`` is the largest place of the city's name: another of that name may be meant.
            return bool(city) and self.gazetteer.named_near(city, country, lat, lon, MAX_KM_FROM_CITY)

        for code in _postcode_candidates(address):
            area = self.gazetteer.postcode_area(code, country)
            if area is not None and near_city(area[0], area[1]):
                return Location(area[0], area[1], Precision.POSTCODE, f"geonames-postal:{country}:{code}",
                                _postcode_uncertainty_m(area, centre))  # fmt: skip
        if self.online is not None:
            point = self.online.geocode(address, country)
            if point is not None and near_city(*point):
                return Location(point[0], point[1], Precision.ADDRESS, "nominatim", ADDRESS_UNCERTAINTY_M)
        for name in _place_candidates(address):
            place = self.gazetteer.place(name, country)
            if place is None or not near_city(place.latitude, place.longitude):
                continue
            if centre is not None and (place.latitude, place.longitude) == (centre.latitude, centre.longitude):
                continue  # the city itself: no finer than the fallback
            return Location(place.latitude, place.longitude, Precision.LOCALITY, place.source, place.uncertainty_m)
        return None

    def geocode_query(self, query: str, country: str | None = None) -> Location:
        """Locate a free-text query: ``"lat,lon"``, a postcode, an address or a place name."""
        text = query.strip()
        # "46.24, 14.36" or "46.24 14.36"; "412 56" is a postcode, not coordinates.
        coords = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)|(-?\d+\.\d+)\s+(-?\d+\.\d+)", text)
        if coords:
            lat, lon = (float(g) for g in coords.groups() if g is not None)
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                return Location(lat, lon, Precision.PROVIDED, "query", coordinate_uncertainty_m(lat, lon))
            raise GeocodingError(because(N_("the coordinates {value} are out of range"), value=f"{lat}, {lon}"))
        if country:
            found = self._from_address_index(text, country.upper(), "", None) or self._from_address(text, country.upper(), None)
            if found is not None:
                return found
        place = self.gazetteer.place(text, country)
        if place is None:
            for name in _place_candidates(text):
                place = self.gazetteer.place(name, country)
                if place is not None:
                    break
        if place is None:
            if country:
                raise GeocodingError(
                    because(
                        N_("no place or postcode matching {query} was found in {country}"),
                        query=repr(query),
                        country=Country(country),
                    )
                )
            raise GeocodingError(because(N_("no place or postcode matching {query} was found"), query=repr(query)))
        return Location(place.latitude, place.longitude, Precision.LOCALITY, place.source, place.uncertainty_m)


def _postcode_uncertainty_m(area: tuple[float, float, int], town: Place | None) -> int:
    """How far off a postcode point may be for a row in ``town``.

    When the point lies outside the stated town (further than both places' own uncertainty), one
    of them is wrong, and the venue may be anywhere between: the uncertainty covers the gap (a
    GeoNames point for Otwock's 05-400 lies 16 km from Otwock).
    """
    lat, lon, uncertainty = area
    if town is None:
        return uncertainty
    gap = round(haversine_km(lat, lon, town.latitude, town.longitude) * 1000)
    if gap <= MAX_KM_FROM_CITY * 1000 and gap > uncertainty + town.uncertainty_m:
        return gap
    return uncertainty


def unknown_place_help(name: str, country: str) -> Reason:
    """What to do when ``name`` is no place the gazetteer knows and nothing else locates the row."""
    example = POSTCODE_EXAMPLES.get(country.upper())
    if example:
        return because(
            N_(
                "{value} is not a place we know in {limit}; add the postcode to the address (e.g. {example}), or give latitude and longitude"
            ),
            value=repr(name),
            limit=Country(country),
            example=example,
        )
    return because(
        N_("{value} is not a place we know in {limit}; add the postcode to the address, or give latitude and longitude"),
        value=repr(name),
        limit=Country(country),
    )


def open_geocoder(cache_dir: Path, online_url: str = "", user_agent: str = "cities-of-learning-map",
                  address_dir: Path | None = None, progress: Progress | None = None) -> Geocoder:  # fmt: skip
    """The geocoder for the given settings: offline gazetteer, the address index in ``address_dir``
    when one was loaded there, plus Nominatim when a URL is set."""
    online = NominatimGeocoder(online_url, user_agent) if online_url else None
    addresses = AddressIndex.open(address_dir) if address_dir is not None else None
    return Geocoder(Gazetteer.open(cache_dir, progress), online, addresses)
