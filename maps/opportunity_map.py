"""A folium map of opportunities: clustered pins coloured by topic, approximate places as circles.

Every script and style sheet comes from ``asset_base`` (the files vendored under
``static/vendor/``), never from a CDN; only the tiles come from ``tile_url``, so pins, clusters
and popups draw without network access. Provider-written text is HTML-escaped before it reaches
a popup, and it travels to the browser as JSON data, never as script source.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence

import folium
from folium.plugins import FastMarkerCluster

from maps.approximate import approximate_areas, is_approximate
from maps.elements import ApproximateAreas, MapBehaviour, TopicLegend, _MapStyle, metric_map, set_document, use_local_assets
from maps.popups import POPUP_OPTIONS, popup_html
from maps.topic_colours import pin_topic, topic_class
from opportunities.i18n import translator
from opportunities.model import Opportunity
from opportunities.vocabulary import TOPICS, topic_label

# Shown when nothing has a location: the network's part of Europe (Sweden to Slovenia).
DEFAULT_CENTRE = (52.0, 15.0)
DEFAULT_ZOOM = 4
# Fitting the bounds of a single place would zoom to street level; stop at a neighbourhood.
MAX_FIT_ZOOM = 15
# Leaflet's tap tolerance (px): a finger moves a little during a tap; more than this is a swipe.
TAP_TOLERANCE_PX = 20


# Each row: latitude, longitude, topic colour class, popup HTML (escaped), title (plain text: set as a DOM property).
_PIN_CALLBACK = """function (row) {
    var icon = L.divIcon({className: "col-pin " + row[2], iconSize: [16, 16], iconAnchor: [8, 8], popupAnchor: [0, -8]});
    var marker = L.marker(new L.LatLng(row[0], row[1]), {icon: icon, title: row[4]});
    marker.bindPopup(row[3], POPUP_OPTIONS);
    return marker;
}""".replace("POPUP_OPTIONS", json.dumps(POPUP_OPTIONS))


def build_map(
    opportunities: Sequence[Opportunity],
    *,
    tile_url: str,
    tile_attribution: str,
    asset_base: str,
    language: str = "en",
    highlight: Collection[str] = (),
) -> folium.Map:
    """A map of the located opportunities; online ones (no coordinates) are left out.

    Exact locations are clustered pins coloured by topic (the first of ``highlight``, the
    filtered topics, that an opportunity has, else its first); city and locality centres are
    aggregated into one circle per centre. The view fits everything shown.
    """
    located = [o for o in opportunities if o.has_location]
    exact = [o for o in located if not is_approximate(o)]
    areas = approximate_areas(located)

    points = [(o.latitude, o.longitude) for o in exact] + [(a.latitude, a.longitude) for a in areas]
    lats = [lat for lat, _ in points if lat is not None]
    lons = [lon for _, lon in points if lon is not None]
    centre = ((min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2) if lats else DEFAULT_CENTRE

    m = metric_map(
        location=centre,
        zoom_start=DEFAULT_ZOOM if not lats else MAX_FIT_ZOOM,
        tiles=folium.TileLayer(tiles=tile_url, attr=tile_attribution, max_zoom=19),
        tap_tolerance=TAP_TOLERANCE_PX,
    )
    use_local_assets(m, asset_base)
    set_document(m, language)
    _MapStyle().add_to(m)
    MapBehaviour(language).add_to(m)
    _ = translator(language).gettext

    if areas:
        ApproximateAreas(areas, language).add_to(m)
    if exact:
        rows = [[o.latitude, o.longitude, topic_class(o, highlight), popup_html(o, language), o.title] for o in exact]
        cluster = FastMarkerCluster(  # type: ignore[no-untyped-call]
            rows,
            callback=_PIN_CALLBACK,
            name="Opportunities",
            show_coverage_on_hover=False,
            chunked_loading=True,
            max_cluster_radius=50,
        )
        use_local_assets(cluster, asset_base)
        cluster.add_to(m)

    shown_topics = {pin_topic(o, highlight) for o in exact}
    items = [(f"col-dot col-topic-{i}", topic_label(t, language)) for i, t in enumerate(TOPICS) if t in shown_topics]
    if areas:
        items.append(("col-legend-area", _("Approximate location (the circle shows how far off it may be)")))
    if items:
        TopicLegend(items, title=_("Topics")).add_to(m)

    if lats:
        m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], max_zoom=MAX_FIT_ZOOM, padding=(30, 30))
    return m
