"""Near me: where the visitor is, from a typed place or the browser's position.

The browser's position arrives from the page's location component as a plain value; it is
checked here and never stored or logged. A typed place is geocoded offline.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from opportunities.errors import GeocodingError
from opportunities.places.gazetteer import Location

# A browser that reports a position vaguer than this (metres) has not really found the visitor.
MAX_ACCURACY_M = 50_000.0


@dataclass(frozen=True)
class Near:
    """The point to search around, and where it came from (``"browser"``, ``"place"`` or ``""``)."""

    point: tuple[float, float] | None = None
    source: str = ""
    place_not_found: bool = False


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def position_from_browser(value: object) -> tuple[float, float] | None:
    """``(latitude, longitude)`` from what the location component sent, or None when it is not a usable position.

    The component sends ``{"latitude": .., "longitude": .., "accuracy": ..}`` (metres); anything
    else (an error, a malformed or out-of-range value, a very vague fix) is None.
    """
    if not isinstance(value, dict):
        return None
    lat, lon = _finite(value.get("latitude")), _finite(value.get("longitude"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    accuracy = _finite(value.get("accuracy", 0))
    if accuracy is None or accuracy > MAX_ACCURACY_M:
        return None
    # Four decimals (about 10 m) are plenty to sort by distance.
    return round(lat, 4), round(lon, 4)


def near_point(*, place: str, browser: tuple[float, float] | None, locate: Callable[[str], Location]) -> Near:
    """Where to search around: the browser's position when the visitor shared it, else the typed place.

    ``locate`` geocodes a place (e.g. ``Geocoder.geocode_query`` scoped to a country); a place it
    cannot find gives ``place_not_found`` and no point, so the search is not narrowed by accident.
    """
    if browser is not None:
        return Near(browser, "browser")
    text = place.strip()
    if not text:
        return Near()
    try:
        found = locate(text)
    except GeocodingError:
        return Near(place_not_found=True)
    return Near((found.latitude, found.longitude), "place")
