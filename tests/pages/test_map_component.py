"""The Explore map handed to streamlit-folium's component from strings rendered once: the same
arguments, byte for byte, as ``st_folium`` sends when it renders the folium map on every run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import folium
import pytest
import streamlit_folium
from sqlalchemy import Engine
from streamlit_folium import st_folium

from maps.clusters import Bounds
from maps.overview import MapView, base_map, near_circle, overview_layer
from opportunities.db.queries import get_opportunities
from opportunities.explore.index import OpportunityIndex
from opportunities.listings.importing import import_records
from opportunities.model import City, Opportunity
from opportunities.places.geocoding import Geocoder
from tests.conftest import template_row
from ui import map_component
from ui.map_component import render_layer, render_map, shared_layer, show_rendered

EUROPE = MapView(Bounds(40.0, 0.0, 65.0, 30.0), 4)
KRANJ = MapView(Bounds(46.18, 14.25, 46.30, 14.45), 13)
PLACES = [City(id=1, name="Kranj", country="SI", timezone="Europe/Ljubljana", latitude=46.24, longitude=14.36)]


def _base(language: str) -> folium.Map:
    return base_map(tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png", tile_attribution="tiles", asset_base="/app/static",
                    language=language, places=PLACES)  # fmt: skip


def _layer(with_circle: bool) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="opportunities")
    if with_circle:
        near_circle(46.24, 14.36, 10).add_to(group)
    return group


def _captured(monkeypatch: pytest.MonkeyPatch, show: Any) -> dict[str, Any]:
    sent: dict[str, Any] = {}
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kwargs: sent.update(kwargs))
    show()
    sent.pop("on_change")  # a function of each call
    return sent


@pytest.mark.parametrize(("language", "with_circle"), [("en", False), ("sl", True), ("pl", True)])
def test_the_component_gets_what_st_folium_would_send(monkeypatch: pytest.MonkeyPatch, language: str, with_circle: bool) -> None:
    kwargs = {"center": (46.2, 14.3), "zoom": 9, "returned_objects": ["bounds", "zoom"], "height": 560}
    expected = _captured(
        monkeypatch,
        lambda: st_folium(
            _base(language), key="map", feature_group_to_add=_layer(with_circle), use_container_width=True, **kwargs
        ),
    )
    rendered, layer = render_map(_base(language)), render_layer(_layer(with_circle))
    assert _captured(monkeypatch, lambda: show_rendered(rendered, key="map", layer=layer, **kwargs)) == expected
    assert "map_div" in layer and ("L.circle" in layer) is with_circle


@pytest.mark.parametrize("view", [EUROPE, KRANJ])
def test_a_layer_of_clusters_and_pins_renders_as_st_folium_renders_it(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, geocoder: Geocoder, view: MapView
) -> None:
    rows = [template_row(title=f"Club <b>{i}</b>", city="Kranj", country="SI", address="", latitude=f"{46.20 + i * 0.002:.4f}",
                         longitude=f"{14.30 + (i % 7) * 0.01:.4f}") for i in range(30)]  # fmt: skip
    rows += [template_row(title=f"Somewhere {i}", city="Kranj", country="SI", address="") for i in range(3)]  # approximate
    assert import_records(engine, rows, geocoder, publish=True).stored == len(rows)
    with engine.connect() as conn:
        index = OpportunityIndex.load(conn)

    def load(ids: Sequence[int]) -> list[Opportunity]:
        with engine.connect() as conn:
            return get_opportunities(conn, ids)

    def layer() -> folium.FeatureGroup:
        return overview_layer(index, index.ids >= 0, view, load, {}, language="sl").group

    expected = _captured(monkeypatch, lambda: st_folium(_base("sl"), key="map", feature_group_to_add=layer()))
    assert render_layer(layer()) == expected["feature_group"]
    assert "col-pin" in expected["feature_group"] or "col-cluster" in expected["header"]


def test_a_shared_layer_is_rendered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(map_component, "_LAYERS", map_component.SharedCache(4))
    owner = object.__new__(type("Index", (), {}))
    built: list[int] = []

    def build() -> folium.FeatureGroup:
        built.append(1)
        return _layer(True)

    first = shared_layer(("digest", EUROPE, "en"), build, owner=owner)
    assert shared_layer(("digest", EUROPE, "en"), build, owner=owner) == first
    assert len(built) == 1
