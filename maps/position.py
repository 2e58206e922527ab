"""The map view as the page keeps it: what the map component reports, and a view rebuilt from a link.

A link holds the centre and zoom (``lat``, ``lon``, ``z``); the layer needs the visible bounds,
which depend on the screen. :func:`view_around` assumes the map's usual size, which is close
enough: the map component reports the real bounds as soon as it has drawn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from maps.clusters import Bounds
from maps.opportunity_map import DEFAULT_CENTRE, DEFAULT_ZOOM
from maps.overview import MapView

MAX_ZOOM = 19
# The map's usual size in pixels (its height is fixed by the page; the width is a wide screen's).
VIEW_WIDTH_PX = 1000
VIEW_HEIGHT_PX = 560
_TILE_PX = 256
_MAX_MERCATOR_LAT = 85.05112878


def view_from_component(value: Mapping[str, object]) -> MapView | None:
    """The view reported by the map component (``{"bounds": {...}, "zoom": n}``), or None when not usable."""
    try:
        bounds = value["bounds"]
        south_west, north_east = bounds["_southWest"], bounds["_northEast"]  # type: ignore[index]
        box = Bounds(float(south_west["lat"]), float(south_west["lng"]), float(north_east["lat"]), float(north_east["lng"]))
        zoom = int(value["zoom"])  # type: ignore[call-overload]
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if not all(math.isfinite(v) for v in (box.south, box.west, box.north, box.east)):
        return None
    return MapView(box, max(0, min(zoom, MAX_ZOOM)))


def _y(lat: float) -> float:
    s = math.sin(math.radians(max(-_MAX_MERCATOR_LAT, min(_MAX_MERCATOR_LAT, lat))))
    return 0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)


def _lat(y: float) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y))))


def view_around(
    latitude: float, longitude: float, zoom: int, *, width_px: int = VIEW_WIDTH_PX, height_px: int = VIEW_HEIGHT_PX
) -> MapView:
    """The view centred on a point at ``zoom``, for a map of the given size (Web Mercator)."""
    zoom = max(0, min(zoom, MAX_ZOOM))
    world = _TILE_PX * 2**zoom
    half_lon = min(180.0, width_px / 2 / world * 360)
    y = _y(latitude)
    half_y = height_px / 2 / world
    north, south = _lat(max(0.0, y - half_y)), _lat(min(1.0, y + half_y))
    west, east = max(-180.0, longitude - half_lon), min(180.0, longitude + half_lon)
    return MapView(Bounds(south, west, north, east), zoom)


def centre_and_zoom(view: MapView) -> tuple[float, float, int]:
    """The map centre (latitude, longitude; rounded to about a metre) and the zoom of a view, for a link."""
    lat, lon = map_centre(view)
    return round(lat, 5), round(lon, 5), view.zoom


def map_centre(view: MapView) -> tuple[float, float]:
    """The centre of the view on the map (Web Mercator), which is what a map is centred on.

    Not the middle of the latitudes (``MapView.centre``): at a small zoom the two differ by degrees.
    """
    lat = _lat((_y(view.bounds.south) + _y(view.bounds.north)) / 2)
    return lat, (view.bounds.west + view.bounds.east) / 2


def moved_from(reported: MapView, shown: MapView) -> bool:
    """True when the visitor moved the map away from the view the page showed.

    The map reports its view once it has drawn, before anyone touched it: that report has the
    shown centre and zoom (up to a pixel's rounding), and is not a move.
    """
    if reported.zoom != shown.zoom:
        return True
    (lat1, lon1), (lat2, lon2) = map_centre(reported), map_centre(shown)
    # A hundredth of the visible span: more than a pixel's rounding, less than any real drag.
    span_y = max(abs(_y(reported.bounds.south) - _y(reported.bounds.north)), 1e-12)
    span_lon = max(abs(reported.bounds.east - reported.bounds.west), 1e-12)
    return abs(_y(lat1) - _y(lat2)) > span_y / 100 or abs(lon1 - lon2) > span_lon / 100


def visitor_moved(reported: MapView, shown: MapView) -> bool:
    """True when a view the map component reported is the visitor's doing.

    The component draws the base map at its own starting view (the network's region), reports
    it, then moves to the view the page asked for and reports that: neither is a move.
    """
    starting = view_around(DEFAULT_CENTRE[0], DEFAULT_CENTRE[1], DEFAULT_ZOOM)
    return moved_from(reported, shown) and moved_from(reported, starting)


def view_to_draw(reported: MapView | None, drawn: MapView, *, drawn_holds_all: bool) -> MapView:
    """The view to build the layer for after the map reported ``reported``; ``drawn`` itself when the
    layer already drawn shows everything the reported view holds, so nothing is rebuilt or sent again.

    The map reports its view after every redraw, ours included: a report that follows our own fit
    (the same zoom, the fitted area or a part of it) is no reason to redraw. ``drawn_holds_all``:
    the drawn layer was fitted to every match (fitted to the results, or to a Near me circle), so at
    the same zoom any part of the map the visitor sees is in it. A new zoom always redraws (the
    clusters depend on it), as does a view reaching beyond the drawn area by more than a
    hundredth of its span (a pixel's rounding).
    """
    if reported is None:
        return drawn
    if reported.zoom != drawn.zoom:
        return reported
    if drawn_holds_all:
        return drawn
    inner, outer = reported.bounds, drawn.bounds
    slack_lat = abs(outer.north - outer.south) / 100
    slack_lon = abs(outer.east - outer.west) / 100
    inside = (
        inner.south >= outer.south - slack_lat
        and inner.north <= outer.north + slack_lat
        and inner.west >= outer.west - slack_lon
        and inner.east <= outer.east + slack_lon
    )
    return drawn if inside else reported
