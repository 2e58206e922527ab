"""The folium map component of streamlit-folium, with its rendering done once and shared.

``st_folium`` renders the whole folium map to JavaScript and HTML on every run (Jinja templates
compiled, branca elements named, the tile provider looked up): at 10,000 opportunities that was
most of the server's time for a filter change. The map's parts rarely change, so here they are
rendered into strings once (:func:`render_map`, :func:`render_layer`), those strings cached
for every visitor, and each run only hands them to the component (:func:`show_rendered`),
with the same arguments ``st_folium`` would send: the browser gets the same messages, byte
for byte, and an unchanged layer is again only a reference to the message it already holds.

Folium objects are never shared between threads: rendering changes them (ids, parents), so each
is built and rendered by one thread and only the strings are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import streamlit as st
import streamlit_folium
from streamlit_folium import _get_feature_group_string, _get_header, _get_html, _get_map_string, generate_js_hash

from opportunities.shared_cache import SharedCache

# Map layers kept for every visitor (a filter set drawn for a view, in a language: 10-250 KB each).
LAYERS_CACHED = 128
# Base maps kept (one per language and index version: about 40 KB each).
MAPS_CACHED = 16


@dataclass(frozen=True)
class RenderedMap:
    """A folium map as the component receives it (``st_folium``'s arguments, rendered)."""

    script: str
    header: str
    html: str
    id: str
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]
    bounds: tuple[tuple[float | None, float | None], tuple[float | None, float | None]]
    zoom: Any


def render_map(fig: folium.Map) -> RenderedMap:
    """``fig`` rendered as ``st_folium`` renders it (the same steps, in the same order)."""
    fig.get_root().render()
    fig.render()  # type: ignore[no-untyped-call]
    html = _get_html(fig)
    header = _get_header(fig)
    script = _get_map_string(fig)
    css: list[str] = []
    js: list[str] = []
    for element in _walk(fig):
        css.extend(href for _, href in getattr(element, "default_css", []))
        js.extend(src for _, src in getattr(element, "default_js", []))
    try:
        bounds = fig.get_bounds()
    except AttributeError:
        bounds = [[None, None], [None, None]]
    (south, west), (north, east) = bounds
    return RenderedMap(
        script=script,
        header=header,
        html=html,
        id=f"{fig._name.lower()}_{fig._id}",
        css_links=tuple(dict.fromkeys(css)),
        js_links=tuple(dict.fromkeys(js)),
        bounds=((south, west), (north, east)),
        zoom=fig.options.get("zoom") if hasattr(fig, "options") else {},
    )


def _walk(element: Any) -> Any:
    """``element`` and its descendants that bring CSS or JavaScript files (as ``st_folium`` walks them)."""
    if isinstance(element, folium.elements.JSCSSMixin):
        yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def render_layer(group: folium.FeatureGroup) -> str:
    """The JavaScript that adds ``group`` to the component's map (``st_folium``'s ``feature_group``)."""
    # A bare map to render against: the group's references to its map become "map_div" whatever map it is.
    return str(_get_feature_group_string(group, map=folium.Map(tiles=None), idx=0))


def show_rendered(
    rendered: RenderedMap,
    *,
    key: str,
    layer: str | None,
    center: tuple[float, float],
    zoom: int,
    returned_objects: Sequence[str],
    height: int,
    on_change: Callable[[], None] | None = None,
) -> Any:
    """The map component for ``rendered`` with the ``layer`` (from :func:`render_layer`), as
    ``st_folium(fig, key=key, feature_group_to_add=group, use_container_width=True, …)`` shows it:
    what the map reports is in ``st.session_state[key]``."""
    hash_key = generate_js_hash(rendered.script, key, False)

    def changed() -> None:
        st.session_state[key] = st.session_state.get(hash_key, {})
        if on_change is not None:
            on_change()

    (south, west), (north, east) = rendered.bounds
    defaults = {
        "bounds": {"_southWest": {"lat": south, "lng": west}, "_northEast": {"lat": north, "lng": east}},
        "zoom": rendered.zoom,
    }
    return streamlit_folium._component_func(
        script=rendered.script,
        header=rendered.header,
        html=rendered.html,
        id=rendered.id,
        key=hash_key,
        height=height,
        width=None,
        returned_objects=list(returned_objects),
        default={k: v for k, v in defaults.items() if k in returned_objects},
        zoom=zoom,
        center=center,
        feature_group=layer,
        return_on_hover=False,
        layer_control=None,
        pixelated=False,
        css_links=list(rendered.css_links),
        js_links=list(rendered.js_links),
        on_change=changed,
        wrap_longitude=False,
    )


_LAYERS: SharedCache[str] = SharedCache(LAYERS_CACHED)
_MAPS: SharedCache[RenderedMap] = SharedCache(MAPS_CACHED)


def shared_layer(key: Hashable, build: Callable[[], folium.FeatureGroup], *, owner: object) -> str:
    """The rendered layer for ``key`` (built by ``build`` and rendered once, for every visitor)."""
    return _LAYERS.get(key, lambda: render_layer(build()), owner=owner)


def shared_map(key: Hashable, build: Callable[[], folium.Map], *, owner: object) -> RenderedMap:
    """The rendered map for ``key`` (built by ``build`` and rendered once, for every visitor)."""
    return _MAPS.get(key, lambda: render_map(build()), owner=owner)
