from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
from sqlalchemy import Engine

from opportunities import storage
from opportunities.errors import FieldError
from opportunities.exporting import export, iter_opportunities
from opportunities.geocoding import Geocoder
from opportunities.importing import import_file
from tests.conftest import DATA, Databases


@pytest.fixture
def imported(tmp_path: Path, engine: Engine, geocoder: Geocoder) -> Engine:
    import_file(Path(shutil.copy(DATA / "messy_import.csv", tmp_path / "m.csv")), engine, geocoder)
    return engine


def _comparable(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return sorted(
            (o.title, o.provider, o.city, o.country, o.topics, o.age_min, o.age_max, o.mode, o.type, o.start, o.end,
             o.schedule, o.cost, o.currency, o.languages, o.url, o.precision, round(o.latitude or 0, 5),
             round(o.longitude or 0, 5), o.description)
            for o in iter_opportunities(conn)
        )


def test_csv_round_trips_through_import(tmp_path: Path, databases: Databases, imported: Engine, geocoder: Geocoder) -> None:
    out = tmp_path / "export.csv"
    with imported.connect() as conn:
        assert export(conn, out, fmt="csv") == 4
    (tmp_path / "fresh").mkdir()
    url = databases.create(tmp_path / "fresh")
    fresh = storage.open_database(url)
    try:
        report = import_file(out, fresh, geocoder)
        assert (report.stored, report.rejected, report.warnings) == (4, [], [])
        assert _comparable(fresh) == _comparable(imported)
    finally:
        fresh.dispose()
        databases.drop(url)


def test_geojson_is_rfc7946(tmp_path: Path, imported: Engine) -> None:
    out = tmp_path / "export.geojson"
    with imported.connect() as conn:
        export(conn, out, fmt="geojson", city="Kranj")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    [feature] = data["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [14.3556, 46.2389]}  # lon, lat
    assert feature["properties"]["title"] == "Delavnica robotike"
    assert feature["properties"]["topics"] == ["digital-skills", "science-technology"]


def test_geojson_online_has_null_geometry(tmp_path: Path, imported: Engine) -> None:
    out = tmp_path / "export.geojson"
    with imported.connect() as conn:
        export(conn, out, fmt="geojson", city="Ljubljana")
    [feature] = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert feature["geometry"] is None


def test_geoparquet(tmp_path: Path, imported: Engine) -> None:
    out = tmp_path / "export.parquet"
    with imported.connect() as conn:
        assert export(conn, out, fmt="parquet") == 4
    frame = gpd.read_parquet(out)
    assert frame.crs.to_epsg() == 4326
    assert len(frame) == 4 and frame.geometry.isna().sum() == 1
    assert set(frame["title"]) >= {"Warsztaty robotyki"}


def test_unknown_format(tmp_path: Path, imported: Engine) -> None:
    with imported.connect() as conn, pytest.raises(FieldError, match="not one of"):
        export(conn, tmp_path / "x.kml", fmt="kml")
