"""The Explore map at 10k, 100k and 1M published opportunities, against the naive folium map.

Ours: the columnar index, the filter as vector operations, grid clusters for the visible area and
one layer swapped into a fixed base map (what ``pages/explore.py`` does). Naive: one folium
``Marker`` with a ``Popup`` per opportunity in a ``MarkerCluster``, the whole map sent again.
Payload: the bytes streamlit-folium sends to the browser for the map.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import folium
from folium.plugins import MarkerCluster
from sqlalchemy import Engine
from streamlit_folium import _get_feature_group_string, _get_header, _get_html, _get_map_string

from maps.clusters import Bounds
from maps.overview import MapView, base_map, fitted_view, overview_layer, places_by_size
from maps.popups import popup_html
from opportunities.db.connection import open_database
from opportunities.db.queries import get_opportunities, list_cities
from opportunities.demo.generator import iter_synthetic_records
from opportunities.explore.index import OpportunityIndex
from opportunities.explore.search import SearchQuery
from opportunities.listings.importing import import_records
from opportunities.model import Opportunity
from opportunities.places.geocoding import Geocoder
from opportunities.vocabulary import Mode

TODAY = date(2026, 11, 23)
TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"
# A filter change that keeps every located point (the naive baseline's case) and a narrow one.
EVERYTHING = SearchQuery(modes=(Mode.IN_PERSON, Mode.HYBRID), limit=10_000)
NARROW = SearchQuery(topics=("digital-skills", "science-technology"), age=15, date_from=TODAY, limit=10_000)
CHUNK = 50_000


def fill(engine: Engine, size: int, geocoder: Geocoder) -> None:
    """Import ``size`` published synthetic opportunities into ``engine``, ``CHUNK`` at a time (the
    same records for every benchmark: seed 3, as of ``TODAY``)."""
    batch: list[dict[str, str]] = []
    for record in iter_synthetic_records(size, seed=3, today=TODAY):
        batch.append(record)
        if len(batch) == CHUNK:
            import_records(engine, batch, geocoder, publish=True)
            batch = []
    if batch:
        import_records(engine, batch, geocoder, publish=True)


def bench_database(directory: Path, size: int, geocoder: Geocoder) -> Engine:
    """A database of ``size`` published synthetic opportunities, built once and kept."""
    path = directory / f"map-{size}.db"
    ready = directory / f"map-{size}.ready"
    engine = open_database(f"sqlite:///{path}")
    if ready.exists():
        return engine
    engine.dispose()
    path.unlink(missing_ok=True)
    engine = open_database(f"sqlite:///{path}")
    fill(engine, size, geocoder)
    ready.touch()
    return engine


def _payload(base: folium.Map, group: folium.FeatureGroup | None) -> int:
    parts = [_get_map_string(base), _get_header(base), _get_html(base)]
    if group is not None:
        parts.append(_get_feature_group_string(group, base))
    return sum(len(p.encode()) for p in parts)


def ours(engine: Engine, cache_dir: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    with engine.connect() as conn:
        OpportunityIndex.cached(conn, cache_dir)  # built from the database once per data version
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with engine.connect() as conn:
        index = OpportunityIndex.cached(conn, cache_dir)  # what every later first load finds
        cities = list_cities(conn)
        city_names = {c.id: c.name for c in cities if c.id is not None}
    places = places_by_size(index, cities)  # the city labels the page sends with its base map
    load_s = time.perf_counter() - t0

    def load(ids: Sequence[int]) -> list[Opportunity]:
        with engine.connect() as conn:
            return get_opportunities(conn, ids)

    def render(query: SearchQuery, view: MapView | None) -> tuple[float, int, int]:
        t = time.perf_counter()
        with engine.connect() as conn:
            keep = index.mask(query, conn)
        index.ordered(keep, query, limit=20)  # the first list page
        chosen = view or fitted_view(index, keep)
        layer = overview_layer(index, keep, chosen, load, city_names)
        base = base_map(tile_url=TILES, tile_attribution="tiles", asset_base="/app/static", places=places)
        size = _payload(base, layer.group)
        return time.perf_counter() - t, size, int(keep.sum())

    first_s, first_bytes, _ = render(SearchQuery(limit=10_000), None)
    broad_s, broad_bytes, broad_matches = render(EVERYTHING, None)
    narrow_s, narrow_bytes, narrow_matches = render(NARROW, None)
    city = MapView(Bounds(57.62, 11.80, 57.80, 12.14), 12)  # panned to Göteborg
    pan_s, pan_bytes, _ = render(EVERYTHING, city)
    return {
        "index_build_s": build_s,
        "index_load_s": load_s,
        "first_load_s": load_s + first_s,
        "first_payload_bytes": first_bytes,
        "filter_change_s": broad_s,
        "filter_payload_bytes": broad_bytes,
        "filter_matches": broad_matches,
        "narrow_filter_s": narrow_s,
        "narrow_payload_bytes": narrow_bytes,
        "narrow_matches": narrow_matches,
        "pan_s": pan_s,
        "pan_payload_bytes": pan_bytes,
    }


def naive(engine: Engine) -> dict[str, float]:
    """One Marker with a Popup per matching point in a MarkerCluster, rendered whole."""
    with engine.connect() as conn:
        index = OpportunityIndex.load(conn)
        keep = index.mask(EVERYTHING, conn)
        rows = index.ids[index.ordered(keep, EVERYTHING)].tolist()
    # Timed from here: what a naive page does after its query, for every matching point.
    t0 = time.perf_counter()
    with engine.connect() as conn:
        found = [o for o in get_opportunities(conn, rows) if o.has_location]
    m = folium.Map(location=(52, 15), zoom_start=4, tiles=folium.TileLayer(tiles=TILES, attr="tiles"))
    cluster = MarkerCluster().add_to(m)
    for opp in found:
        folium.Marker([opp.latitude, opp.longitude], popup=folium.Popup(popup_html(opp), max_width=320)).add_to(cluster)
    size = _payload(m, None)
    return {"filter_change_s": time.perf_counter() - t0, "filter_payload_bytes": size, "markers": len(found)}


def run(directory: Path, geocoder: Geocoder, sizes: Sequence[int], naive_max: int) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for size in sizes:
        t0 = time.perf_counter()
        engine = bench_database(directory, size, geocoder)
        built = time.perf_counter() - t0
        row: dict[str, Any] = {"database_ready_s": built, "ours": ours(engine, directory / "cache")}
        if size <= naive_max:
            row["naive"] = naive(engine)
            row["speedup"] = row["naive"]["filter_change_s"] / row["ours"]["filter_change_s"]
            row["payload_ratio"] = row["naive"]["filter_payload_bytes"] / row["ours"]["filter_payload_bytes"]
        engine.dispose()
        results[str(size)] = row
        print(f"map {size}", row, flush=True)
    return results
