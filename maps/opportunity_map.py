"""A folium map of opportunities: clustered pins coloured by topic, approximate places as circles.

Every script and style sheet comes from ``asset_base`` (the files vendored under
``static/vendor/``), never from a CDN; only the tiles come from ``tile_url``, so pins, clusters
and popups draw without network access. Provider-written text is HTML-escaped before it reaches
a popup, and it travels to the browser as JSON data, never as script source.
"""

from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import folium
from branca.element import MacroElement
from folium.plugins import FastMarkerCluster
from folium.template import Template

from maps.offline_page import INLINE_BASE
from opportunities.i18n import format_money, format_number, format_when, translator
from opportunities.model import City, Opportunity, as_datetime
from opportunities.vocabulary import TOPICS, Precision, topic_label
from opportunities.vocabulary import is_approximate as _vague

LEAFLET_DIR = "vendor/leaflet-1.9.4"
MARKERCLUSTER_DIR = "vendor/leaflet.markercluster-1.5.3"

# One fixed colour per topic id, so that a topic looks the same on every map and in every legend.
TOPIC_COLOURS: dict[str, str] = {
    "arts-culture": "#d62728",
    "digital-skills": "#1f77b4",
    "media-literacy": "#9467bd",
    "science-technology": "#17becf",
    "languages": "#ff7f0e",
    "entrepreneurship": "#8c564b",
    "sustainability": "#2ca02c",
    "citizenship": "#393b79",
    "inclusion": "#e377c2",
    "wellbeing": "#bcbd22",
    "sport-outdoors": "#637939",
    "careers": "#7f7f7f",
    "international": "#843c39",
    "study": "#e7ba52",
}
NO_TOPIC_COLOUR = "#444444"

# Shown when nothing has a location: the network's part of Europe (Sweden to Slovenia).
DEFAULT_CENTRE = (52.0, 15.0)
DEFAULT_ZOOM = 4
# Fitting the bounds of a single place would zoom to street level; stop at a neighbourhood.
MAX_FIT_ZOOM = 15
# Radius of an approximate circle: how far from the centre the activity may really be. Locations
# carry their own uncertainty; these are for ones stored before it was recorded.
APPROXIMATE_RADIUS_M = {Precision.CITY: 2500, Precision.LOCALITY: 1000, Precision.POSTCODE: 1000}
DEFAULT_APPROXIMATE_RADIUS_M = 1000
# An approximate circle's popup lists this many activities, then says how many more there are.
MAX_LISTED = 20
# Every popup: narrow enough for a 390 px phone, and panned into view (clear of the edges and the
# controls) when its pin sits near the map's edge, so a tap near the edge never loses its popup.
POPUP_OPTIONS: dict[str, object] = {"maxWidth": 280, "autoPan": True, "autoPanPadding": [24, 48], "keepInView": True}
# Leaflet's tap tolerance (px): a finger moves a little during a tap; more than this is a swipe.
TAP_TOLERANCE_PX = 20


@dataclass(frozen=True)
class ApproximateArea:
    """Opportunities located only at the centre of a city or locality, shown as one circle."""

    latitude: float
    longitude: float
    city: str
    precision: Precision
    opportunities: tuple[Opportunity, ...]  # all of them, or the first few when ``total`` says more
    total: int = 0
    uncertainty_m: int | None = None  # the largest of its members'; None: from ``precision``
    badge: tuple[float, float] | None = None  # where its count sits; None: on the circle's northern rim

    @property
    def radius_m(self) -> int:
        """The circle's radius: how far from its centre an activity may really be."""
        if self.uncertainty_m is not None:
            return self.uncertainty_m
        return APPROXIMATE_RADIUS_M.get(self.precision, DEFAULT_APPROXIMATE_RADIUS_M)

    @property
    def count(self) -> int:
        """How many opportunities the area stands for."""
        return max(self.total, len(self.opportunities))

    @property
    def label(self) -> str:
        """Plain text, e.g. ``12 activities in Kranj (approximate location)``."""
        return self.label_in("en")

    def label_in(self, language: str) -> str:
        """The label in ``language``, e.g. ``12 aktiviteter i Kranj (ungefärlig plats)``."""
        return self._label_template(language).format(count=format_number(self.count, language), city=self.city)

    def label_html_in(self, language: str) -> str:
        """The label as HTML: escaped, the city name isolated in ``<bdi>``."""
        count = html.escape(format_number(self.count, language))
        return html.escape(self._label_template(language)).format(count=count, city=_isolated(self.city))

    def _label_template(self, language: str) -> str:
        ngettext = translator(language).ngettext
        return ngettext(
            "{count} activity in {city} (approximate location)", "{count} activities in {city} (approximate location)", self.count
        )


def is_approximate(opportunity: Opportunity) -> bool:
    """True when the location is not known to within vocabulary.PIN_MAX_UNCERTAINTY_M: drawn
    as an approximate area, never as an exact pin."""
    return _vague(opportunity.precision, opportunity.uncertainty_m)


def uncertainty_radius_m(opportunity: Opportunity) -> int:
    """How far off an approximately located opportunity may be (by its precision when unknown)."""
    if opportunity.uncertainty_m is not None:
        return opportunity.uncertainty_m
    if opportunity.precision is None:
        return DEFAULT_APPROXIMATE_RADIUS_M
    return APPROXIMATE_RADIUS_M.get(opportunity.precision, DEFAULT_APPROXIMATE_RADIUS_M)


def pin_topic(opportunity: Opportunity, highlight: Collection[str] = ()) -> str | None:
    """The topic whose colour the pin wears: the first of the opportunity's topics among
    ``highlight`` (the topics the visitor filtered for), else its first topic; None without one."""
    known = [t for t in opportunity.topics if t in TOPIC_COLOURS]
    return next((t for t in known if t in highlight), known[0] if known else None)


def topic_colour(opportunity: Opportunity, highlight: Collection[str] = ()) -> str:
    """The colour of the opportunity's pin (see :func:`pin_topic`)."""
    topic = pin_topic(opportunity, highlight)
    return TOPIC_COLOURS[topic] if topic is not None else NO_TOPIC_COLOUR


def _luminance(colour: str) -> float:
    """WCAG relative luminance of a ``#rrggbb`` colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_colour_on(background: str) -> str:
    """Black or white, whichever contrasts more with ``background`` (every colour gets ≥ 4.58:1)."""
    lum = _luminance(background)
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def approximate_areas(opportunities: Sequence[Opportunity]) -> list[ApproximateArea]:
    """Approximately located opportunities grouped by centre point, largest group first."""
    groups: dict[tuple[float, float], list[Opportunity]] = defaultdict(list)
    for opp in opportunities:
        if opp.latitude is not None and opp.longitude is not None and is_approximate(opp):
            groups[(round(opp.latitude, 4), round(opp.longitude, 4))].append(opp)
    areas = []
    for (lat, lon), members in groups.items():
        city = Counter(o.city for o in members).most_common(1)[0][0]
        # A group mixing precisions is drawn as the vaguest, as wide as its vaguest member.
        precision = max((o.precision or Precision.CITY for o in members), key=list(Precision).index)
        radius = max(uncertainty_radius_m(o) for o in members)
        areas.append(ApproximateArea(lat, lon, city, precision, tuple(members), uncertainty_m=radius))
    areas.sort(key=lambda a: (-a.count, a.city, a.latitude, a.longitude))
    return areas


def safe_link(url: str) -> str | None:
    """``url`` when it is an http(s) link, else None (no ``javascript:`` or ``data:`` links)."""
    url = url.strip()
    return url if url.lower().startswith(("http://", "https://")) else None


# How far after its start a series' first session is looked for (a yearly rule's is within a year).
FIRST_SESSION_WITHIN = timedelta(days=2 * 366)


def format_dates(opportunity: Opportunity, language: str = "en") -> str:
    """``2 Dec 2026, 17:00 – 26 May 2027 (recurring)`` style text, in ``language``."""
    _ = translator(language).gettext
    start: date | datetime = opportunity.start
    if opportunity.schedule:
        # A series is shown from its first session (the calendar file starts there too): a start
        # date the rule skips (the 4th for "every last Friday") is no day anyone should come.
        first = as_datetime(start)
        found = opportunity.sessions(first, first + FIRST_SESSION_WITHIN, limit=1)
        if found:
            start = found[0] if isinstance(start, datetime) else found[0].date()
    text = format_when(start, language)
    if opportunity.end is not None and opportunity.end != start:
        text = _("{start} – {end}").format(start=text, end=format_when(opportunity.end, language))
    if opportunity.schedule:
        text = _("{dates} (recurring)").format(dates=text)
    return text


def format_ages(opportunity: Opportunity, language: str = "en") -> str:
    """``12–16``, or ``12+`` when open-ended."""
    if opportunity.age_max is None:
        _ = translator(language).gettext
        return _("{age}+").format(age=opportunity.age_min)
    return f"{opportunity.age_min}–{opportunity.age_max}"


def format_cost(opportunity: Opportunity, language: str = "en") -> str:
    """``Free``, or the amount in the language's currency format (``€12.50``, ``12,50 €``)."""
    return format_money(opportunity.cost, opportunity.currency, language)


def _isolated(text: str) -> str:
    """Provider-written ``text`` escaped and isolated in ``<bdi>``: a right-to-left name (Arabic,
    Hebrew) keeps its direction without reordering the dates and numbers beside it."""
    return f"<bdi>{html.escape(text)}</bdi>"


def popup_html(opportunity: Opportunity, language: str = "en") -> str:
    """The popup of one pin. Every provider-written string is escaped and isolated in ``<bdi>``."""
    e = html.escape
    b = _isolated
    _ = translator(language).gettext
    lines = []
    # Every topic, each with its colour, so a pin's colour is explained whatever topic chose it.
    topics = [
        f'<span class="col-t col-t{TOPICS.index(t)}">{e(topic_label(t, language))}</span>'
        for t in opportunity.topics
        if t in TOPIC_COLOURS
    ]
    if topics:
        lines.append(f'<div class="col-popup-topic">{"".join(topics)}</div>')
    lines.append(f"<strong>{b(opportunity.title)}</strong>")
    lines.append(f"<div>{b(opportunity.provider)}</div>")
    lines.append(f"<div>{e(format_dates(opportunity, language))}</div>")
    place = ", ".join(b(part) for part in (opportunity.venue, opportunity.address) if part)
    if place:
        lines.append(f"<div>{place}</div>")
    if is_approximate(opportunity):
        lines.append(f"<div><em>{e(_('Approximate location'))}</em></div>")
    ages = _("Ages {ages}").format(ages=format_ages(opportunity, language))
    lines.append(f"<div>{e(ages)} · {e(format_cost(opportunity, language))}</div>")
    link = safe_link(opportunity.url)
    if link is not None:
        register = e(_("Register or read more"))
        lines.append(f'<div><a href="{e(link)}" target="_blank" rel="noopener noreferrer">{register}</a></div>')
    return '<div class="col-popup">' + "".join(lines) + "</div>"


def area_popup_html(area: ApproximateArea, language: str = "en") -> str:
    """The popup of an approximate circle: its label and the first activities, escaped and isolated."""
    e = html.escape
    b = _isolated
    _ = translator(language).gettext
    items = []
    for opp in area.opportunities[:MAX_LISTED]:
        title = b(opp.title)
        link = safe_link(opp.url)
        if link is not None:
            title = f'<a href="{e(link)}" target="_blank" rel="noopener noreferrer">{title}</a>'
        items.append(f"<li>{title}<br>{b(opp.provider)} · {e(format_dates(opp, language))}</li>")
    more = area.count - min(len(area.opportunities), MAX_LISTED)
    tail = f"<div>{e(_('and {count} more').format(count=format_number(more, language)))}</div>" if more > 0 else ""
    return f'<div class="col-popup"><strong>{area.label_html_in(language)}</strong><ul>{"".join(items)}</ul>{tail}</div>'


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


# Each row: latitude, longitude, topic colour class, popup HTML (escaped), title (plain text: set as a DOM property).
_PIN_CALLBACK = """function (row) {
    var icon = L.divIcon({className: "col-pin " + row[2], iconSize: [16, 16], iconAnchor: [8, 8], popupAnchor: [0, -8]});
    var marker = L.marker(new L.LatLng(row[0], row[1]), {icon: icon, title: row[4]});
    marker.bindPopup(row[3], POPUP_OPTIONS);
    return marker;
}""".replace("POPUP_OPTIONS", json.dumps(POPUP_OPTIONS))


def _topic_class(opportunity: Opportunity, highlight: Collection[str] = ()) -> str:
    topic = pin_topic(opportunity, highlight)
    return f"col-topic-{TOPICS.index(topic)}" if topic is not None else ""


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
        rows = [[o.latitude, o.longitude, _topic_class(o, highlight), popup_html(o, language), o.title] for o in exact]
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
