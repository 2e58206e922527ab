"""Coverage counts and deserts on hand-made points and polygons, checked against brute force."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from opportunities.coverage.boundaries import District, read_boundary_file
from opportunities.coverage.districts import CoverageFilter, CoverageIndex, parent_cells, ranked
from opportunities.errors import BoundaryFileError
from opportunities.explore.index import OpportunityIndex
from opportunities.i18n import explain_file_error, translator
from opportunities.model import City
from opportunities.vocabulary import TOPICS, Status

CITY = City(name="Testowo", country="PL", latitude=52.0, longitude=21.0, timezone="Europe/Warsaw", id=1)
DIGITAL = 1 << TOPICS.index("digital-skills")
ARTS = 1 << TOPICS.index("arts-culture")


def _index(points: list[tuple[float, float, int, int]]) -> OpportunityIndex:
    """Published opportunities at (lat, lon, topic bits, uncertainty in m; -1 unknown)."""
    n = len(points)
    lat = np.array([p[0] for p in points], dtype=np.float64)
    return OpportunityIndex(
        ids=np.arange(1, n + 1, dtype=np.int64), latitude=lat, longitude=np.array([p[1] for p in points], dtype=np.float64),
        city_id=np.ones(n, dtype=np.int32), topics=np.array([p[2] for p in points], dtype=np.uint16),
        languages=np.zeros((n, 1), dtype=np.uint64), language_codes=(), age_min=np.full(n, 13, dtype=np.int16),
        age_max=np.full(n, 17, dtype=np.int16), mode=np.zeros(n, dtype=np.int8), type=np.zeros(n, dtype=np.int8),
        precision=np.zeros(n, dtype=np.int8), uncertainty_m=np.array([p[3] for p in points], dtype=np.int32),
        approximate=np.array([p[3] > 300 for p in points], dtype=bool), free=np.ones(n, dtype=bool),
        accessible=np.zeros(n, dtype=bool), start=np.zeros(n, dtype=np.int32), end=np.full(n, 2**31 - 1, dtype=np.int32),
        weekly=np.zeros(n, dtype=np.uint8), interval=np.ones(n, dtype=np.uint8), schedules={},
        city_names={"testowo": 1}, status=Status.PUBLISHED,
    )  # fmt: skip


WEST = shapely.box(20.9, 51.95, 21.0, 52.05)
EAST = shapely.box(21.0, 51.95, 21.1, 52.05)  # shares the 21.0 meridian with WEST
ISLANDS = shapely.MultiPolygon([shapely.box(21.1, 51.95, 21.12, 51.97), shapely.box(21.15, 51.95, 21.17, 51.97)])
EMPTY = shapely.box(20.8, 51.95, 20.9, 52.05)


def _coverage(points: list[tuple[float, float, int, int]]) -> CoverageIndex:
    districts = [
        District(name="West", geometry=WEST, population=10_000, id=1, city_id=1),
        District(name="East", geometry=EAST, population=5_000, population_by_age={"teens": 500}, id=2, city_id=1),
        District(name="Islands", geometry=ISLANDS, population=100, id=3, city_id=1),
        District(name="Empty", geometry=EMPTY, population=2_000, id=4, city_id=1),
    ]
    return CoverageIndex.build([_index(points)], districts, [CITY])


def test_district_counts_shared_edge_once_multipolygon_and_empty() -> None:
    coverage = _coverage(
        [
            (52.0, 20.95, DIGITAL, 10),  # West
            (52.0, 21.0, DIGITAL, 10),  # on the West/East edge: counted once
            (52.0, 21.05, ARTS, 10),  # East
            (51.96, 21.16, DIGITAL | ARTS, 10),  # second island
            (52.0, 21.05, DIGITAL, 5000),  # East, but only known to 5 km: apart
            (math.nan, math.nan, DIGITAL, -1),  # online
        ]
    )
    frame = coverage.district_counts(CoverageFilter(city_ids=(1,))).set_index("district")
    assert frame["count"].sum() == 4
    assert frame.loc["West", "count"] + frame.loc["East", "count"] == 3
    assert frame.loc["Islands", "count"] == 1
    assert frame.loc["Islands", "digital-skills"] == 1 and frame.loc["Islands", "arts-culture"] == 1
    assert frame.loc["Empty", "count"] == 0 and frame.loc["Empty", "per_1000"] == 0
    apart = coverage.apart(CoverageFilter(city_ids=(1,)), 1000).iloc[0]
    assert (apart["approximate"], apart["online"]) == (1, 1)


def test_age_band_population_used_for_the_rate() -> None:
    coverage = _coverage([(52.0, 21.05, DIGITAL, 10)])
    frame = coverage.district_counts(CoverageFilter(city_ids=(1,), age_group="teens")).set_index("district")
    assert frame.loc["East", "per_1000"] == pytest.approx(2.0)  # 1 per 500 teens
    frame = coverage.district_counts(CoverageFilter(city_ids=(1,))).set_index("district")
    assert frame.loc["East", "per_1000"] == pytest.approx(0.2)


def test_cell_counts_by_topic_filter_and_parents() -> None:
    coverage = _coverage([(52.0, 20.95, DIGITAL, 10), (52.0001, 20.9501, ARTS, 10), (52.03, 21.08, DIGITAL, 10)])
    cells = coverage.cell_counts(CoverageFilter(city_ids=(1,), topics=("digital-skills",)), 8)
    assert cells["count"].sum() == 2 and len(cells) == 2
    everything = coverage.cell_counts(CoverageFilter(city_ids=(1,)), 7)
    assert everything["count"].sum() == 3
    import h3

    for cell in everything["cell"]:
        assert h3.get_resolution(cell) == 7 and h3.is_valid_cell(cell)
    fine = np.array([h3.str_to_int(h3.latlng_to_cell(52.0, 20.95, 9))], dtype=np.uint64)
    for resolution in range(5, 10):
        assert h3.int_to_str(int(parent_cells(fine, resolution)[0])) == h3.cell_to_parent(h3.int_to_str(int(fine[0])), resolution)


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


@pytest.mark.parametrize("distance_km", [0.5, 1.0, 2.0, 3.0])
def test_deserts_match_brute_force(distance_km: float) -> None:
    rng = np.random.default_rng(7)
    points = [
        (float(a), float(b), DIGITAL, 10)
        for a, b in zip(rng.uniform(51.95, 52.05, 25), rng.uniform(20.8, 21.17, 25), strict=True)
    ]
    points += [(52.0, 20.85, ARTS, 10), (52.0, 20.86, DIGITAL, 4000)]  # another topic; too rough: both ignored
    coverage = _coverage(points)
    cells = coverage.deserts(CoverageFilter(city_ids=(1,), topics=("digital-skills",)), distance_km)
    assert len(cells) > 50
    for row in cells.itertuples():
        nearest = min(_haversine(row.lat, row.lon, p[0], p[1]) for p in points[:25])
        assert row.desert == (nearest > distance_km)
        if nearest <= 4 * distance_km:
            assert row.nearest_km == pytest.approx(nearest, rel=1e-6)


def test_ranked_districts_worst_first_with_reasons() -> None:
    coverage = _coverage([(52.0, 20.95, DIGITAL, 10), (52.01, 20.96, DIGITAL, 10)])
    frame = coverage.district_deserts(CoverageFilter(city_ids=(1,), topics=("digital-skills",)), 2.0)
    table = ranked(frame, 2.0)
    assert list(table["residents_in_desert"]) == sorted(table["residents_in_desert"], reverse=True)
    east = table.set_index("district").loc["East"]
    assert east["desert"] and "no matching opportunity within 2 km" in east["reason"]
    west = table.set_index("district").loc["West"]
    assert west["count"] == 2 and west["desert_share"] < 1
    assert "per 1,000 residents against a city median of" in west["reason"]
    assert list(table["rank"]) == list(range(1, len(table) + 1))


# --- boundary files -------------------------------------------------------------------------


def _write(frame: gpd.GeoDataFrame, path: Path, driver: str | None = None) -> Path:
    frame.to_file(path, driver=driver) if driver else frame.to_file(path)
    return path


def _frame(**columns: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["Ąbc", "Łódź-Śródmieście"], "population": [100, 200], **columns}, geometry=[WEST, EAST], crs=4326
    )


def test_reads_geopackage_in_another_crs(tmp_path: Path) -> None:
    path = _write(_frame().to_crs(2180), tmp_path / "d.gpkg", "GPKG")
    read = read_boundary_file(path)
    assert [d.name for d in read.districts] == ["Ąbc", "Łódź-Śródmieście"]
    assert [d.population for d in read.districts] == [100, 200]
    assert (
        read.districts[0].geometry.equals_exact(WEST, tolerance=1e-6)
        or read.districts[0].geometry.symmetric_difference(WEST).area < 1e-8
    )
    assert "2180" in read.crs


def test_zipped_shapefile_and_age_bands(tmp_path: Path) -> None:
    folder = tmp_path / "shp"
    folder.mkdir()
    _write(_frame(population_teens=[10, 20]).rename(columns={"population_teens": "pop_teens"}), folder / "d.shp")
    archive = tmp_path / "d.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in folder.iterdir():
            z.write(part, part.name)
    read = read_boundary_file(archive)
    assert read.districts[1].population_by_age == {"teens": 20}


def test_self_intersection_repaired(tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(20.0, 50.0), (20.1, 50.1), (20.1, 50.0), (20.0, 50.1)])
    frame = gpd.GeoDataFrame({"name": ["Bow"]}, geometry=[bowtie], crs=4326)
    read = read_boundary_file(_write(frame, tmp_path / "b.geojson"))
    assert read.repaired == ("Bow",) and read.districts[0].geometry.is_valid


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: (p.write_bytes(b"PK\x05\x06" + b"\0" * 18), p)[1], "no .shp"),
        (lambda p: _write(_frame(), p.with_suffix(".geojson")), "no column 'people'"),
        (
            lambda p: _write(
                gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[WEST, WEST.buffer(0.01)], crs=4326), p.with_suffix(".geojson")
            ),
            "overlap",
        ),
        (
            lambda p: _write(
                gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.Point(21, 52)], crs=4326), p.with_suffix(".geojson")
            ),
            "not a polygon",
        ),
        (
            lambda p: _write(
                gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.box(500000, 500000, 600000, 600000)], crs=4326),
                p.with_suffix(".geojson"),
            ),
            "outside the earth",
        ),
        (
            lambda p: (
                p.with_suffix(".geojson").write_text(json.dumps({"type": "FeatureCollection", "features": []})),
                p.with_suffix(".geojson"),
            )[1],
            "no features",
        ),
        (lambda p: (p.with_suffix(".geojson").write_bytes(b" " * (21 * 1024 * 1024)), p.with_suffix(".geojson"))[1], "MB"),
        (lambda p: (p.with_suffix(".csv").write_text("a,b"), p.with_suffix(".csv"))[1], "not a boundary file"),
    ],
)
def test_broken_files_are_refused(tmp_path: Path, make: object, message: str) -> None:
    target = tmp_path / "f.zip"
    path = make(target)  # type: ignore[operator]
    path = target if path is None else path
    with pytest.raises(BoundaryFileError, match=message) as refused:
        read_boundary_file(path, population_column="people" if "people" in message else "")
    # A page says the same in the reader's language: every part of the reason is translated.
    english = explain_file_error(refused.value, "en")
    assert english == str(refused.value)
    for language in ("sv", "sl", "pl"):
        gettext = translator(language).gettext
        assert all(gettext(reason.text) != reason.text for reason in refused.value.reasons)
        assert explain_file_error(refused.value, language) != english
        assert explain_file_error(refused.value, language).startswith(f"{path.name}: ")


def test_a_refused_feature_is_named_in_the_readers_language(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"name": ["Łąka", ""]}, geometry=[shapely.Point(21, 52), WEST], crs=4326)
    with pytest.raises(BoundaryFileError) as refused:
        read_boundary_file(_write(frame, tmp_path / "d.geojson"))
    assert str(refused.value) == "d.geojson: feature 1 (Łąka): a Point, not a polygon; feature 2: no name"
    assert explain_file_error(refused.value, "pl") == "d.geojson: obiekt 1 (Łąka): Point, a nie wielokąt; obiekt 2: brak nazwy"


# --- the command line on the demo data ------------------------------------------------------


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch, engine: object, database_url: str, geocoder: object, tmp_path: Path) -> str:
    from datetime import date

    from opportunities.demo.generator import load_demo

    load_demo(engine, geocoder, size=400, seed=11, today=date(2026, 11, 23))  # type: ignore[arg-type]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CACHE_DIR", str(tmp_path / "cache"))
    return database_url


def test_cli_warszawa_deserts_read_back_with_geopandas(demo_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd

    from cli.commands import main

    out = tmp_path / "waw.geojson"
    args = ["coverage", "--city", "Warszawa", "--by", "district", "--topic", "digital-skills", "--age-group", "teens", "--free"]
    assert main([*args, "--desert-km", "2", "--format", "geojson", str(out)]) == 0
    layer = gpd.read_file(out)
    assert len(layer) == 18 and layer.crs.to_epsg() == 4326
    assert set(layer["district"]) >= {"Mokotów", "Śródmieście", "Wawer"}
    assert layer["population"].sum() == 1_794_166
    assert list(layer["rank"]) == list(range(1, 19)) and layer["reason"].str.len().min() > 0
    assert main([*args, "--format", "csv", str(tmp_path / "waw.csv")]) == 0
    table = pd.read_csv(tmp_path / "waw.csv")
    assert list(table["district"]) == list(layer["district"])
    cells = tmp_path / "cells.geojson"
    assert main(["coverage", "--city", "Warszawa", "--by", "cell", "--format", "geojson", str(cells)]) == 0
    grid = gpd.read_file(cells)
    assert grid["count"].sum() > 0 and grid.geometry.geom_type.eq("Polygon").all()
    assert main(["coverage", "--city", "Atlantis", "--by", "cell", "--format", "csv", str(tmp_path / "x.csv")]) == 2
    assert "no city named 'Atlantis'" in capsys.readouterr().err


def test_cli_boundaries_replace_and_refuse(demo_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.commands import main

    good = _write(_frame(), tmp_path / "d.geojson")
    assert main(["boundaries", str(good), "--city", "Kranj"]) == 0
    bad = _write(gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[WEST, WEST], crs=4326), tmp_path / "bad.geojson")
    assert main(["boundaries", str(bad), "--city", "Kranj"]) == 2
    assert "overlap" in capsys.readouterr().err
    from sqlalchemy import select

    from opportunities.coverage.boundaries import load_districts
    from opportunities.db.connection import create_db_engine
    from opportunities.db.schema import audit_log

    engine = create_db_engine(demo_env)
    with engine.connect() as conn:
        names = {d.name for d in load_districts(conn)}
        logged = conn.execute(select(audit_log.c.action, audit_log.c.actor_label, audit_log.c.after)
                              .where(audit_log.c.action == "replace_districts")).all()  # fmt: skip
    engine.dispose()
    assert {"Ąbc", "Łódź-Śródmieście"} <= names and "Mokotów" in names  # the bad file changed nothing
    # The command line's change is in the audit log, as the page's is (the refused file is not).
    assert [(action, label) for action, label, _after in logged] == [("replace_districts", "command line")]
    assert '"file": "d.geojson"' in logged[0][2]


def test_a_zipped_shapefile_that_unpacks_to_gigabytes_is_refused_before_reading(tmp_path: Path) -> None:
    """A 3 MB zip can hold one polygon of 100 million vertices: refused by what it unpacks to."""
    import zipfile

    from opportunities.coverage.boundaries import MAX_BOUNDARY_BYTES, ZIP_MAX_EXPANSION

    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("d.shp", "w", force_zip64=True) as shp:
            chunk = b"\0" * (1 << 20)
            for _ in range(MAX_BOUNDARY_BYTES * ZIP_MAX_EXPANSION // len(chunk) + 1):
                shp.write(chunk)
        archive.writestr("d.shx", b"")
        archive.writestr("d.dbf", b"")
    assert path.stat().st_size < 1_000_000
    with pytest.raises(BoundaryFileError, match=r"unpacks to \d+ MB, more than the \d+ MB a zipped Shapefile may hold"):
        read_boundary_file(path)


def test_a_layer_of_more_features_than_a_city_has_districts_is_read_no_further(tmp_path: Path) -> None:
    from opportunities.coverage.boundaries import MAX_DISTRICTS

    features = [{"type": "Feature", "properties": {"name": f"d{i}"},
                 "geometry": {"type": "Point", "coordinates": [21 + i / 1e5, 52.2]}} for i in range(MAX_DISTRICTS + 50)]  # fmt: skip
    path = tmp_path / "many.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(BoundaryFileError, match=f"{MAX_DISTRICTS:,}\\+ features; at most {MAX_DISTRICTS:,} districts"):
        read_boundary_file(path)
