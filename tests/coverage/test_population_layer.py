"""A city lead's population layer: real files checked as a whole, aggregated onto the city's stored
districts, stored in one audited transaction, and the command that does it."""

from __future__ import annotations

import warnings
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from cli.commands import main
from opportunities.accounts import audit
from opportunities.coverage.boundaries import District, load_districts, store_districts
from opportunities.coverage.population import preview_population, read_population_file, replace_city_population, store_population
from opportunities.db import queries
from opportunities.errors import BoundaryFileError, ForbiddenError
from tests.conftest import World, page

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
# Two districts of Göteborg side by side, each 0.04° (about 2.4 km) wide.
CENTRUM = box(11.94, 57.69, 11.98, 57.72)
MAJORNA = box(11.90, 57.69, 11.94, 57.72)
# Points in each district and one in Stockholm, far outside Göteborg.
IN_CENTRUM, IN_MAJORNA, STOCKHOLM = Point(11.96, 57.70), Point(11.92, 57.70), Point(18.07, 59.33)


def with_districts(w: World) -> None:
    store_districts(w.engine, w.gbg, [District("Centrum", CENTRUM, population=1, source="stadsdelar.geojson"),
                                      District("Majorna-Linné", MAJORNA, population=2)])  # fmt: skip


def figures(w: World) -> dict[str, tuple[int | None, dict[str, int]]]:
    with w.engine.connect() as conn:
        return {d.name: (d.population, dict(d.population_by_age)) for d in load_districts(conn, [w.gbg])}


def points_layer(path: Path, crs: int = 3006, **columns: list[object]) -> Path:
    """Three points (Centrum, Majorna, Stockholm) with ``columns``, written in ``crs`` in the format of ``path``'s suffix."""
    frame = gpd.GeoDataFrame(columns or {"population": [100, 40, 5]}, geometry=[IN_CENTRUM, IN_MAJORNA, STOCKHOLM], crs=4326)
    frame = frame.to_crs(crs)
    if path.suffix == ".zip":
        folder = path.parent / "shp"
        folder.mkdir()
        frame.to_file(folder / "befolkning.shp")
        with zipfile.ZipFile(path, "w") as archive:
            for part in folder.iterdir():
                archive.write(part, part.name)
    else:
        frame.to_file(path)
    return path


@pytest.mark.parametrize("name", ["befolkning.geojson", "befolkning.gpkg", "befolkning.zip"])
def test_a_points_layer_in_any_format_and_crs_is_counted_per_district(world: World, tmp_path: Path, name: str) -> None:
    with_districts(world)
    layer = read_population_file(points_layer(tmp_path / name, population=[100, 40, 5], pop_teens=[10, 4, 1]))
    assert (layer.crs, layer.column, layer.points, layer.residents) == ("EPSG:3006", "population", True, 145)
    with world.engine.connect() as conn:
        preview = preview_population(conn, world.gbg, layer)
    assert [(d.name, d.population, dict(d.population_by_age)) for d in preview.districts] == [
        ("Centrum", 100, {"teens": 10}),
        ("Majorna-Linné", 40, {"teens": 4}),
    ]
    assert (preview.outside, preview.bands, preview.inside) == (5, ("teens",), 140)
    assert figures(world) == {"Centrum": (1, {}), "Majorna-Linné": (2, {})}  # a preview changes nothing


def test_polygons_in_polish_cs92_are_split_by_area(world: World, tmp_path: Path) -> None:
    with_districts(world)
    # One grid square across the shared edge, half in each district; one square in the sea.
    path = tmp_path / "siatka.geojson"
    gpd.GeoDataFrame(
        {"ludnosc": [1000, 30]}, geometry=[box(11.92, 57.70, 11.96, 57.71), box(11.5, 57.5, 11.6, 57.6)], crs=4326
    ).to_crs(2180).to_file(path, driver="GeoJSON")
    layer = read_population_file(path)
    assert (layer.column, layer.points, layer.crs) == ("ludnosc", False, "EPSG:2180")
    with world.engine.connect() as conn:
        preview = preview_population(conn, world.gbg, layer)
    centrum, majorna = (d.population or 0 for d in preview.districts)
    assert centrum == pytest.approx(500, abs=5) and centrum + majorna == 1000
    assert preview.outside == 30


def test_a_csv_of_points_with_semicolons_decimal_commas_and_a_named_column(world: World, tmp_path: Path) -> None:
    with_districts(world)
    path = tmp_path / "punkter.csv"
    path.write_text("Latitud;Longitud;Invånare;pop_children;Anteckning\n57,70;11,96;12;3;\"Kvarter; norra,\nПетроград\"\n"
                    "57.70;11.92;8;1;=SUM(A1)\n\"59,33\";18,07;5;0;Łódź ß\n", encoding="utf-8")  # fmt: skip
    layer = read_population_file(path, column="Invånare")
    assert (layer.column, layer.crs, layer.bands) == ("invanare", "EPSG:4326", {"children": "pop_children"})
    with world.engine.connect() as conn:
        preview = preview_population(conn, world.gbg, layer)
    assert [(d.population, dict(d.population_by_age)) for d in preview.districts] == [(12, {"children": 3}), (8, {"children": 1})]
    assert preview.outside == 5


def no_crs(path: Path) -> Path:
    path.write_text('{"type": "FeatureCollection", "crs": null, "features": [{"type": "Feature", "properties": {"population": 5}, '
                    '"geometry": {"type": "Point", "coordinates": [320000, 6400000]}}]}', encoding="utf-8")  # fmt: skip
    return path


def shapefile_without_prj(path: Path) -> Path:
    points_layer(path)
    with zipfile.ZipFile(path) as archive:
        parts = {n: archive.read(n) for n in archive.namelist() if not n.endswith(".prj")}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def written(path: Path, frame: gpd.GeoDataFrame) -> Path:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'crs' was not provided", UserWarning)  # a file without CRS is the point
        frame.to_file(path)
    return path


@pytest.mark.parametrize(("make", "message"), [
    # GeoJSON without a CRS is WGS 84 (RFC 7946): projected metres then fall outside the earth.
    (lambda p: no_crs(p / "a.geojson"), "coordinates fall outside the earth after reprojection from EPSG:4326"),
    (lambda p: written(p / "a.gpkg", gpd.GeoDataFrame({"population": [5]}, geometry=[Point(320000, 6400000)])),
     "says nothing about its coordinate reference system"),
    (lambda p: shapefile_without_prj(p / "a.zip"), "coordinate reference system"),
    (lambda p: written(p / "a.geojson", gpd.GeoDataFrame({"population": [5]}, geometry=[LineString([(11.9, 57.7), (12, 57.7)])], crs=4326)),
     "only points or only polygons, not LineString"),
    (lambda p: written(p / "a.gpkg", gpd.GeoDataFrame({"invånare": [5]}, geometry=[IN_CENTRUM], crs=4326)),
     "no column of residents .population.; columns are invånare"),
    (lambda p: points_layer(p / "a.geojson", population=[5, -1, 2]), "feature 2 has no population count"),
    (lambda p: points_layer(p / "a.geojson", population=["5", "många", "2"]), "feature 2 has no population count"),
    (lambda p: points_layer(p / "a.geojson", population=[5, 1, 2], pop_teens=[1, None, 0]), "feature 2 has no population count in 'pop_teens'"),
    (lambda p: written(p / "a.geojson", gpd.GeoDataFrame({"population": []}, geometry=[], crs=4326)), "holds no features"),
    (lambda p: (p / "a.shp").write_bytes(b"x") and p / "a.shp", "not a population layer"),
    (lambda p: (p / "a.zip").write_bytes(b"not a zip") and p / "a.zip", "not a readable zip"),
    (lambda p: (p / "a.gpkg").write_bytes(b"SQLite format 3\x00 broken") and p / "a.gpkg", "cannot be read as geographic data"),
    (lambda p: (p / "a.csv").write_text("lat,lon,population\n57.7,11.9,5\n91,11.9,5\n") and p / "a.csv", "row 3 has no latitude and longitude"),
    (lambda p: (p / "a.csv").write_text("y;x;population\n57,7;11,9;=1+1\n") and p / "a.csv", "feature 1 has no population count"),
    (lambda p: (p / "a.csv").write_text("population\n5\n") and p / "a.csv", "needs lat and lon columns"),
])  # fmt: skip
def test_a_bad_file_is_refused_with_the_reason(tmp_path: Path, make: object, message: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(BoundaryFileError, match=message):
        read_population_file(path)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = points_layer(tmp_path / "stor.geojson")
    with pytest.raises(BoundaryFileError, match="more than the 0 MB a population layer may have"):
        read_population_file(path, max_bytes=100)


def test_a_named_column_that_is_missing_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(BoundaryFileError, match="no column 'folkmängd' for the population; columns are population"):
        read_population_file(points_layer(tmp_path / "a.geojson"), column="folkmängd")


def test_an_invalid_polygon_is_repaired_and_counted(tmp_path: Path) -> None:
    bowtie = "POLYGON ((11.92 57.69, 11.96 57.72, 11.96 57.69, 11.92 57.72, 11.92 57.69))"
    path = tmp_path / "fluga.geojson"
    gpd.GeoDataFrame({"population": [10]}, geometry=gpd.GeoSeries.from_wkt([bowtie]), crs=4326).to_file(path)
    layer = read_population_file(path)
    assert layer.repaired == 1 and layer.frame.geometry.is_valid.all()


def test_a_city_without_districts_changes_nothing_and_says_why(world: World, tmp_path: Path) -> None:
    layer = read_population_file(points_layer(tmp_path / "a.geojson"))
    with pytest.raises(BoundaryFileError, match="no districts to count residents in; upload its district boundaries first"):
        replace_city_population(world.engine, world.lead_gbg, world.gbg, layer, now=NOW)
    with world.engine.connect() as conn:
        assert audit.entries(conn, world.admin, entity="city") == []


def test_a_lead_replaces_the_figures_in_one_audited_transaction(world: World, tmp_path: Path) -> None:
    with_districts(world)
    with world.engine.connect() as conn:
        version = queries.districts_version(conn)
    layer = read_population_file(points_layer(tmp_path / "a.geojson", population=[100, 40, 5], pop_teens=[10, 4, 1]))
    stored = replace_city_population(world.engine, world.lead_gbg, world.gbg, layer, now=NOW)
    assert stored.outside == 5
    assert figures(world) == {"Centrum": (100, {"teens": 10}), "Majorna-Linné": (40, {"teens": 4})}
    with world.engine.connect() as conn:
        # Cached coverage (per 1,000 residents, the ranking) is keyed by this version: it must move.
        assert queries.districts_version(conn) != version
        [centrum, _] = load_districts(conn, [world.gbg])
        [entry] = audit.entries(conn, world.lead_gbg, entity="city", entity_id=world.gbg)
    assert centrum.geometry.equals(CENTRUM) and centrum.source == "stadsdelar.geojson; population from a.geojson"
    assert (entry.action, entry.actor, entry.before) == ("replace_population", "lead@goteborg.example", {"residents": 3})
    assert entry.after == {"residents": 140, "outside": 5, "file": "a.geojson", "crs": "EPSG:3006", "age_bands": ["teens"]}
    # A second layer without age bands replaces the first's figures, bands included.
    again = read_population_file(points_layer(tmp_path / "b.gpkg", folkmangd=[7, 0, 0]))
    replace_city_population(world.engine, world.admin, world.gbg, again, now=NOW)
    assert figures(world) == {"Centrum": (7, {}), "Majorna-Linné": (0, {})}
    with world.engine.connect() as conn:
        assert load_districts(conn, [world.gbg])[0].source == "stadsdelar.geojson; population from b.gpkg"


@pytest.mark.parametrize(("centrum", "majorna"), [(2, 1), (1, 3), (None, 2), (0, 3)])
def test_the_districts_version_moves_with_the_residents_even_when_ids_come_back(world: World, centrum: int | None,
                                                                                 majorna: int) -> None:  # fmt: skip
    with_districts(world)  # Centrum 1, Majorna-Linné 2
    with world.engine.connect() as conn:
        before = queries.districts_version(conn)
    store_districts(
        world.engine,
        world.gbg,
        [District("Centrum", CENTRUM, population=centrum), District("Majorna-Linné", MAJORNA, population=majorna)],
    )
    with world.engine.connect() as conn:
        # SQLite gives the deleted ids again: residents moved between districts (same total) must move it all the same.
        assert queries.districts_version(conn) != before


def test_a_failure_while_storing_leaves_the_old_figures(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_districts(world)
    layer = read_population_file(points_layer(tmp_path / "a.geojson"))

    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "record", broken)  # after the districts were rewritten, in the same transaction
    with pytest.raises(RuntimeError):
        replace_city_population(world.engine, world.lead_gbg, world.gbg, layer, now=NOW)
    assert figures(world) == {"Centrum": (1, {}), "Majorna-Linné": (2, {})}


@pytest.mark.parametrize("who", ["lead_kranj", "librarian", "disabled_lead", "nobody"])
def test_anyone_else_changes_nothing(world: World, tmp_path: Path, who: str) -> None:
    with_districts(world)
    layer = read_population_file(points_layer(tmp_path / "a.geojson"))
    with pytest.raises(ForbiddenError):
        replace_city_population(world.engine, None if who == "nobody" else getattr(world, who), world.gbg, layer, now=NOW)
    assert figures(world) == {"Centrum": (1, {}), "Majorna-Linné": (2, {})}


def test_store_population_without_an_account_is_the_command_lines(world: World, tmp_path: Path) -> None:
    with_districts(world)
    store_population(world.engine, world.gbg, read_population_file(points_layer(tmp_path / "a.geojson")))
    assert figures(world) == {"Centrum": (100, {}), "Majorna-Linné": (40, {})}


# --- the command ---------------------------------------------------------------------------------


def test_the_command_prints_each_district_and_the_residents_outside(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", world.settings.database_url)
    with_districts(world)
    path = points_layer(tmp_path / "befolkning.zip", pop=[100, 40, 5], pop_teens=[10, 4, 1])
    assert main(["population", str(path), "--city", "goteborg"]) == 0
    out, err = capsys.readouterr()
    assert "residents of Göteborg's 2 districts stored (from EPSG:3006, column 'pop', age bands: teens)" in out
    assert "Centrum: 100, teens 10\nMajorna-Linné: 40, teens 4\noutside every district: 5" in out
    assert "warning: 5 residents of the layer are in no district of Göteborg" in err
    assert figures(world) == {"Centrum": (100, {"teens": 10}), "Majorna-Linné": (40, {"teens": 4})}


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--city", "Kranj"], 2, "no districts to count residents in"),
    (["--city", "Atlantis"], 2, "no city named 'Atlantis'"),
    (["--city", "Göteborg", "--column", "ludnosc"], 2, "no column 'ludnosc' for the population"),
])  # fmt: skip
def test_the_command_fails_clearly_and_changes_nothing(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str) -> None:  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", world.settings.database_url)
    with_districts(world)
    assert main(["population", str(points_layer(tmp_path / "a.geojson")), *args]) == code
    out, err = capsys.readouterr()
    assert message in err and "Traceback" not in err and out == ""
    assert figures(world) == {"Centrum": (1, {}), "Majorna-Linné": (2, {})}


def test_the_command_on_a_missing_file_is_a_file_error(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", world.settings.database_url)
    assert main(["population", str(tmp_path / "nowhere.geojson"), "--city", "Göteborg"]) == 4
    assert "nowhere.geojson" in capsys.readouterr().err


# --- the Coverage page ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "shown"),
    [("lead_gbg", True), ("lead_kranj", True), ("disabled_lead", False), ("librarian", False), ("nobody", False)],
)
def test_the_population_uploader_is_offered_to_city_leads_only(signed_in: World, who: str, shown: bool) -> None:
    at = page("coverage", None if who == "nobody" else getattr(signed_in, who), signed_in, language="sv")
    assert not at.exception
    assert any(c.value.startswith("Befolkningslager (valfritt)") for c in at.caption) is shown
