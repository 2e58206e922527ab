"""The Explore map's layer, asserted on the HTML and script it produces (no browser)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy import Engine

from maps.clusters import Bounds, metres_per_pixel, pixels
from maps.overview import MAX_PINS, MapView, base_map, fitted_view, near_circle, near_view, overview_layer, places_by_size
from maps.topic_colours import TOPIC_COLOURS
from opportunities.db.queries import get_opportunities, list_cities
from opportunities.explore.index import OpportunityIndex
from opportunities.explore.search import SearchQuery
from opportunities.listings.importing import import_records
from opportunities.model import Opportunity
from opportunities.places.geocoding import Geocoder
from opportunities.vocabulary import TOPICS
from tests.conftest import template_row

HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"
KRANJ = MapView(Bounds(46.18, 14.25, 46.30, 14.45), 13)
EUROPE = MapView(Bounds(40.0, 0.0, 65.0, 30.0), 4)


@pytest.fixture
def kranj(engine: Engine, geocoder: Geocoder) -> Engine:
    rows = [
        template_row(
            title=f"Club {i}",
            city="Kranj",
            country="SI",
            address="",
            latitude=f"{46.20 + i * 0.002:.4f}",
            longitude=f"{14.30 + (i % 7) * 0.01:.4f}",
        )
        for i in range(40)
    ]
    rows.append(template_row(title=HOSTILE, provider=HOSTILE, city="Kranj", country="SI", address="", latitude="46.2390",
                             longitude="14.3560", description=HOSTILE))  # fmt: skip
    rows += [template_row(title=f"Somewhere {i}", city="Kranj", country="SI", address="") for i in range(5)]  # city centre
    rows.append(template_row(title="Online only", city="Kranj", country="SI", address="", mode="online"))
    assert import_records(engine, rows, geocoder, publish=True).stored == len(rows)
    return engine


def layer_for(
    engine: Engine, view: MapView, query: SearchQuery | None = None, *, language: str = "en", highlight: tuple[str, ...] = ()
) -> tuple[str, object]:
    with engine.connect() as conn:
        index = OpportunityIndex.load(conn)
        keep = index.mask(query or SearchQuery(), conn)
        names = {c.id: c.name for c in list_cities(conn) if c.id is not None}

    def load(ids: Sequence[int]) -> list[Opportunity]:
        with engine.connect() as conn:
            return get_opportunities(conn, ids)

    layer = overview_layer(index, keep, view, load, names, language=language, highlight=highlight)
    m = base_map(tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png", tile_attribution="t", asset_base="/app/static", language=language)
    layer.group.add_to(m)
    return m.get_root().render(), layer


def test_close_view_has_pins_with_escaped_popups(kranj: Engine) -> None:
    html, layer = layer_for(kranj, MapView(Bounds(46.18, 14.25, 46.30, 14.45), 17))
    assert layer.pins == 41  # type: ignore[attr-defined]
    assert layer.areas == 1  # type: ignore[attr-defined]
    assert "<img src=x" not in html and "<script>alert(2)" not in html
    # Escaped for HTML, then embedded as JSON (where tojson writes & as \u0026).
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in html
    assert "javascript:alert(3)" not in html
    assert "5 activities in Kranj (approximate location)" in html


def test_far_view_clusters(kranj: Engine) -> None:
    html, layer = layer_for(kranj, EUROPE)
    assert (layer.pins, layer.areas) == (0, 0) and layer.clusters >= 1  # type: ignore[attr-defined]
    counts = [int(n) for n in re.findall(r"\[[-\d.]+, [-\d.]+, (\d+), ", html)]
    assert sum(counts) == 46  # every located one, exact or at the city centre, once


def test_only_the_visible_area_is_sent(kranj: Engine) -> None:
    _, layer = layer_for(kranj, MapView(Bounds(10.0, 10.0, 11.0, 11.0), 13))
    assert (layer.pins, layer.clusters, layer.areas) == (0, 0, 0)  # type: ignore[attr-defined]


def test_filters_apply(kranj: Engine) -> None:
    _, layer = layer_for(kranj, MapView(Bounds(46.18, 14.25, 46.30, 14.45), 17), SearchQuery(text="Club 1"))
    assert layer.pins == 11  # Club 1, Club 10..19  # type: ignore[attr-defined]


def test_pins_are_capped(engine: Engine, geocoder: Geocoder) -> None:
    rows = [
        template_row(
            title=f"Dense {i}",
            city="Kranj",
            country="SI",
            address="",
            latitude=f"{46.2 + (i % 30) * 0.0003:.5f}",
            longitude=f"{14.3 + (i // 30) * 0.0003:.5f}",
        )
        for i in range(MAX_PINS * 2)
    ]
    import_records(engine, rows, geocoder, publish=True)
    _, layer = layer_for(engine, MapView(Bounds(46.19, 14.29, 46.22, 14.33), 18))
    assert layer.pins <= MAX_PINS  # type: ignore[attr-defined]


def test_base_map_uses_local_assets_only() -> None:
    html = (
        base_map(tile_url="https://tiles.example.org/{z}/{x}/{y}.png", tile_attribution="t", asset_base="/app/static")
        .get_root()
        .render()
    )
    urls = set(re.findall(r'(?:src|href)="([^"]+)"', html))
    assert urls and all(u.startswith("/app/static/vendor/") for u in urls), urls
    for cdn in ("cdn", "unpkg", "jsdelivr", "cloudflare", "code.jquery"):
        assert cdn not in html


def test_fitted_view_covers_the_results(kranj: Engine) -> None:
    with kranj.connect() as conn:
        index = OpportunityIndex.load(conn)
    view = fitted_view(index, np.ones(len(index), dtype=bool))
    assert view.bounds.south <= 46.2 and view.bounds.north >= 46.278
    assert 10 <= view.zoom <= 15
    empty = fitted_view(index, np.zeros(len(index), dtype=bool))
    assert empty.zoom <= 5


def test_area_counts_every_member_while_listing_a_few(engine: Engine, geocoder: Geocoder) -> None:
    rows = [template_row(title=f"Centre {i}", city="Kranj", country="SI", address="") for i in range(30)]
    import_records(engine, rows, geocoder, publish=True)
    html, layer = layer_for(engine, KRANJ)
    assert layer.areas == 1  # type: ignore[attr-defined]
    assert "30 activities in Kranj (approximate location)" in html
    assert "and 10 more" in html


def test_approximate_areas_are_as_wide_as_their_uncertainty(engine: Engine, geocoder: Geocoder) -> None:
    rows = [
        template_row(title="Two decimals", city="Kranj", country="SI", address="", latitude="46.24", longitude="14.36"),
        template_row(title="Four decimals", city="Kranj", country="SI", address="", latitude="46.2400", longitude="14.3600"),
        template_row(title="Centre", city="Kranj", country="SI", address=""),
    ]
    assert import_records(engine, rows, geocoder, publish=True).stored == 3
    html, layer = layer_for(engine, MapView(Bounds(46.18, 14.25, 46.30, 14.45), 17))
    # Coordinates given to two decimals are a circle, not a pin; the centre is as wide as Kranj.
    assert (layer.pins, layer.areas) == (1, 2)  # type: ignore[attr-defined]
    assert {int(r) for r in re.findall(r'"radius": (\d+)', html)} == {787, geocoder.city("Kranj", "SI").uncertainty_m}


@pytest.mark.parametrize(
    ("language", "label"),
    [
        ("sv", "5 aktiviteter i Kranj (ungefärlig plats)"),
        ("sl", "5 dejavnosti v kraju Kranj (približna lokacija)"),
        ("pl", "Kranj: 5 ofert zajęć (przybliżona lokalizacja)"),
    ],
)
def test_area_labels_follow_the_language(kranj: Engine, language: str, label: str) -> None:
    html, _ = layer_for(kranj, KRANJ, language=language)
    assert json.dumps(label)[1:-1] in html
    assert "activities in Kranj" not in html


def test_pins_and_clusters_wear_the_filtered_topic(engine: Engine, geocoder: Geocoder) -> None:
    """Arts-first opportunities found by a "digital skills" filter are blue, not red, as pins and as clusters."""
    rows = [
        template_row(title=f"Mixed {i}", city="Kranj", country="SI", address="", topics="arts-culture;digital-skills",
                     latitude=f"{46.20 + i * 0.002:.4f}", longitude="14.3000")
        for i in range(12)
    ]  # fmt: skip
    import_records(engine, rows, geocoder, publish=True)
    query = SearchQuery(topics=("digital-skills",))
    digital, arts = TOPICS.index("digital-skills"), TOPICS.index("arts-culture")
    pins_html, layer = layer_for(engine, MapView(Bounds(46.18, 14.25, 46.30, 14.45), 17), query, highlight=query.topics)
    assert layer.pins == 12  # type: ignore[attr-defined]
    assert pins_html.count(f'"col-pin col-topic-{digital}"') == 0  # the class travels as data, added in JS
    assert re.findall(r'"(col-topic-\d+)", "\\u003cdiv class=\\"col-popup\\"', pins_html) == [f"col-topic-{digital}"] * 12
    far_html, layer = layer_for(engine, EUROPE, query, highlight=query.topics)
    assert layer.clusters >= 1  # type: ignore[attr-defined]
    assert set(re.findall(r'\[[-\d.]+, [-\d.]+, \d+, "(#[0-9a-f]{6})"', far_html)) == {TOPIC_COLOURS["digital-skills"]}
    unfiltered, _ = layer_for(engine, MapView(Bounds(46.18, 14.25, 46.30, 14.45), 17))
    assert re.findall(r'"(col-topic-\d+)", "\\u003cdiv class=\\"col-popup\\"', unfiltered) == [f"col-topic-{arts}"] * 12


@pytest.mark.parametrize(("language", "name"), [("en", "46 opportunities, zoom in"), ("pl", "46 ofert zajęć, powiększ")])
def test_clusters_are_named_buttons_that_zoom_on_enter_and_space(kranj: Engine, language: str, name: str) -> None:
    html, _ = layer_for(kranj, MapView(Bounds(40.0, 0.0, 65.0, 30.0), 2), language=language)
    rows = [json.loads(r) for r in re.findall(r'(\[[-\d.]+, [-\d.]+, \d+, "#[0-9a-f]{6}", .*?\])', html)]
    assert [(r[2], r[5]) for r in rows] == [(46, name)]
    assert rows[0][6] in ("#000000", "#ffffff")
    assert 'element.setAttribute("aria-label", c[5]);' in html
    assert 'e.key === "Enter" || e.key === " "' in html


def test_city_labels_put_the_busiest_city_first(engine: Engine, geocoder: Geocoder) -> None:
    """Where names crowd the map keeps the first label: the city with the most opportunities."""
    rows = [template_row(title=f"Klubb {i}", city="Göteborg", country="SE") for i in range(3)]
    rows.append(template_row(title="Klub", city="Kranj", country="SI", address=""))
    import_records(engine, rows, geocoder, publish=True)
    with engine.connect() as conn:
        index = OpportunityIndex.load(conn)
        cities = list_cities(conn)
    assert [c.name for c in cities] == ["Göteborg", "Kranj"] or [c.name for c in cities] == ["Kranj", "Göteborg"]
    assert [c.name for c in places_by_size(index, cities)] == ["Göteborg", "Kranj"]
    rows = [template_row(title=f"Klub {i}", city="Kranj", country="SI", address="") for i in range(5)]
    import_records(engine, rows, geocoder, publish=True)
    with engine.connect() as conn:
        index = OpportunityIndex.load(conn)
    assert [c.name for c in places_by_size(index, cities)] == ["Kranj", "Göteborg"]


def drawn(html: str) -> tuple[list[list[Any]], list[list[Any]], list[dict[str, Any]]]:
    """The clusters, pins and approximate areas a layer draws (the JSON data its scripts read)."""

    def data(pattern: str) -> list[Any]:
        found = re.search(pattern, html)
        return json.loads(found.group(1)) if found else []

    return (
        data(r"(\[\[[-\d.]+, [-\d.]+, \d+, \"#.*?\]\])\.forEach"),
        data(r"(\[\[[-\d.]+, [-\d.]+, \"col-.*?\]\])\.forEach"),
        data(r"var areas = (\[.*?\]);\n"),
    )


def screen(lat: float, lon: float, zoom: int) -> npt.NDArray[np.float64]:
    return np.asarray(pixels(np.array([lat]), np.array([lon]), zoom)[0], dtype=np.float64)


# Ljubljana as postcodes place it: several approximate centres a few kilometres apart (1000, 1210,
# 1231, 1260 …), each with a few opportunities, among exactly located ones.
LJUBLJANA_CENTRES = [
    (46.0569, 14.5058, 3),
    (46.0822, 14.4717, 2),
    (46.0963, 14.5413, 2),
    (46.0311, 14.5478, 1),
    (46.0667, 14.5833, 2),
]


@pytest.fixture
def ljubljana(engine: Engine, geocoder: Geocoder) -> tuple[Engine, int]:
    rows = [
        template_row(
            title=f"Center {i}", city="Ljubljana", country="SI", address="", latitude=f"{lat:.2f}", longitude=f"{lon:.2f}"
        )
        for lat, lon, n in LJUBLJANA_CENTRES
        for i in range(n)
    ]  # two decimals: approximate, 787 m
    rows += [
        template_row(title=f"Klub {i}", city="Ljubljana", country="SI", address="", latitude=f"{46.03 + (i % 9) * 0.008:.4f}",
                     longitude=f"{14.45 + (i // 9) * 0.03:.4f}")
        for i in range(41)
    ]  # fmt: skip
    # Exact ones on the northern rim of the 1000 Ljubljana circle (787 m = 0.0071° north), where its count would go.
    rows += [template_row(title=f"Rim {i}", city="Ljubljana", country="SI", address="", latitude="46.0671", longitude=f"{14.5100 + i * 0.0003:.4f}")
             for i in range(3)]  # fmt: skip
    assert import_records(engine, rows, geocoder, publish=True).stored == len(rows)
    return engine, len(rows)


SLOVENIA = Bounds(45.4, 13.3, 46.9, 16.6)


@pytest.mark.parametrize("zoom", [6, 7, 8, 10])
def test_at_overview_zoom_approximate_areas_are_counted_in_the_clusters(ljubljana: tuple[Engine, int], zoom: int) -> None:
    """At a country or region zoom a city's postcode areas are a few pixels wide: their
    opportunities are in the cluster's count, not separate badges stacked over it."""
    engine, total = ljubljana
    html, layer = layer_for(engine, MapView(SLOVENIA, zoom))
    clusters, pins, areas = drawn(html)
    assert areas == [] and layer.areas == 0  # type: ignore[attr-defined]
    assert sum(c[2] for c in clusters) + len(pins) == total
    assert {p[4] for p in pins}.isdisjoint({f"Center {i}" for i in range(3)})  # approximate ones never become pins
    bubbles = [screen(c[0], c[1], zoom) for c in clusters]
    for i, a in enumerate(bubbles):  # no bubble covers another's count (bubbles are 30-52 px wide)
        assert all(np.hypot(*(a - b)) >= 30 for b in bubbles[i + 1 :])


@pytest.mark.parametrize("zoom", [12, 13, 14, 15, 17])
def test_areas_large_on_screen_are_circles_whose_counts_cover_nothing(ljubljana: tuple[Engine, int], zoom: int) -> None:
    """Zoomed in, an area is a circle as wide as its uncertainty; its count sits clear of every
    cluster, pin and other count, and everything is counted exactly once."""
    engine, total = ljubljana
    view = MapView(Bounds(45.95, 14.35, 46.15, 14.70), zoom)
    html, _ = layer_for(engine, view)
    clusters, pins, areas = drawn(html)
    assert sum(c[2] for c in clusters) + len(pins) + sum(a["count"] for a in areas) == total
    assert all(a["radius"] == 787 for a in areas)
    if zoom >= 14:  # 787 m is over 60 px from zoom 14 on
        assert len(areas) == len(LJUBLJANA_CENTRES)
    badges = [screen(a["badge"][0], a["badge"][1], zoom) for a in areas]
    for i, badge in enumerate(badges):
        for c in clusters:
            assert np.hypot(*(badge - screen(c[0], c[1], zoom))) >= 30, (badge, c)
        for p in pins:
            assert np.hypot(*(badge - screen(p[0], p[1], zoom))) >= 20, (badge, p)
        for other in badges[i + 1 :]:
            assert np.hypot(*(badge - other)) >= 24
    for a, badge in zip(areas, badges, strict=True):  # on the circle's rim
        rim_px = a["radius"] / float(metres_per_pixel(np.array([a["lat"]]), zoom)[0])
        assert abs(np.hypot(*(badge - screen(a["lat"], a["lon"], zoom))) - rim_px) < 1


@pytest.mark.parametrize(
    ("latitude", "longitude", "radius_km"), [(46.2389, 14.3556, 10), (57.7089, 11.9746, 2), (52.5, 19.7, 50)]
)
def test_a_search_near_a_point_is_fitted_to_its_whole_circle(latitude: float, longitude: float, radius_km: int) -> None:
    view = near_view(latitude, longitude, radius_km)
    b = view.bounds
    km_lat = 111.32
    km_lon = km_lat * np.cos(np.radians(latitude))
    # The whole circle is in the view, and not much more: its width is about the diameter.
    assert b.south <= latitude - radius_km / km_lat + 1e-9 and b.north >= latitude + radius_km / km_lat - 1e-9
    assert b.west <= longitude - radius_km / km_lon + 1e-9 and b.east >= longitude + radius_km / km_lon - 1e-9
    assert (b.north - b.south) * km_lat < 2.2 * radius_km
    wider = near_view(latitude, longitude, radius_km * 4)
    assert wider.zoom < view.zoom


def test_the_circle_searched_in_is_drawn_as_an_outline() -> None:
    m = base_map(tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png", tile_attribution="test", asset_base="/app/static/vendor")
    near_circle(46.2389, 14.3556, 10).add_to(m)
    html = m.get_root().render()
    assert re.search(r"L\.circle\(\s*\[46\.2389, 14\.3556\]", html)
    assert '"radius": 10000' in html and '"dashArray": "6 6"' in html and '"fill": false' in html


def test_pins_credit_harvested_opportunities_in_their_popups(kranj: Engine) -> None:
    with kranj.connect() as conn:
        index = OpportunityIndex.load(conn)
        keep = index.mask(SearchQuery(text="Club 1"), conn)
        names = {c.id: c.name for c in list_cities(conn) if c.id is not None}

    def load(ids: Sequence[int]) -> list[Opportunity]:
        with kranj.connect() as conn:
            return get_opportunities(conn, ids)

    asked: list[list[int]] = []

    def credits(ids: list[int]) -> dict[int, str]:
        asked.append(ids)
        return {min(ids): "From <i>Šport</i>, https://creativecommons.org/licenses/by/4.0/"}

    layer = overview_layer(index, keep, MapView(Bounds(46.18, 14.25, 46.30, 14.45), 17), load, names, credits=credits)
    m = base_map(tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png", tile_attribution="t", asset_base="/app/static")
    layer.group.add_to(m)
    html = m.get_root().render()
    assert len(asked) == 1 and len(asked[0]) == 11  # one look-up for every pin
    assert html.count("col-popup-source") == 1
    assert "\\u0026lt;i\\u0026gt;Šport" in html or "\\u0026lt;i\\u0026gt;\\u0160port" in html
