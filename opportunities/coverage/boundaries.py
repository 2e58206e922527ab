"""District boundaries with their population: the demo's real ones, and files a city lead uploads.

A boundary file (GeoJSON, GeoPackage or zipped Shapefile, in any CRS) is read, reprojected to
EPSG:4326 and checked as a whole before anything is stored: size, CRS, geometry types, names,
the population column and overlaps. Invalid polygons are repaired (and said so); anything that
cannot be repaired is reported and the file changes nothing.
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Engine

from opportunities.accounts import audit
from opportunities.accounts.permissions import Action, authorise
from opportunities.db import connection, queries
from opportunities.errors import BoundaryFileError, Reason
from opportunities.i18n import N_
from opportunities.settings import PROJECT_ROOT
from opportunities.vocabulary import AGE_GROUPS_BY_ID

if TYPE_CHECKING:
    from opportunities.accounts.identity import User

DEMO_BOUNDARIES_DIR = PROJECT_ROOT / "data" / "boundaries"
MAX_BOUNDARY_BYTES = 20 * 1024 * 1024  # the largest real layer we know (Göteborg, full detail) is 2 MB
MAX_DISTRICTS = 5000
# How far a zipped Shapefile may unpack beyond the upload limit (real ones: 2–5 times).
ZIP_MAX_EXPANSION = 10
SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")
# Two districts may share an edge; more common area than this share of the smaller one is an overlap.
OVERLAP_SHARE = 0.01
NAME_COLUMNS = ("name", "namn", "nazwa", "ime", "district", "NAME", "Name")
POPULATION_COLUMNS = ("population", "folkmangd", "ludnosc", "prebivalci", "POPULATION", "pop")
# Age-band columns: "population_<age group id>", e.g. population_teens (pop_teens in a Shapefile).
AGE_BAND_PREFIXES = ("population_", "pop_")  # Shapefile column names have at most 10 characters

# Demo city -> (file in DEMO_BOUNDARIES_DIR, feature names to take; empty: every feature). Cities
# without finer districts get their municipality, so they still have a population.
DEMO_BOUNDARIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "Warszawa": ("warszawa_dzielnice.geojson", ()),
    "Ljubljana": ("ljubljana_cetrtne_skupnosti.geojson", ()),
    "Maribor": ("maribor_mestne_cetrti.geojson", ()),
    "Göteborg": ("goteborg_mellanomraden.geojson", ()),
    "Borås": ("vastra_gotaland_kommuner.geojson", ("Borås",)),
    "Trollhättan": ("vastra_gotaland_kommuner.geojson", ("Trollhättan",)),
    "Uddevalla": ("vastra_gotaland_kommuner.geojson", ("Uddevalla",)),
    "Bollnäs": ("gavleborg_kommuner.geojson", ("Bollnäs",)),
    "Hudiksvall": ("gavleborg_kommuner.geojson", ("Hudiksvall",)),
    "Söderhamn": ("gavleborg_kommuner.geojson", ("Söderhamn",)),
    "Ljusdal": ("gavleborg_kommuner.geojson", ("Ljusdal",)),
    "Kranj": ("slovenija_obcine.geojson", ("Kranj",)),
    "Novo mesto": ("slovenija_obcine.geojson", ("Novo mesto",)),
    "Płock": ("mazowieckie_powiaty.geojson", ("Płock",)),
    "Radom": ("mazowieckie_powiaty.geojson", ("Radom",)),
    "Siedlce": ("mazowieckie_powiaty.geojson", ("Siedlce",)),
}


@dataclass(frozen=True)
class District:
    """A district of a city: a (multi)polygon in EPSG:4326 and, where known, its residents."""

    name: str
    geometry: BaseGeometry
    population: int | None = None
    population_by_age: Mapping[str, int] = field(default_factory=dict)  # age group id -> residents
    population_year: int | None = None
    source: str = ""
    id: int | None = None
    city_id: int | None = None

    def row(self) -> dict[str, Any]:
        """The ``districts`` row (without ids)."""
        return {
            "name": self.name, "boundary": shapely.to_geojson(self.geometry), "population": self.population,
            "population_by_age": json.dumps(dict(self.population_by_age), sort_keys=True),
            "population_year": self.population_year, "source": self.source,
        }  # fmt: skip


@dataclass(frozen=True)
class BoundaryFile:
    """The districts of a checked file, and what was repaired on the way."""

    districts: tuple[District, ...]
    repaired: tuple[str, ...] = ()  # names of districts whose invalid polygon was made valid
    crs: str = "EPSG:4326"  # the file's own CRS, before reprojection


def load_districts(conn: Connection, city_ids: Sequence[int] | None = None) -> list[District]:
    """The stored districts (of these cities), ordered by id."""
    return [
        District(
            name=r.name,
            geometry=shapely.from_geojson(r.boundary),
            population=r.population,
            population_by_age=json.loads(r.population_by_age or "{}"),
            population_year=r.population_year,
            source=r.source,
            id=r.id,
            city_id=r.city_id,
        )
        for r in queries.district_rows(conn, city_ids)
    ]


def store_districts(engine: Engine, city_id: int, districts: Sequence[District]) -> None:
    """Replace the city's districts by ``districts`` in one transaction."""
    with connection.writing(engine) as conn:
        queries.replace_districts(conn, city_id, [d.row() for d in districts])


def replace_city_districts(engine: Engine, user: User | None, city_id: int, read: BoundaryFile, *, now: datetime,
                           file_name: str, command_line: bool = False) -> int:  # fmt: skip
    """Replace the city's districts by a checked file's, for a city lead of the city or an admin
    (:class:`ForbiddenError` otherwise), with an audit entry in the same transaction; returns
    how many districts are stored."""

    # The command line is whoever runs it on the server: no account to check, named in the log.
    actor = None if command_line else authorise(user, Action.REPLACE_DISTRICTS, city_id=city_id)
    with connection.writing(engine) as conn:
        before = len(load_districts(conn, [city_id]))
        queries.replace_districts(conn, city_id, [d.row() for d in read.districts])
        audit.record(conn, actor=actor, actor_label="command line" if command_line else "", action="replace_districts",
                     entity="city", entity_id=city_id, now=now,
                     city_id=city_id, before={"districts": before},
                     after={"districts": len(read.districts), "file": file_name, "crs": read.crs,
                            "repaired": list(read.repaired),
                            "with_population": sum(d.population is not None for d in read.districts)})  # fmt: skip
    return len(read.districts)


def demo_districts(city: str) -> list[District]:
    """The shipped districts of a demo city (empty for a city without any)."""
    if city not in DEMO_BOUNDARIES:
        return []
    name, wanted = DEMO_BOUNDARIES[city]
    collection = json.loads((DEMO_BOUNDARIES_DIR / name).read_text(encoding="utf-8"))
    found = []
    for feature in collection["features"]:
        props = feature["properties"]
        if wanted and props["name"] not in wanted:
            continue
        sources = [props.get("boundary_source", ""), props.get("population_source", "")]
        found.append(District(
            name=props["name"], geometry=shapely.from_geojson(json.dumps(feature["geometry"])),
            population=props.get("population"), population_year=props.get("population_year"),
            source="; ".join(s for s in sources if s),
        ))  # fmt: skip
    return found


def load_demo_boundaries(engine: Engine, city_ids: Mapping[str, int]) -> int:
    """Store the shipped districts of every demo city in ``city_ids`` (name -> id); returns how many."""
    stored = 0
    with connection.writing(engine) as conn:
        for city, city_id in city_ids.items():
            districts = demo_districts(city)
            if districts:
                queries.replace_districts(conn, city_id, [d.row() for d in districts])
                stored += len(districts)
    return stored


# --- reading and checking a file -----------------------------------------------------------


def read_boundary_file(path: Path, *, name_column: str = "", population_column: str = "",
                       max_bytes: int = MAX_BOUNDARY_BYTES) -> BoundaryFile:  # fmt: skip
    """The districts of a boundary file, checked and in EPSG:4326.

    Raises :class:`BoundaryFileError` with every problem that makes the file unusable.
    """
    if path.suffix.lower() not in SUFFIXES:
        raise BoundaryFileError(path.name, Reason(N_("not a boundary file; use GeoJSON, GeoPackage or a zipped Shapefile")))
    size = path.stat().st_size
    if size > max_bytes:
        raise BoundaryFileError(
            path.name,
            Reason(
                N_("{size} MB is more than the {limit} MB a boundary file may have"),
                {"size": f"{size / 1e6:.1f}", "limit": f"{max_bytes / 1e6:.0f}"},
            ),
        )
    frame = read_geographic(path, max_features=MAX_DISTRICTS)
    if frame.empty:
        raise BoundaryFileError(path.name, Reason(N_("holds no features")))
    if len(frame) > MAX_DISTRICTS:  # read no further than one past the limit
        raise BoundaryFileError(
            path.name,
            Reason(
                N_("{count} features; at most {limit} districts per city"),
                {"count": f"{MAX_DISTRICTS:,}+", "limit": MAX_DISTRICTS},
            ),
        )
    frame, crs = in_wgs84(frame, path.name)
    return _checked(frame, path.name, crs, name_column, population_column)


def read_geographic(path: Path, *, max_features: int) -> Any:
    """The GeoDataFrame of a GeoJSON, GeoPackage or zipped Shapefile (a population layer's too),
    read no further than ``max_features`` + 1 features: a file of millions stops there, in memory
    and time, and the caller refuses it."""
    import geopandas as gpd

    source = str(path)
    if path.suffix.lower() == ".zip":
        source = _shapefile_in_zip(path)
    try:
        return gpd.read_file(source, max_features=max_features + 1)
    except Exception as exc:  # any reader failure means the same to the user
        raise BoundaryFileError(
            path.name, Reason(N_("cannot be read as geographic data ({detail})"), {"detail": _first_line(exc)})
        ) from None


def in_wgs84(frame: Any, file_name: str) -> tuple[Any, str]:
    """``frame`` reprojected to EPSG:4326, and its own CRS; BoundaryFileError when it has none usable."""
    if frame.crs is None:
        raise BoundaryFileError(
            file_name, Reason(N_("says nothing about its coordinate reference system (a Shapefile needs its .prj)"))
        )
    crs = frame.crs.to_string()
    try:
        return frame.to_crs(4326), crs
    except Exception as exc:
        raise BoundaryFileError(
            file_name, Reason(N_("cannot be reprojected from {crs} ({detail})"), {"crs": crs, "detail": _first_line(exc)})
        ) from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _shapefile_in_zip(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
    except zipfile.BadZipFile:
        raise BoundaryFileError(path.name, Reason(N_("is not a readable zip file"))) from None
    shapefiles = [n for n in names if n.lower().endswith(".shp")]
    if not shapefiles:
        raise BoundaryFileError(
            path.name, Reason(N_("the zip holds no .shp file (a zipped Shapefile needs .shp, .shx, .dbf and .prj)"))
        )
    if len(shapefiles) > 1:
        raise BoundaryFileError(
            path.name, Reason(N_("the zip holds {count} .shp files; upload one layer at a time"), {"count": len(shapefiles)})
        )
    unpacked = sum(info.file_size for info in infos)
    if unpacked > MAX_BOUNDARY_BYTES * ZIP_MAX_EXPANSION:
        # A 3 MB zip can hold one polygon of 100 million vertices (1.6 GB unpacked).
        raise BoundaryFileError(
            path.name,
            Reason(
                N_("unpacks to {size} MB, more than the {limit} MB a zipped Shapefile may hold; simplify its geometry"),
                {"size": f"{unpacked / 1e6:,.0f}", "limit": f"{MAX_BOUNDARY_BYTES * ZIP_MAX_EXPANSION / 1e6:,.0f}"},
            ),
        )
    stem = shapefiles[0][:-4]
    missing = [ext for ext in (".shx", ".dbf") if not any(n.lower() == f"{stem.lower()}{ext}" for n in names)]
    if missing:
        raise BoundaryFileError(path.name, *(Reason(N_("the Shapefile lacks its {file} file"), {"file": ext}) for ext in missing))
    return f"/vsizip/{path}/{shapefiles[0]}"


def _pick_column(columns: Sequence[str], wanted: str, candidates: Sequence[str], missing: str, file_name: str) -> str:
    """``wanted`` when given (else the first of ``candidates`` present, or ""); ``missing`` is the
    msgid of the reason when ``wanted`` is not a column."""
    if wanted:
        if wanted not in columns:
            raise BoundaryFileError(file_name, Reason(missing, {"column": repr(wanted), "columns": ", ".join(columns)}))
        return wanted
    return next((c for c in candidates if c in columns), "")


def _count(value: Any) -> int | None:
    """A number of residents, None when blank; ValueError when not a whole number ≥ 0."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or (isinstance(value, str) and not value.strip()):
        return None
    number = float(str(value).replace(" ", "").replace("\u00a0", "")) if isinstance(value, str) else float(value)
    if not math.isfinite(number) or number < 0 or number != int(number):
        raise ValueError(value)
    return int(number)


def _checked(frame: Any, file_name: str, crs: str, name_column: str, population_column: str) -> BoundaryFile:
    columns = [str(c) for c in frame.columns if c != frame.geometry.name]
    names_from = _names_column(columns, name_column, file_name)
    people_from = _pick_column(
        columns,
        population_column,
        POPULATION_COLUMNS,
        N_("no column {column} for the population; columns are {columns}"),
        file_name,
    )
    bands = {c[len(p) :]: c for c in columns for p in AGE_BAND_PREFIXES if c.startswith(p) and c[len(p) :] in AGE_GROUPS_BY_ID}
    problems: list[Reason] = []
    repaired: list[str] = []
    districts: list[District] = []
    seen: set[str] = set()
    minx, miny, maxx, maxy = frame.total_bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise BoundaryFileError(
            file_name,
            Reason(
                N_("coordinates fall outside the earth after reprojection from {crs}; is the declared CRS right?"), {"crs": crs}
            ),
        )
    for number, (_, row) in enumerate(frame.iterrows(), start=1):
        name = str(row[names_from] if row[names_from] is not None else "").strip()
        label = (
            Reason(N_("feature {number} ({name})"), {"number": number, "name": name})
            if name
            else Reason(N_("feature {number}"), {"number": number})
        )
        if not name:
            problems.append(Reason(N_("{feature}: no name"), {"feature": label}))
        elif name in seen:
            problems.append(Reason(N_("{feature}: the name appears twice"), {"feature": label}))
        seen.add(name)
        usable = _usable_geometry(row[frame.geometry.name], label, problems)
        if usable is None:
            continue
        geometry, was_repaired = usable
        if was_repaired:
            repaired.append(name or str(label))
        population, by_age = _residents(row, people_from, bands, label, problems)
        districts.append(District(name=name[:100], geometry=geometry, population=population, population_by_age=by_age,
                                  source=f"uploaded file {file_name}"))  # fmt: skip
    if people_from and districts and all(d.population is None for d in districts):
        problems.append(Reason(N_("column {column} holds no population figure"), {"column": repr(people_from)}))
    if not problems:
        problems.extend(_overlaps(districts))
    if problems:
        shown = problems[:10] + ([Reason(N_("… and {count} more"), {"count": len(problems) - 10})] if len(problems) > 10 else [])
        raise BoundaryFileError(file_name, *shown)
    return BoundaryFile(districts=tuple(districts), repaired=tuple(repaired), crs=crs)


def _names_column(columns: Sequence[str], name_column: str, file_name: str) -> str:
    """The column of district names: ``name_column`` when given, else the first of :data:`NAME_COLUMNS` present."""
    names_from = _pick_column(
        columns, name_column, NAME_COLUMNS, N_("no column {column} for the district names; columns are {columns}"), file_name
    )
    if not names_from:
        raise BoundaryFileError(
            file_name,
            Reason(N_("no column of district names (name); columns are {columns}"), {"columns": ", ".join(columns)})
            if columns
            else Reason(N_("no column of district names (name), nor any other column")),
        )
    return names_from


def _usable_geometry(geometry: Any, label: Reason, problems: list[Reason]) -> tuple[BaseGeometry, bool] | None:
    """A feature's polygon, and whether it had to be repaired; None (the problem noted) when it has none usable."""
    if geometry is None or geometry.is_empty:
        problems.append(Reason(N_("{feature}: no geometry"), {"feature": label}))
        return None
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        problems.append(Reason(N_("{feature}: a {kind}, not a polygon"), {"feature": label, "kind": geometry.geom_type}))
        return None
    if geometry.is_valid:
        return geometry, False
    geometry = _polygonal(shapely.make_valid(geometry))
    if geometry.is_empty:
        problems.append(Reason(N_("{feature}: an invalid polygon that cannot be repaired"), {"feature": label}))
        return None
    return geometry, True


def _residents(
    row: Any, people_from: str, bands: Mapping[str, str], label: Reason, problems: list[Reason]
) -> tuple[int | None, dict[str, int]]:
    """A feature's population (None when blank or not given) and its population per age group in ``bands``
    (group id → column); a figure that is not a whole number is noted in ``problems`` and left out."""
    try:
        population = _count(row[people_from]) if people_from else None
    except ValueError:
        problems.append(Reason(N_("{feature}: population {value} is not a whole number of residents"),
                               {"feature": label, "value": repr(row[people_from])}))  # fmt: skip
        population = None
    by_age: dict[str, int] = {}
    for group, column in bands.items():
        try:
            value = _count(row[column])
        except ValueError:
            problems.append(Reason(N_("{feature}: {column} {value} is not a whole number of residents"),
                                   {"feature": label, "column": column, "value": repr(row[column])}))  # fmt: skip
            continue
        if value is not None:
            by_age[group] = value
    return population, by_age


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """The polygon parts of a repaired geometry (make_valid may leave stray lines and points)."""
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [g for g in getattr(geometry, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _overlaps(districts: Sequence[District]) -> list[Reason]:
    """Pairs of districts that share more than an edge (a point would be counted in both)."""
    geometries = [d.geometry for d in districts]
    tree = shapely.STRtree(geometries)
    left, right = tree.query(geometries, predicate="intersects")
    found = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        common = shapely.intersection(geometries[i], geometries[j]).area
        if common > OVERLAP_SHARE * min(geometries[i].area, geometries[j].area):
            found.append(Reason(N_("{first} and {second} overlap"), {"first": districts[i].name, "second": districts[j].name}))
    return found
