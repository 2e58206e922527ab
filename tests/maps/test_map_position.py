"""The map view as the page keeps it: component reports, views rebuilt from a link, moves."""

from __future__ import annotations

import pytest

from maps.clusters import Bounds
from maps.opportunity_map import DEFAULT_CENTRE, DEFAULT_ZOOM
from maps.overview import MapView
from maps.position import (
    centre_and_zoom,
    map_centre,
    moved_from,
    view_around,
    view_from_component,
    view_to_draw,
    visitor_moved,
)


def _reported(south: float, west: float, north: float, east: float, zoom: object) -> dict[str, object]:
    return {"bounds": {"_southWest": {"lat": south, "lng": west}, "_northEast": {"lat": north, "lng": east}}, "zoom": zoom}


def test_view_from_component() -> None:
    assert view_from_component(_reported(46.0, 14.0, 46.5, 14.8, 11)) == MapView(Bounds(46.0, 14.0, 46.5, 14.8), 11)
    assert view_from_component(_reported(46.0, 14.0, 46.5, 14.8, 25)) == MapView(Bounds(46.0, 14.0, 46.5, 14.8), 19)


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"bounds": None, "zoom": 3},
        {"bounds": {"_southWest": {}, "_northEast": {}}, "zoom": 3},
        _reported(46.0, 14.0, 46.5, 14.8, "x"),
        _reported(46.0, 14.0, 46.5, 14.8, None),
        _reported(float("nan"), 14.0, 46.5, 14.8, 3),
        _reported(46.0, 14.0, 46.5, 14.8, float("inf")),
    ],
)
def test_unusable_component_values(value: dict[str, object]) -> None:
    assert view_from_component(value) is None


@pytest.mark.parametrize(("lat", "lon", "zoom"), [(46.24, 14.36, 12), (57.7, 11.97, 5), (0.0, 0.0, 2), (-33.9, 151.2, 16)])
def test_view_around_is_centred_and_keeps_the_zoom(lat: float, lon: float, zoom: int) -> None:
    view = view_around(lat, lon, zoom)
    assert view.zoom == zoom
    assert view.bounds.south < lat < view.bounds.north
    assert view.bounds.west < lon < view.bounds.east
    assert map_centre(view) == pytest.approx((lat, lon))
    assert centre_and_zoom(view) == (pytest.approx(lat, abs=1e-5), pytest.approx(lon, abs=1e-5), zoom)


def test_view_around_spans_what_a_map_of_that_size_shows() -> None:
    # At zoom 10 a 1000 px wide map spans 1000 / (256 * 2**10) of 360 degrees of longitude.
    view = view_around(46.0, 14.0, 10, width_px=1000, height_px=560)
    assert view.bounds.east - view.bounds.west == pytest.approx(1000 / (256 * 1024) * 360)
    wide = view_around(46.0, 0.0, 0)
    assert (wide.bounds.west, wide.bounds.east) == (-180.0, 180.0)
    assert -86 < wide.bounds.south < wide.bounds.north < 86


def test_moved_from() -> None:
    shown = view_around(46.24, 14.36, 12)
    assert not moved_from(shown, shown)
    # The first report of the drawn map differs from the page's guess only by its real size.
    drawn = view_around(46.24001, 14.36001, 12, width_px=700, height_px=560)
    assert not moved_from(drawn, shown)
    assert moved_from(view_around(46.24, 14.36, 13), shown)
    assert moved_from(view_around(46.30, 14.36, 12), shown)
    assert moved_from(view_around(46.24, 14.50, 12), shown)


def test_map_centre_is_the_mercator_middle() -> None:
    # Europe at zoom 4: the middle of the latitudes (47.5) lies south of the map's centre.
    view = MapView(Bounds(35.0, -10.0, 60.0, 40.0), 4)
    lat, lon = map_centre(view)
    assert view.centre == (47.5, 15.0)
    assert 48.5 < lat < 49.5
    assert lon == 15.0


def test_a_report_of_the_same_centre_is_not_a_move_at_any_zoom() -> None:
    # What Leaflet reports after centring a 375 px map on the shown view's centre, at zoom 4.
    shown = MapView(Bounds(35.0, -10.0, 60.0, 40.0), 4)
    lat, lon = map_centre(shown)
    drawn = view_around(lat, lon + 0.04, 4, width_px=375, height_px=560)  # a pixel's rounding
    assert not moved_from(drawn, shown)


def test_centre_and_zoom_rounds_for_the_link() -> None:
    view = view_around(46.2500012, 14.4000012, 9)
    assert centre_and_zoom(view) == (46.25, 14.4, 9)


def test_the_base_maps_starting_view_is_not_a_move() -> None:
    shown = view_around(46.24, 14.36, 12)
    starting = view_around(DEFAULT_CENTRE[0] + 0.01, DEFAULT_CENTRE[1] - 0.03, DEFAULT_ZOOM, width_px=1210, height_px=560)
    assert not visitor_moved(starting, shown)
    assert not visitor_moved(view_around(46.24, 14.36, 12, width_px=375), shown)
    assert visitor_moved(view_around(46.24, 14.36, 13), shown)
    assert visitor_moved(view_around(DEFAULT_CENTRE[0], DEFAULT_CENTRE[1], DEFAULT_ZOOM + 1), shown)


_FITTED = MapView(Bounds(46.0, 14.0, 46.5, 14.8), 10)


@pytest.mark.parametrize(
    ("reported", "holds_all", "redraw"),
    [
        (None, False, False),  # nothing usable reported
        (_FITTED, False, False),  # the report of our own redraw, exactly
        (MapView(Bounds(46.001, 14.002, 46.499, 14.799), 10), False, False),  # … up to a pixel's rounding
        (MapView(Bounds(46.1, 14.2, 46.4, 14.6), 10), False, False),  # a narrower screen sees a part of it
        (MapView(Bounds(45.8, 13.6, 46.7, 15.2), 10), True, False),  # a wider screen, the layer fitted to every match
        (MapView(Bounds(45.8, 13.6, 46.7, 15.2), 10), False, True),  # a wider screen than a link's view guessed
        (MapView(Bounds(46.2, 14.5, 46.7, 15.3), 10), False, True),  # the visitor dragged the map east
        (MapView(Bounds(46.2, 14.5, 46.7, 15.3), 10), True, False),  # … with every match already drawn
        (MapView(Bounds(46.1, 14.2, 46.4, 14.6), 11), True, True),  # zoomed in: new clusters
        (MapView(Bounds(45.5, 13.2, 47.0, 15.6), 9), True, True),  # zoomed out
    ],
)
def test_view_to_draw(reported: MapView | None, holds_all: bool, redraw: bool) -> None:
    drawn = view_to_draw(reported, _FITTED, drawn_holds_all=holds_all)
    assert drawn == (reported if redraw else _FITTED)
