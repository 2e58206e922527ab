"""The Explore map at any scale: a fixed base map plus a layer rebuilt for the visible area.

The base map (tiles, styles, legend; local assets only) never changes, so the browser keeps it
while the page swaps one layer: grid clusters from :mod:`maps.clusters`, pins with popups where
the points are few, and one circle per city or district centre for approximate locations. The
layer's size depends on the screen, not on the data: a million opportunities cost no more to
draw than a thousand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import folium
import numpy as np
import numpy.typing as npt
from branca.element import MacroElement
from folium.template import Template

from maps.approximate import APPROXIMATE_RADIUS_M, DEFAULT_APPROXIMATE_RADIUS_M, ApproximateArea
from maps.clusters import (
    CLUSTER_PX,
    MAX_MARKER_ZOOM,
    TILE_PX,
    Bounds,
    cluster_points,
    first_topic,
    merge_overlapping,
    metres_per_pixel,
    pixels,
    zoom_for,
)
from maps.elements import (
    ApproximateAreas,
    MapBehaviour,
    PlaceLabels,
    TopicLegend,
    _MapStyle,
    metric_map,
    set_document,
    use_local_assets,
)
from maps.opportunity_map import DEFAULT_CENTRE, DEFAULT_ZOOM, MAX_FIT_ZOOM, TAP_TOLERANCE_PX
from maps.popups import MAX_LISTED, POPUP_OPTIONS, popup_html
from maps.topic_colours import NO_TOPIC_COLOUR, TOPIC_COLOURS, text_colour_on, topic_class
from opportunities.explore.index import PRECISIONS, OpportunityIndex
from opportunities.i18n import format_number, translator
from opportunities.model import City, Opportunity
from opportunities.vocabulary import TOPICS, Precision, topic_label

# At most this many pins (with their popups) in one layer; beyond it the grid clusters them.
MAX_PINS = 300
# A popup closed this recently (ms) by the swap of the layer (never by the visitor) opens again.
REOPEN_POPUP_MS = 3000

LoadOpportunities = Callable[[Sequence[int]], list[Opportunity]]


@dataclass(frozen=True)
class MapView:
    """What the visitor sees: the visible bounds and the zoom."""

    bounds: Bounds
    zoom: int

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.bounds.south + self.bounds.north) / 2, (self.bounds.west + self.bounds.east) / 2)


def fitted_view(index: OpportunityIndex, keep: npt.NDArray[np.bool_]) -> MapView:
    """The view that shows every located match (the network's region when there is none)."""
    bounds = Bounds.around(index.latitude[keep], index.longitude[keep])
    if bounds is None:
        lat, lon = DEFAULT_CENTRE
        return MapView(Bounds(lat - 8, lon - 12, lat + 8, lon + 12), DEFAULT_ZOOM)
    return MapView(bounds, min(zoom_for(bounds), MAX_FIT_ZOOM))


# Kilometres in a degree of latitude (and of longitude at the equator).
_KM_PER_DEGREE = 111.32


def near_view(latitude: float, longitude: float, radius_km: float) -> MapView:
    """The view that shows the whole circle of a search near a point (Near me, near an address)."""
    dlat = radius_km / _KM_PER_DEGREE
    dlon = min(180.0, dlat / max(0.01, math.cos(math.radians(latitude))))
    bounds = Bounds(max(-85.0, latitude - dlat), longitude - dlon, min(85.0, latitude + dlat), longitude + dlon)
    return MapView(bounds, min(zoom_for(bounds), MAX_FIT_ZOOM))


def near_circle(latitude: float, longitude: float, radius_km: float) -> folium.Circle:
    """The circle searched in, drawn as a dashed outline (no fill: the pins inside stay clickable)."""
    return folium.Circle(
        location=(latitude, longitude), radius=radius_km * 1000, color="#555555", weight=2, dash_array="6 6",
        fill=False, class_name="col-near-circle",
    )  # fmt: skip


def base_map(
    *, tile_url: str, tile_attribution: str, asset_base: str, language: str = "en", places: Sequence[City] = ()
) -> folium.Map:
    """The map without data: tiles, styles, the topic legend and the ``places`` (city names drawn
    from our own data, so the map is readable when tiles fail), with Leaflet served locally."""
    m = metric_map(
        location=DEFAULT_CENTRE,
        zoom_start=DEFAULT_ZOOM,
        tiles=folium.TileLayer(tiles=tile_url, attr=tile_attribution, max_zoom=19),
        tap_tolerance=TAP_TOLERANCE_PX,
    )
    use_local_assets(m, asset_base)
    set_document(m, language)
    _MapStyle().add_to(m)
    _ClusterStyle().add_to(m)  # type: ignore[no-untyped-call]
    MapBehaviour(language).add_to(m)
    if places:
        PlaceLabels(places).add_to(m)
    items = [(f"col-dot col-topic-{i}", topic_label(t, language)) for i, t in enumerate(TOPICS)]
    _ = translator(language).gettext
    items.append(("col-legend-area", _("Approximate location (the circle shows how far off it may be)")))
    TopicLegend(items, title=_("Topics")).add_to(m)
    return m


def places_by_size(index: OpportunityIndex, cities: Sequence[City]) -> list[City]:
    """``cities`` with the most opportunities first: where names crowd, the map keeps the first."""
    ids = index.city_id[index.city_id >= 0].astype(np.int64)
    counts = np.bincount(ids) if len(ids) else np.zeros(0, dtype=np.int64)

    def size(city: City) -> int:
        return int(counts[city.id]) if city.id is not None and 0 <= city.id < len(counts) else 0

    return sorted(cities, key=lambda c: (-size(c), c.name))


class GridClusters(MacroElement):
    """Count bubbles for grid clusters: buttons named like "12 opportunities, zoom in"; a click,
    Enter or Space zooms in on the cluster."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var group = {{ this._parent.get_name() }};
            {{ this.clusters|tojson }}.forEach(function (c) {
                var size = c[2] < 10 ? 30 : c[2] < 100 ? 36 : c[2] < 1000 ? 44 : 52;  // as _cluster_size_px
                var bubble = document.createElement("div");
                bubble.style.background = c[3];
                bubble.style.color = c[6];
                bubble.textContent = c[4];
                bubble.setAttribute("aria-hidden", "true");  // the button's name says the count in words
                var icon = L.divIcon({className: "col-cluster", html: bubble, iconSize: [size, size], iconAnchor: [size / 2, size / 2]});
                var marker = L.marker([c[0], c[1]], {icon: icon, title: c[5], alt: c[5], keyboard: true});
                function zoomIn() {
                    var map = group._map;
                    if (map) { map.setView([c[0], c[1]], Math.min(map.getZoom() + 2, 18)); }
                }
                marker.on("click", zoomIn);
                marker.on("add", function () {
                    var element = marker.getElement();
                    element.setAttribute("role", "button");
                    element.setAttribute("aria-label", c[5]);
                    L.DomEvent.on(element, "keydown", function (e) {
                        if (e.key === "Enter" || e.key === " " || e.key === "Spacebar") {
                            L.DomEvent.preventDefault(e);
                            L.DomEvent.stopPropagation(e);
                            zoomIn();
                        }
                    });
                });
                marker.addTo(group);
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, clusters: list[list[object]]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "GridClusters"
        self.clusters = clusters


class Pins(MacroElement):
    """Pins coloured by topic, each with its (escaped) popup.

    A popup that pans the map into view makes the page rebuild this layer for the new view, which
    removes the pin and so closes its popup: the pin of the popup open when the layer was swapped
    (same place and title) opens it again, without panning.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var group = {{ this._parent.get_name() }};
            var last = window.colOpenPin || null, reopen = null;
            {{ this.pins|tojson }}.forEach(function (p) {
                var icon = L.divIcon({className: "col-pin " + p[2], iconSize: [16, 16], iconAnchor: [8, 8], popupAnchor: [0, -8]});
                var marker = L.marker([p[0], p[1]], {icon: icon, title: p[4]});
                var key = p[0] + "," + p[1] + "|" + p[4];
                // Registered before bindPopup's own "remove" handler closes the popup: a removal
                // with the popup open is a swap of the layer, not the visitor closing it.
                marker.on("remove", function () {
                    var open = window.colOpenPin;
                    if (open && open.key === key && marker.isPopupOpen()) { open.swapped = Date.now(); }
                });
                marker.bindPopup(p[3], {{ this.popup_options|tojson }});
                marker.on("popupopen", function () { window.colOpenPin = {key: key, open: true, swapped: null}; });
                marker.on("popupclose", function () {
                    if (window.colOpenPin && window.colOpenPin.key === key) { window.colOpenPin.open = false; }
                });
                if (last && last.key === key && (last.open || (last.swapped !== null && Date.now() - last.swapped < {{ this.reopen_ms }}))) {
                    reopen = marker;
                }
                marker.addTo(group);
            });
            if (reopen) {
                var open = function () {
                    setTimeout(function () {
                        if (!reopen._map) { return; }
                        var popup = reopen.getPopup();
                        popup.options.autoPan = false;  // already in view; panning again would loop
                        reopen.openPopup();
                        popup.options.autoPan = true;
                    }, 0);
                };
                if (group._map) { open(); } else { group.once("add", open); }
            }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, pins: list[list[object]]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Pins"
        self.pins = pins
        self.popup_options = POPUP_OPTIONS
        self.reopen_ms = REOPEN_POPUP_MS


class _ClusterStyle(MacroElement):
    """Styles of the cluster bubbles; part of the base map, since a swapped layer carries no styles."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
            .col-cluster div { width: 100%; height: 100%; border-radius: 50%; border: 3px solid rgba(255,255,255,.85);
                               box-shadow: 0 0 4px rgba(0,0,0,.6); box-sizing: border-box;
                               font: bold 13px/1 sans-serif; display: flex; align-items: center; justify-content: center;
                               cursor: pointer; }
            .col-cluster:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; border-radius: 50%; }
        </style>
        {% endmacro %}
        """
    )


def _count_label(count: int) -> str:
    return f"{count / 1000:.0f}k" if count >= 10_000 else f"{count / 1000:.1f}k" if count >= 1000 else str(count)


@dataclass(frozen=True)
class Layer:
    """The features of one view, and what it took to make them."""

    group: folium.FeatureGroup
    clusters: int
    pins: int
    areas: int


def overview_layer(
    index: OpportunityIndex,
    keep: npt.NDArray[np.bool_],
    view: MapView,
    load: LoadOpportunities,
    city_names: Mapping[int, str],
    *,
    language: str = "en",
    highlight: Sequence[str] = (),
    credits: Callable[[list[int]], Mapping[int, str]] | None = None,
) -> Layer:
    """The layer for ``view``: clusters, pins and approximate areas of the matching opportunities.

    ``credits`` gives the pins' opportunities harvested from another publisher's feed their
    credit line for the popup (one call for all the pins).

    An approximate area small on screen at this zoom (its radius under a cluster cell) is
    counted in the grid clusters with the pins, never drawn as a pin: a cluster holding one is
    a cluster even of one. Only areas large on screen are circles, as wide as their uncertainty,
    with their count on the rim where it covers no cluster, pin or other count.

    Pins and clusters are coloured by the first of ``highlight`` (the filtered topics) that an
    opportunity has, else by its first topic; labels and popups are in ``language``.
    """
    group = folium.FeatureGroup(name="opportunities")
    located = keep & np.isfinite(index.latitude)
    approximate = located & index.approximate
    approximate_rows = np.flatnonzero(approximate)
    approximate_rows = approximate_rows[view.bounds.contains(index.latitude[approximate_rows], index.longitude[approximate_rows])]
    centres, radius_m = _centres(index, approximate_rows)
    small = _small_on_screen(index.latitude[approximate_rows], radius_m[centres], view.zoom)
    exact_rows = np.flatnonzero(located & ~approximate)
    rows = np.concatenate([exact_rows, approximate_rows[small]])
    never_single = np.arange(len(rows)) >= len(exact_rows)
    preferred = sum(1 << TOPICS.index(t) for t in set(highlight) if t in TOPICS)
    topics = first_topic(index.topics[rows], preferred)
    lat, lon = index.latitude[rows], index.longitude[rows]
    zoom = view.zoom
    clusters = cluster_points(lat, lon, topics, zoom=zoom, bounds=view.bounds, never_single=never_single)
    while len(clusters.singles) > MAX_PINS and zoom > 0:
        zoom = min(zoom, MAX_MARKER_ZOOM) - 1
        clusters = cluster_points(lat, lon, topics, zoom=zoom, bounds=view.bounds, never_single=never_single)
    # Drawn at the view's zoom: neighbouring cells of one town would stack their bubbles.
    clusters = merge_overlapping(clusters, zoom=view.zoom, radius_px=lambda count: _cluster_size_px(count) / 2 + 2)

    ngettext = translator(language).ngettext
    bubbles = []
    for clat, clon, count, t in zip(clusters.latitude, clusters.longitude, clusters.count, clusters.topic, strict=True):
        n = int(count)
        colour = TOPIC_COLOURS[TOPICS[t]] if t >= 0 else NO_TOPIC_COLOUR
        # Translators: the name of a cluster bubble on the map, read by screen readers; activating it zooms in.
        name = ngettext("{count} opportunity, zoom in", "{count} opportunities, zoom in", n).format(
            count=format_number(n, language)
        )
        bubbles.append([round(float(clat), 6), round(float(clon), 6), n, colour, _count_label(n), name, text_colour_on(colour)])
    if bubbles:
        GridClusters(bubbles).add_to(group)

    pins_rows = rows[clusters.singles]
    opportunities = load(index.ids[pins_rows].tolist())
    credited = credits([o.id for o in opportunities if o.id is not None]) if credits is not None else {}
    pins: list[list[object]] = [
        [o.latitude, o.longitude, topic_class(o, highlight), popup_html(o, language, credited.get(o.id or 0, "")), o.title]
        for o in opportunities
    ]
    if pins:
        Pins(pins).add_to(group)

    large = approximate_rows[~small]
    areas = _areas(index, large, centres[~small], radius_m, load, city_names)
    # What an area's count must not cover: every cluster bubble and pin (latitude, longitude, radius in px).
    taken = [
        (float(a), float(b), float(r))
        for a, b, r in zip(clusters.latitude, clusters.longitude, _cluster_size_px(clusters.count) / 2, strict=True)
    ]
    taken += [
        (float(o.latitude), float(o.longitude), PIN_PX / 2)
        for o in opportunities
        if o.latitude is not None and o.longitude is not None
    ]
    areas = _place_badges(areas, taken, view)
    if areas:
        ApproximateAreas(areas, language).add_to(group)
    return Layer(group, clusters=len(bubbles), pins=len(pins), areas=len(areas))


def _centres(index: OpportunityIndex, rows: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For approximate ``rows``: the number of each one's centre point (coordinates to 1e-4
    degrees), and per centre the radius of its area, as wide as its most uncertain member."""
    keys = (np.round(index.latitude[rows] * 1e4).astype(np.int64) + 900_000) * 4_000_000 + (
        np.round(index.longitude[rows] * 1e4).astype(np.int64) + 1_800_000
    )
    _, centre = np.unique(keys, return_inverse=True)
    centre = centre.reshape(-1).astype(np.int64)
    # Where the uncertainty was not recorded, the radius the precision stands for.
    fallback = np.array([APPROXIMATE_RADIUS_M.get(p, DEFAULT_APPROXIMATE_RADIUS_M) for p in PRECISIONS], dtype=np.int64)
    codes = index.precision[rows].astype(np.int64)
    by_precision = np.where(codes >= 0, fallback[np.clip(codes, 0, None)], DEFAULT_APPROXIMATE_RADIUS_M)
    known = index.uncertainty_m[rows].astype(np.int64)
    radius = np.zeros(int(centre.max()) + 1 if len(centre) else 0, dtype=np.int64)
    np.maximum.at(radius, centre, np.where(known >= 0, known, by_precision))
    return centre, radius


def _small_on_screen(latitudes: npt.NDArray[np.float64], radius_m: npt.NDArray[np.int64], zoom: int) -> npt.NDArray[np.bool_]:
    """Areas whose circle would be smaller on screen than a cluster cell: counted in the clusters.

    From MAX_MARKER_ZOOM on nothing is clustered, and every area is a circle.
    """
    if zoom >= MAX_MARKER_ZOOM:
        return np.zeros(len(latitudes), dtype=bool)
    return np.asarray(radius_m / metres_per_pixel(latitudes, zoom) < CLUSTER_PX, dtype=bool)


def _areas(
    index: OpportunityIndex,
    rows: npt.NDArray[np.int64],
    centres: npt.NDArray[np.int64],
    radius_m: npt.NDArray[np.int64],
    load: LoadOpportunities,
    city_names: Mapping[int, str],
) -> list[ApproximateArea]:
    """One area per centre point of the approximate ``rows``, ``centres`` numbering them."""
    if len(rows) == 0:
        return []
    order = np.argsort(centres, kind="stable")
    numbers, starts = np.unique(centres[order], return_index=True)
    areas = []
    for number, members in zip(numbers.tolist(), np.split(rows[order], starts[1:]), strict=True):
        listed = load(index.ids[members[:MAX_LISTED]].tolist())
        row = members[0]
        # Drawn as the vaguest member, as wide as the most uncertain one.
        codes = index.precision[members]
        precision = PRECISIONS[int(codes.max())] if (codes >= 0).any() else Precision.CITY
        areas.append(
            ApproximateArea(
                latitude=float(index.latitude[row]),
                longitude=float(index.longitude[row]),
                city=city_names.get(int(index.city_id[row]), ""),
                precision=precision,
                uncertainty_m=int(radius_m[number]),
                opportunities=tuple(listed),
                total=len(members),
            )
        )
    return areas


# Where on its circle's rim an area's count may sit: north first, then around the compass.
_RIM_DIRECTIONS = [(0.0, -1.0), (0.7071, -0.7071), (1.0, 0.0), (0.7071, 0.7071), (0.0, 1.0), (-0.7071, 0.7071), (-1.0, 0.0), (-0.7071, -0.7071)]  # fmt: skip
PIN_PX = 16  # a pin's diameter
BADGE_PX = 24  # about an area count's size, for keeping it clear of others


def _cluster_size_px(count: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Cluster bubbles' diameters by their counts (as GridClusters draws them)."""
    return np.asarray(
        np.select([np.less(count, 10), np.less(count, 100), np.less(count, 1000)], [30.0, 36.0, 44.0], 52.0), dtype=np.float64
    )


def _place_badges(areas: list[ApproximateArea], taken: list[tuple[float, float, float]], view: MapView) -> list[ApproximateArea]:
    """``areas`` with their count placed on the rim where it is clearest of ``taken`` (latitude,
    longitude, radius in pixels: clusters and pins) and of the counts placed before it, preferring
    places inside the view. Largest areas first, so a city's big counts get the best places."""
    if not areas:
        return []
    zoom = view.zoom
    obstacles = [(*pixels(np.array([lat]), np.array([lon]), zoom)[0], r) for lat, lon, r in taken]
    view_px = pixels(np.array([view.bounds.north, view.bounds.south]), np.array([view.bounds.west, view.bounds.east]), zoom)
    (left, top), (right, bottom) = view_px[0], view_px[1]
    placed = []
    for area in sorted(areas, key=lambda a: -a.count):
        centre = pixels(np.array([area.latitude]), np.array([area.longitude]), zoom)[0]
        rim_px = area.radius_m / float(metres_per_pixel(np.array([area.latitude]), zoom)[0])
        best: tuple[tuple[bool, float], float, float] | None = None
        for dx, dy in _RIM_DIRECTIONS:
            x, y = centre[0] + dx * rim_px, centre[1] + dy * rim_px
            inside = left + BADGE_PX <= x <= right - BADGE_PX and top + BADGE_PX <= y <= bottom - BADGE_PX
            clearance = min((float(np.hypot(x - ox, y - oy)) - r for ox, oy, r in obstacles), default=float("inf"))
            score = (inside, min(clearance, 4.0 * BADGE_PX))  # beyond a few badges' width, north is as good
            if best is None or score > best[0]:
                best = (score, x, y)
        assert best is not None
        _, x, y = best
        obstacles.append((x, y, BADGE_PX / 2))
        lat, lon = _from_pixels(x, y, zoom)
        placed.append(replace(area, badge=(round(lat, 6), round(lon, 6))))
    return placed


def _from_pixels(x: float, y: float, zoom: int) -> tuple[float, float]:
    """The latitude and longitude at world pixel ``x``, ``y`` at ``zoom`` (Web Mercator)."""
    scale = TILE_PX * 2.0**zoom
    lon = x / scale * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / scale))))
    return lat, lon
