"""What a folium map of ours adds to Leaflet: the styles, the topic legend, city names under the
pins, touch behaviour and the tiles-failed notice, the approximate areas' circles, the vendored
scripts (never a CDN), and the page's language.

Every element carries its data as JSON, never as script source.
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
from branca.element import MacroElement
from folium.plugins import FastMarkerCluster
from folium.template import Template

from maps.approximate import ApproximateArea
from maps.offline_page import INLINE_BASE
from maps.popups import POPUP_OPTIONS, area_popup_html
from maps.topic_colours import TOPIC_COLOURS
from opportunities.i18n import translator
from opportunities.model import City
from opportunities.vocabulary import TOPICS

LEAFLET_DIR = "vendor/leaflet-1.9.4"
MARKERCLUSTER_DIR = "vendor/leaflet.markercluster-1.5.3"


class _MapStyle(MacroElement):
    """Styles of the pins, legend and popups (one colour class per topic)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
            .col-pin { border-radius: 50%; border: 2px solid #fff; box-shadow: 0 0 3px rgba(0,0,0,.7); box-sizing: border-box; }
            .col-dot { display: inline-block; width: 12px; height: 12px; border-radius: 50%; margin-right: 6px;
                       vertical-align: middle; border: 1px solid #fff; box-shadow: 0 0 2px rgba(0,0,0,.6); }
            {%- for colour in this.colours %}
            .col-topic-{{ loop.index0 }}, .col-t{{ loop.index0 }}::before { background: {{ colour }}; }
            {%- endfor %}
            /* Text colours are explicit (the frame may inherit a dark theme's light text): at least 4.5:1. */
            .col-legend { background: #ffffff; color: #1f1f1f; padding: 6px 8px; border-radius: 4px;
                          box-shadow: 0 1px 4px rgba(0,0,0,.3); font-size: 12px; line-height: 18px; max-width: 220px; }
            .col-legend-title { font-weight: bold; margin-bottom: 2px; cursor: pointer; }
            .col-legend-area { display: inline-block; width: 12px; height: 12px; border-radius: 50%; margin-right: 6px;
                               vertical-align: middle; background: rgba(80,80,80,.2); border: 1px solid #555; }
            .col-popup { font-size: 13px; line-height: 1.35; color: #1f1f1f; }
            .col-popup ul { margin: 4px 0; padding-left: 18px; }
            .col-popup a { color: #0b57a4; }
            .col-popup-topic { font-size: 12px; color: #3d3d3d; margin-bottom: 2px; }
            /* A popup's topics: short markup (every pin's popup travels with the layer), the dot drawn by CSS. */
            .col-t { display: inline-block; margin-right: 8px; white-space: nowrap; }
            .col-t::before { content: ""; display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px;
                             vertical-align: middle; border: 1px solid #fff; box-shadow: 0 0 2px rgba(0,0,0,.6); }
            .col-area-count { background: rgba(255,255,255,.95); border: 1px solid #555; border-radius: 10px;
                              text-align: center; font: bold 12px/18px sans-serif; color: #1f1f1f; }
            /* Without tiles the map is a light land colour with the cities named, not a blank grey. */
            .leaflet-container { background: #eef0e8; }
            .col-place-label span { position: absolute; transform: translate(-50%, calc(-100% - 24px)); color: #2b2b2b;
                                    font: 600 13px/1.2 sans-serif; white-space: nowrap; pointer-events: none;
                                    text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; }
            .col-map-notice { position: absolute; z-index: 1000; top: 8px; left: 50%; transform: translateX(-50%);
                              max-width: calc(100% - 120px); background: #fff8d6; color: #1f1f1f; border: 1px solid #8a6d00;
                              border-radius: 4px; padding: 4px 8px; font: 12px/1.35 sans-serif; text-align: center; }
            .col-map-hint { position: absolute; z-index: 1000; inset: 0; display: flex; align-items: center;
                            justify-content: center; background: rgba(0,0,0,.45); color: #fff; font: 600 16px/1.3 sans-serif;
                            text-align: center; padding: 16px; opacity: 0; transition: opacity .2s; pointer-events: none; }
            .col-map-hint.col-visible { opacity: 1; }
            [hidden] { display: none !important; }
            /* Leaflet's own controls on an opaque ground, so their text reads (and can be measured) over any tile. */
            .leaflet-container .leaflet-control-attribution, .leaflet-control-scale-line { background: #ffffff; color: #333333; }
            .leaflet-container .leaflet-control-attribution a { color: #0b57a4; }
            @media (prefers-color-scheme: dark) {
                .col-legend { background: #1c1c1e; color: #f0f0f0; }
                .col-legend-area { border-color: #bbb; background: rgba(200,200,200,.25); }
                .leaflet-popup-content-wrapper, .leaflet-popup-tip { background: #1f1f22; }
                .col-popup { color: #f0f0f0; }
                .col-popup a { color: #8cc4ff; }
                .col-popup-topic { color: #d0d0d0; }
                .leaflet-container a.leaflet-popup-close-button { color: #d0d0d0; }
                .leaflet-container .leaflet-control-attribution, .leaflet-control-scale-line { background: #1c1c1e; color: #f0f0f0; }
                .leaflet-container .leaflet-control-attribution a { color: #8cc4ff; }
            }
        </style>
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "MapStyle"
        self.colours = [TOPIC_COLOURS[t] for t in TOPICS]


class TopicLegend(MacroElement):
    """A Leaflet control listing the topics on the map with their colours."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var items = {{ this.items|tojson }};
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                // A <details> box: open on wide maps, folded to its title on a phone.
                var box = L.DomUtil.create("details", "col-legend");
                box.open = window.innerWidth > 600;
                L.DomUtil.create("summary", "col-legend-title", box).textContent = {{ this.title|tojson }};
                items.forEach(function (item) {
                    var row = L.DomUtil.create("div", "", box);
                    L.DomUtil.create("span", item[0], row);
                    row.appendChild(document.createTextNode(item[1]));
                });
                L.DomEvent.disableClickPropagation(box);
                return box;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, items: list[tuple[str, str]], title: str = "Topics") -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "TopicLegend"
        self.items = items
        self.title = title


class PlaceLabels(MacroElement):
    """City names at their coordinates, under the pins: the map stays readable when tiles fail.

    Plain text labels (set as text, never HTML), not focusable and not clickable: the tiles'
    own labels say the same when they load, so these are only a fallback (a few bytes per city).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var pane = map.createPane("colPlaces");
            pane.style.zIndex = 450;  // above tiles and circles, below markers and popups
            var labels = [];
            {{ this.places|tojson }}.forEach(function (p) {
                var label = document.createElement("span");
                label.textContent = p[0];
                labels.push(label);
                L.marker([p[1], p[2]], {
                    pane: "colPlaces", interactive: false, keyboard: false,
                    icon: L.divIcon({className: "col-place-label", html: label, iconSize: [0, 0], iconAnchor: [0, 0]})
                }).addTo(map);
            });
            // Neighbouring towns overlap when zoomed out: show a label only where it has room.
            function declutter() {
                var shown = [];
                labels.forEach(function (label) {
                    label.style.visibility = "";
                    var r = label.getBoundingClientRect();
                    var clash = shown.some(function (s) {
                        return r.left < s.right + 4 && s.left < r.right + 4 && r.top < s.bottom && s.top < r.bottom;
                    });
                    if (clash) { label.style.visibility = "hidden"; } else { shown.push(r); }
                });
            }
            map.on("zoomend moveend", declutter);
            declutter();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, places: Sequence[City]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "PlaceLabels"
        self.places = [[p.name, round(p.latitude, 5), round(p.longitude, 5)] for p in places]


class MapBehaviour(MacroElement):
    """What the map does beyond drawing: a notice when tiles fail, touch gestures for phones, zoomable text.

    - Tiles that fail to load (Leaflet's ``tileerror``) show a small notice once, so a grey
      background is explained; everything drawn from our own data stays.
    - The document's ``lang`` is set to ``language``.
    - On a touch screen one finger scrolls the page and two fingers move and zoom the map (Leaflet's
      one-finger dragging is off; its pinch handler pans as well); a one-finger swipe over the map
      shows a short hint saying so.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var texts = {{ this.texts|tojson }};
            var container = map.getContainer();
            // The document the map is drawn in (Streamlit's component frame, or a standalone page)
            // speaks the map's language: screen readers pronounce its labels and popups by it.
            document.documentElement.setAttribute("lang", {{ this.language|tojson }});
            // folium's page forbids pinch-zooming the page (user-scalable=no, maximum-scale=1);
            // WCAG 1.4.4 wants text zoomable, so the viewport allows it again.
            document.querySelectorAll('meta[name="viewport"]').forEach(function (meta) {
                meta.setAttribute("content", "width=device-width, initial-scale=1.0");
            });
            var notice = L.DomUtil.create("div", "col-map-notice", container);
            notice.setAttribute("role", "status");
            notice.hidden = true;
            L.DomEvent.disableClickPropagation(notice);
            function tilesFailed() {
                if (notice.hidden) { notice.textContent = texts.tiles_failed; notice.hidden = false; }
            }
            function watch(layer) { if (layer instanceof L.TileLayer) { layer.on("tileerror", tilesFailed); } }
            map.eachLayer(watch);
            map.on("layeradd", function (e) { watch(e.layer); });
            // Over the map's panes like the controls: it steps aside while a popup is open.
            map.on("popupopen", function () { notice.style.visibility = "hidden"; });
            map.on("popupclose", function () { notice.style.visibility = ""; });

            var touch = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
            if (touch || L.Browser.mobile) {
                map.dragging.disable();
                var hint = L.DomUtil.create("div", "col-map-hint", container);
                hint.textContent = texts.two_fingers;
                hint.setAttribute("aria-hidden", "true");  // a visual cue for a gesture; the page itself scrolls
                var timer = null;
                container.addEventListener("touchmove", function (e) {
                    if (e.touches.length !== 1) { hint.classList.remove("col-visible"); return; }
                    hint.classList.add("col-visible");
                    clearTimeout(timer);
                    timer = setTimeout(function () { hint.classList.remove("col-visible"); }, 1500);
                }, {passive: true});
            }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, language: str = "en") -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "MapBehaviour"
        self.language = language
        _ = translator(language).gettext
        self.texts = {
            "tiles_failed": _("Map background could not be loaded; places and cities are still shown."),
            "two_fingers": _("Use two fingers to move the map"),
        }


class ApproximateAreas(MacroElement):
    """Translucent circles with a count label, one per approximate centre point."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var areas = {{ this.areas|tojson }};
            var group = L.featureGroup();
            areas.forEach(function (a) {
                L.circle([a.lat, a.lon], {radius: a.radius, color: "#555", weight: 1, fillColor: "#666", fillOpacity: 0.18})
                    .bindPopup(a.popup, {{ this.popup_options|tojson }}).bindTooltip(a.label_html).addTo(group);
                // The count sits on the circle's rim (where the layer placed it, clear of clusters and
                // pins; else at the north), never over the pins at the centre.
                var width = 14 + 8 * String(a.count).length;
                L.marker(a.badge || [a.lat + a.radius / 111320, a.lon], {
                    title: a.label_text,
                    icon: L.divIcon({className: "col-area-count", html: String(a.count), iconSize: [width, 20], iconAnchor: [width / 2, 10]})
                }).bindPopup(a.popup, {{ this.popup_options|tojson }}).addTo(group);
            });
            group.addTo({{ this._parent.get_name() }});
            return group;
        })();
        {% endmacro %}
        """
    )

    def __init__(self, areas: Sequence[ApproximateArea], language: str = "en") -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "ApproximateAreas"
        self.popup_options = POPUP_OPTIONS
        self.areas = [
            {
                "lat": a.latitude,
                "lon": a.longitude,
                "radius": a.radius_m,
                "count": a.count,
                "label_text": a.label_in(language),
                "label_html": a.label_html_in(language),
                "popup": area_popup_html(a, language),
            }
            | ({"badge": list(a.badge)} if a.badge is not None else {})
            for a in areas
        ]


class MetricScale(MacroElement):
    """The scale bar in metres and kilometres only (Leaflet's default adds feet and miles), and, on a
    narrow map, lifted above the attribution so that the two do not overlap."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          @media (max-width: 480px) {
            .leaflet-bottom.leaflet-left { bottom: 1.6em; }
            .leaflet-container .leaflet-control-attribution { font-size: 10px; }
          }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, metric: true}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )


def metric_map(**options: object) -> folium.Map:
    """A folium map with the metric scale bar (:class:`MetricScale`) instead of folium's
    ``control_scale`` (metric and imperial): every map of the app is made by this."""
    m = folium.Map(control_scale=False, **options)  # type: ignore[arg-type]
    MetricScale().add_to(m)  # type: ignore[no-untyped-call]
    return m


def _asset(asset_base: str, path: str) -> str:
    return f"{asset_base.rstrip('/')}/{path}"


class DefaultIconPath(MacroElement):
    """Leaflet's default pin images from ``path``, said before any marker is made.

    Left alone, Leaflet guesses the folder from its style sheet as the first marker is drawn; a
    style sheet not yet applied then gives a broken image where the pin should be.
    """

    _template = Template(
        """{% macro script(this, kwargs) %}
    L.Icon.Default.imagePath = {{ this.path|tojson }};
{% endmacro %}"""
    )

    def __init__(self, path: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "DefaultIconPath"
        self.path = path


def use_local_assets(element: folium.Map | FastMarkerCluster, asset_base: str) -> None:
    """Point the element's scripts and style sheets at the vendored copies under ``asset_base``.

    Instance attributes, so folium's class-level CDN lists stay untouched for other code. Call it
    on a map before adding markers to it (the default pin's images are named first).
    """
    if isinstance(element, folium.Map):
        # Only Leaflet itself: no jQuery, Bootstrap or awesome-markers, which this map does not use.
        element.default_js = [("leaflet", _asset(asset_base, f"{LEAFLET_DIR}/leaflet.js"))]
        element.default_css = [("leaflet_css", _asset(asset_base, f"{LEAFLET_DIR}/leaflet.css"))]
        if not asset_base.startswith(INLINE_BASE):  # an offline page has the images in its style sheet
            DefaultIconPath(_asset(asset_base, f"{LEAFLET_DIR}/images/")).add_to(element)
    else:
        element.default_js = [("markerclusterjs", _asset(asset_base, f"{MARKERCLUSTER_DIR}/leaflet.markercluster.js"))]
        element.default_css = [
            ("markerclustercss", _asset(asset_base, f"{MARKERCLUSTER_DIR}/MarkerCluster.css")),
            ("markerclusterdefaultcss", _asset(asset_base, f"{MARKERCLUSTER_DIR}/MarkerCluster.Default.css")),
        ]


# folium's page template (branca's Figure) with the document language on <html>.
_DOCUMENT = Template(
    "<!DOCTYPE html>\n"
    '<html lang="{{ this.language|e }}">\n'
    "<head>\n"
    "{% if this.title %}<title>{{ this.title|e }}</title>{% endif %}"
    "    {{ this.header.render(**kwargs) }}\n"
    "</head>\n"
    "<body>\n"
    "    {{ this.html.render(**kwargs) }}\n"
    "</body>\n"
    "<script>\n"
    "    {{ this.script.render(**kwargs) }}\n"
    "</script>\n"
    "</html>\n"
)


def set_document(m: folium.Map, language: str) -> None:
    """Give the page ``m`` renders into its language (``<html lang>``) and a translated ``<title>``."""
    root = m.get_root()
    root.language = language  # type: ignore[attr-defined]
    root.title = translator(language).gettext("Learning opportunities")  # type: ignore[attr-defined]
    root._template = _DOCUMENT
