"""The small map of the submission form: one draggable pin where the listing will be shown.

A click on the map or a drag of the pin is reported by the map component as ``last_clicked``
(the component reports clicks only, so the end of a drag is passed on as a click on the map):
:func:`opportunities.places.placement.clicked_point` reads it. An approximate place also gets the circle
of how far off it may be, as on the Explore map.
"""

from __future__ import annotations

import folium
from branca.element import MacroElement
from folium.template import Template

from maps.elements import metric_map, use_local_assets
from opportunities.i18n import translator
from opportunities.places.gazetteer import Location
from opportunities.vocabulary import is_approximate

PIN_MAP_HEIGHT = 320
# Street level for a pin known to a building; wider views for areas.
PIN_ZOOM = 16
AREA_ZOOM = 13
COUNTRY_ZOOM = 5
UNCERTAINTY_COLOUR = "#c53948"


class DragReportsClick(MacroElement):
    """Passes the end of a drag of ``marker`` on to the map as a click at the pin's new place."""

    _template = Template(
        """{% macro script(this, kwargs) %}
    {{ this.marker.get_name() }}.on("dragend", function (event) {
        {{ this.map.get_name() }}.fire("click", {latlng: event.target.getLatLng()});
    });
{% endmacro %}"""
    )

    def __init__(self, marker: folium.Marker, map_: folium.Map) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "DragReportsClick"
        self.marker = marker
        self.map = map_


def pin_map(
    location: Location | None,
    *,
    centre: tuple[float, float],
    tile_url: str,
    tile_attribution: str,
    asset_base: str,
    language: str = "en",
) -> folium.Map:
    """A map centred on ``location`` (else ``centre``, e.g. the city) with a draggable pin on it."""
    _ = translator(language).gettext
    point = (location.latitude, location.longitude) if location is not None else centre
    if location is None:
        zoom = COUNTRY_ZOOM if centre == (0.0, 0.0) else AREA_ZOOM
    else:
        zoom = AREA_ZOOM if is_approximate(location.precision, location.uncertainty_m) else PIN_ZOOM
    m = metric_map(
        location=point,
        zoom_start=zoom,
        tiles=folium.TileLayer(tiles=tile_url, attr=tile_attribution, max_zoom=19),
    )
    use_local_assets(m, asset_base)
    if location is None:
        return m
    if is_approximate(location.precision, location.uncertainty_m) and location.uncertainty_m:
        folium.Circle(
            point, radius=location.uncertainty_m, color=UNCERTAINTY_COLOUR, weight=2, fill=True, fill_opacity=0.08,
            interactive=False,
        ).add_to(m)  # fmt: skip
    marker = folium.Marker(point, draggable=True, tooltip=_("Drag the pin onto the venue"))
    marker.add_to(m)
    DragReportsClick(marker, m).add_to(m)
    return m
