"""The coverage choropleth: counts per district or H3 cell, classed with mapclassify, deserts hatched.

Imports no Streamlit. Area names come from boundary files (a city lead's upload): tooltips escape them.
"""

from __future__ import annotations

import html
import warnings
from io import BytesIO
from typing import TYPE_CHECKING, Any

import folium
import mapclassify
import numpy as np
from branca.element import MacroElement
from folium.template import Template

from maps.elements import metric_map, use_local_assets
from maps.offline_page import INLINE_BASE, inline_assets
from opportunities.vocabulary import TOPICS

if TYPE_CHECKING:
    import geopandas as gpd

# Light to dark: few opportunities pale, many dark (ColorBrewer YlGnBu, 5 classes).
COLOURS = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
DESERT_COLOUR = "#d7301f"
NONE_COLOUR = "#f7f7f7"  # areas with none: light grey, a legend row of their own


def class_colour(klass: int, classes: int) -> str:
    """The colour of class ``klass`` (0-based) of ``classes``, spread over the whole ramp."""
    return COLOURS[min(klass, len(COLOURS) - 1) * (len(COLOURS) - 1) // max(1, classes - 1)]


def area_colour(amount: float, breaks: list[float]) -> str:
    """The fill of an area with ``amount``: grey for none, else the colour of its class in ``breaks``
    (upper bounds of the positive values' classes). The legend uses the same two functions."""
    if amount <= 0 or not breaks:
        return NONE_COLOUR
    return class_colour(int(np.searchsorted(breaks, amount, side="left")), len(breaks))


def class_breaks(values: np.ndarray, k: int = 5) -> list[float]:
    """Upper bounds of up to ``k`` classes (Fisher-Jenks when the values differ enough, else quantiles)."""
    distinct = np.unique(values)
    if len(distinct) <= k:
        return [float(v) for v in distinct]
    with warnings.catch_warnings():  # "Numba not installed": the pure-Python path is fast enough for a city
        warnings.simplefilter("ignore", UserWarning)
        return [float(b) for b in mapclassify.FisherJenks(values, k=k).bins]


def coverage_map(layer: gpd.GeoDataFrame, *, value: str, labels: dict[str, str], topic_names: dict[str, str],
                 tile_url: str, tile_attribution: str, show_deserts: bool = True, asset_base: str = "") -> folium.Map:  # fmt: skip
    """A folium map of ``layer`` (EPSG:4326) coloured by its ``value`` column, with a legend and a
    tooltip per area: its name, the count and the counts by topic. ``labels`` holds the texts
    (name, count, desert, legend title) already translated. With ``asset_base``, Leaflet comes from
    the app's vendored copy; without, from folium's CDN (a downloaded map opened anywhere)."""
    minx, miny, maxx, maxy = layer.total_bounds if len(layer) else (-10, 35, 30, 70)
    fmap = metric_map(tiles=None)
    if asset_base:
        use_local_assets(fmap, asset_base)
    folium.TileLayer(tile_url, attr=tile_attribution).add_to(fmap)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    values = layer[value].fillna(0).to_numpy(dtype=float) if len(layer) else np.zeros(0)
    positive = values[values > 0]
    # Classes of the positive values only: zero has its grey legend row, so no class starts at 0.
    breaks = class_breaks(positive) if len(positive) else []
    name_column = "district" if "district" in layer else "cell"
    records = layer.drop(columns="geometry").to_dict("records")
    for row, geometry, amount in zip(records, layer.geometry, values, strict=True):
        colour = area_colour(amount, breaks)
        desert = show_deserts and bool(row.get("desert", False))
        by_topic = sorted(((int(row.get(t, 0) or 0), t) for t in TOPICS), reverse=True)
        lines = [
            f"<b>{html.escape(str(row[name_column]))}</b>",
            f"{html.escape(labels['count'])}: {int(row.get('count', 0) or 0)}",
        ]
        lines += [f"{html.escape(topic_names[t])}: {n}" for n, t in by_topic if n > 0][:5]
        if desert:
            lines.append(html.escape(labels["desert"]))
        folium.GeoJson(
            geometry.__geo_interface__,
            style_function=lambda _f, c=colour, d=desert: {
                "fillColor": c,
                "color": DESERT_COLOUR if d else "#555555",
                "weight": 3 if d else 0.5,
                "fillOpacity": 0.65,
                "dashArray": "4 4" if d else None,
            },
            tooltip=folium.Tooltip("<br>".join(lines)),
        ).add_to(fmap)
    _legend(fmap, breaks, labels, positive)
    return fmap


def legend_rows(breaks: list[float], positive: np.ndarray) -> list[tuple[str, str]]:
    """(colour, label) of each legend row: "0" in grey, then each class of the ``positive`` values,
    named by the lowest and highest value it holds ("1", "2–3", "4–9"): classes never seem to share
    a value, and a class holding one value is named once. The classes are :func:`area_colour`'s."""
    rows = [(NONE_COLOUR, "0")]
    lower_bound = -np.inf
    for i, upper in enumerate(breaks):
        held = positive[(positive > lower_bound) & (positive <= upper)]
        low, high = (float(held.min()), float(held.max())) if len(held) else (upper, upper)
        rows.append((class_colour(i, len(breaks)), f"{high:g}" if low == high else f"{low:g}–{high:g}"))
        lower_bound = upper
    return rows


LEGEND_STYLE = """<style>
  .col-coverage-legend { position: absolute; bottom: 60px; left: 8px; z-index: 9999; background: #fff; color: #222;
    padding: 6px; font: 12px sans-serif; border: 1px solid #999; max-width: 60%; }
  .col-coverage-legend summary { cursor: pointer; }
  @media (max-width: 480px) {
    .col-coverage-legend { top: 8px; right: 8px; bottom: auto; left: auto; font-size: 11px; padding: 4px; max-width: 55%; }
    .col-coverage-legend-rows { display: grid; grid-template-columns: auto auto; column-gap: 8px; }
  }
</style>"""


class _FoldLegendOnPhones(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          var legend = document.querySelector(".col-coverage-legend");
          if (legend && window.matchMedia("(max-width: 480px)").matches) { legend.removeAttribute("open"); }
        })();
        {% endmacro %}
        """
    )


def _legend(fmap: folium.Map, breaks: list[float], labels: dict[str, str], positive: np.ndarray) -> None:
    rows = []
    for colour, text in legend_rows(breaks, positive):
        rows.append(
            f'<div><span style="background:{colour};border:1px solid #999;display:inline-block;width:14px;height:10px">'
            f"</span> {text}</div>"
        )
    rows.append(
        f'<div><span style="border:2px dashed {DESERT_COLOUR};display:inline-block;width:12px;height:8px"></span> '
        f"{html.escape(labels['desert'])}</div>"
    )
    # A <details> the reader can fold; folded from the start on a narrow map (a phone), where it
    # would cover a third of the map, and smaller there, at the top right, clear of the scale bar
    # and the attribution at the bottom.
    box = (
        f'<details class="col-coverage-legend" open><summary><b>{html.escape(labels["legend"])}</b></summary>'
        f'<div class="col-coverage-legend-rows">{"".join(rows)}</div></details>'
    )
    fmap.get_root().header.add_child(folium.Element(LEGEND_STYLE))  # type: ignore[attr-defined]
    fmap.get_root().html.add_child(folium.Element(box))  # type: ignore[attr-defined]
    # In the map's own script: the component that shows the map in the app runs that, not a
    # <script> element of the page.
    _FoldLegendOnPhones().add_to(fmap)  # type: ignore[no-untyped-call]


def standalone_html(layer: gpd.GeoDataFrame, **options: Any) -> str:
    """The coverage map as one HTML file that opens offline: Leaflet embedded (only tiles need the
    network). ``options`` as for :func:`coverage_map`, without ``asset_base``."""
    return inline_assets(coverage_map(layer, asset_base=INLINE_BASE, **options).get_root().render())  # type: ignore[attr-defined]


def map_png(layer: gpd.GeoDataFrame, *, value: str, labels: dict[str, str], title: str = "", dpi: int = 150) -> bytes:
    """The coverage layer as a PNG for slides: the same fills and legend as the web map, deserts
    outlined in red, no tiles (nothing to fetch)."""
    from matplotlib.figure import Figure  # the object API: no pyplot state, safe in Streamlit's threads
    from matplotlib.patches import Patch

    values = layer[value].fillna(0).to_numpy(dtype=float) if len(layer) else np.zeros(0)
    positive = values[values > 0]
    breaks = class_breaks(positive) if len(positive) else []
    figure = Figure(figsize=(8, 6), dpi=dpi)
    axes = figure.add_subplot()
    if len(layer):
        shapes = layer.assign(_fill=[area_colour(v, breaks) for v in values])
        shapes.plot(ax=axes, color=shapes["_fill"], edgecolor="#555555", linewidth=0.4)
        if "desert" in shapes and shapes["desert"].fillna(False).astype(bool).any():
            deserts = shapes[shapes["desert"].fillna(False).astype(bool)]
            deserts.plot(ax=axes, facecolor="none", edgecolor=DESERT_COLOUR, linewidth=1.5, linestyle="--")
    axes.set_axis_off()
    axes.set_aspect("equal")
    handles = [Patch(facecolor=c, edgecolor="#999999", label=t) for c, t in legend_rows(breaks, positive)]
    handles.append(Patch(facecolor="none", edgecolor=DESERT_COLOUR, linestyle="--", label=labels["desert"]))
    axes.legend(handles=handles, title=labels["legend"], loc="lower left", fontsize=8, title_fontsize=9, framealpha=0.9)
    if title:
        axes.set_title(title)
    out = BytesIO()
    figure.savefig(out, format="png", bbox_inches="tight")
    return out.getvalue()
