"""Where the submission form puts a listing on the map, and what it tells the provider about it.

As the provider types the address, :func:`place_from_address` locates it with the same geocoder
as an import and says in a sentence how exact that is and what to do about it ("placed at the
town centre: click the venue on the map to place it exactly"). A click on the small map, or a
drag of its pin, is turned by :func:`place_from_map` into a location given by the provider,
refused when it lies outside the country or far from the city, like coordinates in an import.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from opportunities.errors import N_, Country, GeocodingError, because
from opportunities.i18n import format_distance, translator
from opportunities.places.gazetteer import Location, haversine_km
from opportunities.places.geocoding import Geocoder
from opportunities.vocabulary import Precision, is_approximate

# A click is as exact as the map is zoomed: this many screen pixels around the pointer.
CLICK_TOLERANCE_PX = 10
# The zoom assumed when the map does not report one (street level).
DEFAULT_CLICK_ZOOM = 16
MIN_CLICK_UNCERTAINTY_M = 5
# Metres per pixel at zoom 0 on the equator (Web Mercator, 256-pixel tiles).
_METRES_PER_PIXEL_Z0 = 156_543.03
# A clicked point is stored with this many decimals (about 0.1 m): more would only be noise.
CLICK_DECIMALS = 6
MAP_SOURCE = "provider-map"


@dataclass(frozen=True)
class Placement:
    """A location for the form, with a sentence for the provider in their language."""

    location: Location
    explanation: str

    @property
    def approximate(self) -> bool:
        return is_approximate(self.location.precision, self.location.uncertainty_m)


def explain(location: Location, language: str) -> str:
    """How exact ``location`` is and, when it is not, how to make it so (in ``language``)."""
    _ = translator(language).gettext
    distance = format_distance(location.uncertainty_m, language) if location.uncertainty_m is not None else ""
    precision = Precision(location.precision)
    if precision is Precision.PROVIDED and not is_approximate(precision, location.uncertainty_m):
        return _("Placed where you put the pin. Drag it or click the map to move it.")
    fix = _("click the venue on the map to place it exactly")
    if precision is Precision.PROVIDED:
        return _("Placed at the coordinates given (may be up to {distance} off): {fix}.").format(distance=distance, fix=fix)
    if precision is Precision.ADDRESS:
        return _("Placed at the street address (may be up to {distance} off): {fix}.").format(distance=distance, fix=fix)
    if precision is Precision.STREET:
        return _("Placed on the street (may be up to {distance} off): {fix}.").format(distance=distance, fix=fix)
    if precision is Precision.POSTCODE:
        return _("Placed at the centre of the postcode area (may be up to {distance} off): {fix}.").format(
            distance=distance, fix=fix
        )
    if precision is Precision.LOCALITY:
        return _(
            "Placed at the centre of the district or village named in the address (may be up to {distance} off): {fix}."
        ).format(distance=distance, fix=fix)
    return _("Placed at the town centre: {fix}.").format(fix=fix)


def place_from_address(geocoder: Geocoder, *, country: str, city: str, address: str, language: str) -> Placement:
    """The location of an address in ``city`` (postcode, else a named place, else the city centre).

    Raises :class:`GeocodingError` with a message in ``language`` when neither the address nor
    the city can be found.
    """
    try:
        found = geocoder.locate(country=country, city=city.strip(), address=address.strip())
    except GeocodingError:
        raise GeocodingError(
            because(
                N_(
                    "Neither the address nor the city {city} was found in {country}: check the name of the city, "
                    "add the postcode to the address, or click the venue on the map."
                ),
                city=city.strip(),
                country=Country(country),
            )
        ) from None
    return Placement(found, explain(found, language))


def click_uncertainty_m(latitude: float, zoom: int | None) -> int:
    """How far a click may be from the point meant: the pixels around the pointer at the map's zoom."""
    level = DEFAULT_CLICK_ZOOM if zoom is None else max(0, min(int(zoom), 22))
    metres_per_px = _METRES_PER_PIXEL_Z0 * math.cos(math.radians(latitude)) / 2.0**level
    return max(MIN_CLICK_UNCERTAINTY_M, round(CLICK_TOLERANCE_PX * metres_per_px))


def clicked_point(value: Mapping[str, object] | None) -> tuple[float, float] | None:
    """The point the map component reports as last clicked (a drag of the pin ends with one), or None."""
    if not value:
        return None
    clicked = value.get("last_clicked")
    if not isinstance(clicked, Mapping):
        return None
    try:
        latitude, longitude = float(clicked["lat"]), float(clicked["lng"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    return latitude, longitude


def place_from_map(
    geocoder: Geocoder,
    latitude: float,
    longitude: float,
    *,
    country: str,
    city: str,
    language: str,
    zoom: int | None = None,
) -> Placement:
    """A point the provider clicked or dragged the pin to, as a location given by the provider.

    Raises :class:`GeocodingError` with a message in ``language`` when the point lies outside
    ``country`` or too far from ``city`` (the rules of coordinates in an import).
    """
    latitude, longitude = round(latitude, CLICK_DECIMALS), round(longitude, CLICK_DECIMALS)
    try:
        geocoder.check_coordinates(latitude, longitude, country=country, city=city.strip())
    except GeocodingError:
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise GeocodingError(because(N_("That point is not on the map."))) from None
        verdict = geocoder.gazetteer.country_of(latitude, longitude, country)
        if not verdict.inside:
            raise GeocodingError(
                because(
                    N_("That point is outside {country}: the pin stays where it was. Click the venue in {country}."),
                    country=Country(country),
                )
            ) from None
        centre = geocoder.gazetteer.place(city.strip(), country)
        km = haversine_km(latitude, longitude, centre.latitude, centre.longitude) if centre is not None else 0.0
        raise GeocodingError(
            because(
                N_("That point is {distance} from {city}: the pin stays where it was. Check the city, or click the venue."),
                distance=format_distance(round(km * 1000), language),
                city=city.strip(),
            )
        ) from None
    found = Location(latitude, longitude, Precision.PROVIDED, MAP_SOURCE, click_uncertainty_m(latitude, zoom))
    return Placement(found, explain(found, language))
