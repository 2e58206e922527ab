"""A separate population layer aggregated onto a city's districts.

A city lead uploads the layer (GeoJSON, GeoPackage, zipped Shapefile, or a CSV of points with
latitude and longitude) after the district boundaries; :func:`read_population_file` checks it as
a whole, :func:`preview_population` shows what it would give, and :func:`replace_city_population`
stores the new figures of every district of the city in one transaction.

Points (census points, grid centroids) count in the district that holds them; polygons (grid
squares, statistical areas) are split by the share of their area in each district, measured in
the equal-area ETRS89-LAEA projection (EPSG:3035, the projection of Eurostat's population grid).
Age bands: columns named like the boundary files' (``population_teens``, ``pop_teens``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine

from opportunities.accounts import audit
from opportunities.accounts.permissions import Action, authorise
from opportunities.coverage.boundaries import (
    AGE_BAND_PREFIXES,
    MAX_BOUNDARY_BYTES,
    POPULATION_COLUMNS,
    SUFFIXES,
    District,
    _polygonal,
    in_wgs84,
    load_districts,
    read_geographic,
)
from opportunities.db import connection, queries
from opportunities.errors import BoundaryFileError, ImportFileError, Reason
from opportunities.i18n import N_
from opportunities.listings.spreadsheets import ReadLimits, _column_name, read_table
from opportunities.vocabulary import AGE_GROUPS

if TYPE_CHECKING:
    from opportunities.accounts.identity import User

EQUAL_AREA_CRS = "EPSG:3035"
MAX_POPULATION_BYTES = MAX_BOUNDARY_BYTES
# A 100 m grid of a large city has some 100,000 cells; census points of a capital fewer than this.
MAX_POPULATION_FEATURES = 1_000_000
POPULATION_SUFFIXES = (*SUFFIXES, ".csv")
# Coordinate columns of a CSV of points, in WGS 84 (as _column_name folds them: lower case).
LATITUDE_COLUMNS = ("lat", "latitude", "y", "szerokosc", "latitud", "sirina")
LONGITUDE_COLUMNS = ("lon", "lng", "longitude", "x", "dlugosc", "longitud", "dolzina")


@dataclass(frozen=True)
class PopulationLayer:
    """A checked population layer in EPSG:4326: residents in ``column``, age bands in ``bands``."""

    frame: gpd.GeoDataFrame
    column: str
    bands: dict[str, str]  # age group id -> the layer's column
    crs: str  # the file's own CRS, before reprojection
    file_name: str
    points: bool  # points, else polygons
    repaired: int = 0  # invalid polygons made valid

    @property
    def residents(self) -> int:
        """Every resident the layer counts, inside the city or not."""
        return round(float(pd.to_numeric(self.frame[self.column]).sum()))


@dataclass(frozen=True)
class PopulationPreview:
    """The city's districts with the layer's residents, and the residents left outside them all."""

    districts: tuple[District, ...]
    outside: int  # residents of the layer in no district (a layer of another area shows here)
    bands: tuple[str, ...]  # age group ids found, in the vocabulary's order

    @property
    def inside(self) -> int:
        return sum(d.population or 0 for d in self.districts)


def _band_columns(layer: gpd.GeoDataFrame) -> dict[str, str]:
    """Age group id → the layer's column with its residents."""
    found: dict[str, str] = {}
    for group in AGE_GROUPS:
        for prefix in AGE_BAND_PREFIXES:
            if f"{prefix}{group.id}" in layer.columns:
                found[group.id] = f"{prefix}{group.id}"
                break
    return found


def _counts(layer: gpd.GeoDataFrame, column: str, name: str) -> npt.NDArray[np.float64]:
    values = pd.to_numeric(layer[column], errors="coerce")
    if values.isna().any() or (values < 0).any():
        bad = int(np.flatnonzero(values.isna().to_numpy() | (values < 0).to_numpy())[0]) + 1
        raise BoundaryFileError(
            name,
            Reason(
                N_("feature {number} has no population count in {column} (a number, 0 or more)"),
                {"number": bad, "column": repr(column)},
            ),
        )
    counts: npt.NDArray[np.float64] = values.to_numpy(dtype=np.float64)
    return counts


def _kinds(layer: gpd.GeoDataFrame, name: str) -> bool:
    """True for a layer of points, False for one of polygons; BoundaryFileError for anything else."""
    kinds = set(layer.geom_type.dropna())
    points = kinds <= {"Point", "MultiPoint"}
    if not kinds or not (points or kinds <= {"Polygon", "MultiPolygon"}):
        raise BoundaryFileError(
            name,
            Reason(N_("needs only points or only polygons, not {kinds}"), {"kinds": ", ".join(sorted(kinds))})
            if kinds
            else Reason(N_("holds no points and no polygons")),
        )
    return points


def aggregate_population(
    districts: Sequence[District], layer: gpd.GeoDataFrame, column: str, *, name: str = "population layer"
) -> list[District]:
    """``districts`` with the residents of ``layer`` (points or polygons, any CRS) in ``column`` and
    its age-band columns summed per district, rounded to whole people. Residents outside every
    district are left out. :class:`BoundaryFileError` (nothing changes) for a layer without a CRS,
    without ``column``, with mixed or other geometries, or with a count that is not a number."""
    return _aggregate(districts, layer, column, name)[0]


def _aggregate(districts: Sequence[District], layer: gpd.GeoDataFrame, column: str, name: str) -> tuple[list[District], float]:
    """The districts with their residents, and the residents outside every district."""
    if layer.crs is None:
        raise BoundaryFileError(name, Reason(N_("has no coordinate reference system")))
    if column not in layer.columns:
        raise BoundaryFileError(name, Reason(N_("has no column {column}"), {"column": repr(column)}))
    points = _kinds(layer, name)
    bands = _band_columns(layer)
    columns = {"": column, **bands}
    values = {key: _counts(layer, col, name) for key, col in columns.items()}
    # Points are tested against the districts as stored (EPSG:4326); only areas need the equal-area CRS.
    crs = "EPSG:4326" if points else EQUAL_AREA_CRS
    areas = np.asarray(gpd.GeoSeries([d.geometry for d in districts], crs="EPSG:4326").to_crs(crs))
    shapes = np.asarray(layer.geometry.to_crs(crs))
    # One spatial-index query for every (feature, district) pair that may share residents.
    feature, district = shapely.STRtree(areas).query(shapes, predicate="covered_by" if points else "intersects")
    if points:
        # A point on a shared edge counts once: in the first district that covers it.
        order = np.lexsort((district, feature))
        feature, district = feature[order], district[order]
        first = np.unique(feature, return_index=True)[1]
        feature, district = feature[first], district[first]
        share = np.ones(len(feature))
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.nan_to_num(
                shapely.area(shapely.intersection(shapes[feature], areas[district])) / shapely.area(shapes[feature])
            )
    totals = {key: np.bincount(district, weights=share * values[key][feature], minlength=len(districts)) for key in columns}
    outside = float(values[""].sum() - totals[""].sum())
    found = [
        replace(d, population=round(float(totals[""][i])), population_by_age={g: round(float(totals[g][i])) for g in bands})
        for i, d in enumerate(districts)
    ]
    return found, max(outside, 0.0)


# --- reading and checking a file -----------------------------------------------------------


def read_population_file(path: Path, *, column: str = "", max_bytes: int = MAX_POPULATION_BYTES) -> PopulationLayer:
    """The population layer of a file, checked and in EPSG:4326.

    GeoJSON, GeoPackage or zipped Shapefile of points or polygons in any CRS, or a CSV of points
    (latitude and longitude in WGS 84). ``column``: the residents' column (default: the first of
    :data:`POPULATION_COLUMNS` found). Raises :class:`BoundaryFileError` when the file is unusable.
    """
    suffix = path.suffix.lower()
    if suffix not in POPULATION_SUFFIXES:
        raise BoundaryFileError(
            path.name, Reason(N_("not a population layer; use GeoJSON, GeoPackage, a zipped Shapefile or a CSV of points"))
        )
    size = path.stat().st_size
    if size > max_bytes:
        raise BoundaryFileError(
            path.name,
            Reason(
                N_("{size} MB is more than the {limit} MB a population layer may have"),
                {"size": f"{size / 1e6:.1f}", "limit": f"{max_bytes / 1e6:.0f}"},
            ),
        )
    frame = _csv_points(path, max_bytes) if suffix == ".csv" else read_geographic(path, max_features=MAX_POPULATION_FEATURES)
    if suffix == ".csv" and column:
        column = _column_name(column)  # a CSV's header is folded when read (Ludność: ludnosc)
    if frame.empty:
        raise BoundaryFileError(path.name, Reason(N_("holds no features")))
    if len(frame) > MAX_POPULATION_FEATURES:
        raise BoundaryFileError(
            path.name,
            Reason(
                N_("{count} features; at most {limit} in a population layer"),
                {"count": f"{MAX_POPULATION_FEATURES:,}+", "limit": f"{MAX_POPULATION_FEATURES:,}"},
            ),
        )
    frame, crs = in_wgs84(frame, path.name)
    if frame.geometry.isna().any() or frame.geometry.is_empty.any():
        bad = int(np.flatnonzero((frame.geometry.isna() | frame.geometry.is_empty).to_numpy())[0]) + 1
        raise BoundaryFileError(
            path.name, Reason(N_("{feature}: no geometry"), {"feature": Reason(N_("feature {number}"), {"number": bad})})
        )
    minx, miny, maxx, maxy = frame.total_bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise BoundaryFileError(
            path.name,
            Reason(
                N_("coordinates fall outside the earth after reprojection from {crs}; is the declared CRS right?"), {"crs": crs}
            ),
        )
    points = _kinds(frame, path.name)
    repaired = 0
    if not points:
        invalid = ~frame.geometry.is_valid.to_numpy()
        repaired = int(invalid.sum())
        if repaired:
            fixed = [_polygonal(shapely.make_valid(g)) for g in frame.geometry[invalid]]
            frame.loc[invalid, frame.geometry.name] = fixed
    columns = [str(c) for c in frame.columns if c != frame.geometry.name]
    if column and column not in columns:
        raise BoundaryFileError(
            path.name,
            Reason(
                N_("no column {column} for the population; columns are {columns}"),
                {"column": repr(column), "columns": ", ".join(columns)},
            ),
        )
    column = column or next((c for c in POPULATION_COLUMNS if c in columns), "")
    if not column:
        raise BoundaryFileError(
            path.name,
            Reason(N_("no column of residents (population); columns are {columns}"), {"columns": ", ".join(columns)})
            if columns
            else Reason(N_("no column of residents (population), nor any other column")),
        )
    bands = _band_columns(frame)
    for key in (column, *bands.values()):
        frame[key] = _counts(frame, key, path.name)
    return PopulationLayer(
        frame=frame, column=column, bands=bands, crs=crs, file_name=path.name, points=points, repaired=repaired
    )


def _csv_points(path: Path, max_bytes: int) -> gpd.GeoDataFrame:
    """A CSV of points (latitude, longitude in WGS 84, residents), read the way import files are."""

    try:
        table = read_table(
            path, limits=ReadLimits(max_bytes=max_bytes, max_rows=MAX_POPULATION_FEATURES, max_cell_chars=1000), required=()
        )
    except ImportFileError as exc:
        raise BoundaryFileError(
            path.name, Reason(N_("cannot be read as a table of points ({detail})"), {"detail": str(exc)})
        ) from None
    if table.rejected:
        first = table.rejected[0]
        raise BoundaryFileError(
            path.name, Reason(N_("row {row} cannot be read ({detail})"), {"row": first.row, "detail": first.reason})
        )
    names = list(table.rows[0]) if table.rows else []
    lat = next((c for c in LATITUDE_COLUMNS if c in names), "")
    lon = next((c for c in LONGITUDE_COLUMNS if c in names), "")
    if not (lat and lon):
        raise BoundaryFileError(
            path.name,
            Reason(
                N_("a CSV of points needs lat and lon columns (WGS 84); columns are {columns}"),
                {"columns": ", ".join(names) or "—"},
            ),
        )
    frame = pd.DataFrame(table.rows)
    y = pd.to_numeric(frame[lat].str.replace(",", ".", regex=False), errors="coerce")
    x = pd.to_numeric(frame[lon].str.replace(",", ".", regex=False), errors="coerce")
    wrong = (y.isna() | x.isna() | ~y.between(-90, 90) | ~x.between(-180, 180)).to_numpy()
    if wrong.any():
        row = table.row_numbers[int(np.flatnonzero(wrong)[0])]
        raise BoundaryFileError(path.name, Reason(N_("row {row} has no latitude and longitude in degrees"), {"row": row}))
    return gpd.GeoDataFrame(frame.drop(columns=[lat, lon]), geometry=gpd.points_from_xy(x, y), crs=4326)


# --- applying a layer to a city's districts -------------------------------------------------


def preview_population(conn: Connection, city_id: int, layer: PopulationLayer) -> PopulationPreview:
    """What the layer gives the city's stored districts; BoundaryFileError for a city without any."""
    districts = load_districts(conn, [city_id])
    if not districts:
        raise BoundaryFileError(
            layer.file_name, Reason(N_("the city has no districts to count residents in; upload its district boundaries first"))
        )
    found, outside = _aggregate(districts, layer.frame, layer.column, layer.file_name)
    source = f"population from {layer.file_name}"
    found = [
        replace(d, population_year=None, source="; ".join(p for p in (_boundary_source(d.source), source) if p)) for d in found
    ]
    bands = tuple(g.id for g in AGE_GROUPS if g.id in layer.bands)
    return PopulationPreview(districts=tuple(found), outside=round(outside), bands=bands)


def _boundary_source(source: str) -> str:
    """The part of a district's source about its boundary (an earlier layer's part is replaced)."""
    return "; ".join(p for p in source.split("; ") if p and not p.startswith("population from "))


def _store(conn: Connection, city_id: int, layer: PopulationLayer) -> tuple[PopulationPreview, int]:
    # Read and written in the same transaction: a boundary upload in between cannot be overwritten
    # by districts read before it. The rows are rewritten, not updated: their new ids move
    # queries.districts_version, so every cached coverage (per 1,000 residents, the ranking) is rebuilt.
    preview = preview_population(conn, city_id, layer)
    before = sum(d.population or 0 for d in load_districts(conn, [city_id]))
    queries.replace_districts(conn, city_id, [d.row() for d in preview.districts])
    return preview, before


def store_population(engine: Engine, city_id: int, layer: PopulationLayer) -> PopulationPreview:
    """Replace the residents of every district of the city by the layer's, in one transaction
    (the command line's path; the page's is :func:`replace_city_population`)."""
    with connection.writing(engine) as conn:
        return _store(conn, city_id, layer)[0]


def replace_city_population(engine: Engine, user: User | None, city_id: int, layer: PopulationLayer, *,
                            now: datetime, command_line: bool = False) -> PopulationPreview:  # fmt: skip
    """:func:`store_population` for a city lead of the city or an admin (:class:`ForbiddenError`
    otherwise), with an audit entry in the same transaction."""

    actor = None if command_line else authorise(user, Action.REPLACE_DISTRICTS, city_id=city_id)
    with connection.writing(engine) as conn:
        preview, before = _store(conn, city_id, layer)
        audit.record(conn, actor=actor, actor_label="command line" if command_line else "", action="replace_population",
                     entity="city", entity_id=city_id, now=now,
                     city_id=city_id, before={"residents": before},
                     after={"residents": preview.inside, "outside": preview.outside, "file": layer.file_name,
                            "crs": layer.crs, "age_bands": list(preview.bands)})  # fmt: skip
    return preview
