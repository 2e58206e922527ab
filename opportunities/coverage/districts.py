"""Coverage: how many opportunities match where, per H3 cell and per district, and where none are.

Each opportunity's H3 cell (at :data:`FINEST_RESOLUTION`) and district are computed once per data
and boundary version (:class:`CoverageIndex`), never per view; a view is then a few vector
operations on the search index's columns (:meth:`OpportunityIndex.mask` applies the filters,
sessions of recurring activities included).

Places known only roughly (a town or postcode centre) would pile up in one cell and make the
centre look rich: a row counts in a cell or district only when its location is known to within
that area's scale (:func:`counted_at`); the others are counted apart, per city.

Deserts are measured in straight lines (great-circle distance) from the centres of small H3 cells
covering the city's districts to the nearest matching opportunity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import h3
import h3.api.numpy_int as h3_int
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from opportunities.coverage.boundaries import District
from opportunities.errors import N_, FieldError, because
from opportunities.explore.index import OpportunityIndex
from opportunities.explore.search import SearchQuery
from opportunities.i18n import format_significant
from opportunities.model import City
from opportunities.vocabulary import AGE_GROUPS_BY_ID, PIN_MAX_UNCERTAINTY_M, TOPICS, Mode, Status

if TYPE_CHECKING:
    import geopandas as gpd

FINEST_RESOLUTION = 9  # cells of about 0.1 km²: finer than any location we count in cells
COARSEST_RESOLUTION = 5
DEFAULT_DESERT_KM = 2.0
MAX_DESERT_KM = 50.0
EARTH_RADIUS_KM = 6371.0088
# A city shown as cells gets about this many at most (its area over the cell area).
TARGET_CELLS = 2000
# A city without districts or a boundary: its grid is a disc of this radius around its centre.
CITY_RADIUS_KM = 8.0
# H3 cell edge length (km) by resolution, from the H3 documentation's table of averages.
EDGE_KM = {5: 8.544, 6: 3.229, 7: 1.220, 8: 0.461, 9: 0.174, 10: 0.066}
_H3_RES_SHIFT = 52
_H3_RES_MASK = np.uint64(0xF << _H3_RES_SHIFT)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class CoverageFilter:
    """Which opportunities count. ``city_ids`` empty: every city."""

    city_ids: tuple[int, ...] = ()
    topics: tuple[str, ...] = ()
    age_group: str = ""
    modes: tuple[Mode, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    free_only: bool = False

    def __post_init__(self) -> None:
        SearchQuery(topics=self.topics, age_group=self.age_group, date_from=self.date_from, date_to=self.date_to)

    def query(self, status: Status) -> SearchQuery:
        return SearchQuery(topics=self.topics, age_group=self.age_group, modes=self.modes, date_from=self.date_from,
                           date_to=self.date_to, free_only=self.free_only, status=status)  # fmt: skip


def check_distance(distance_km: float) -> float:
    if not 0 < distance_km <= MAX_DESERT_KM:
        raise FieldError("distance", because(N_("Give a distance above 0 and at most {limit} km."), limit=MAX_DESERT_KM))
    return distance_km


def parent_cells(cells: npt.NDArray[np.uint64], resolution: int) -> npt.NDArray[np.uint64]:
    """The parents at ``resolution`` of H3 cells at a finer one, as bit operations on the indexes
    (the resolution field set, the finer digits set to 7 as H3 leaves unused digits)."""
    unused = np.uint64((1 << (3 * (15 - resolution))) - 1)
    return (cells & ~_H3_RES_MASK) | np.uint64(resolution << _H3_RES_SHIFT) | unused


def resolution_for_area(area_km2: float) -> int:
    """The finest resolution at which an area this large needs at most about TARGET_CELLS cells."""
    for resolution in range(FINEST_RESOLUTION, COARSEST_RESOLUTION - 1, -1):
        if area_km2 / h3.average_hexagon_area(resolution, "km^2") <= TARGET_CELLS:
            return resolution
    return COARSEST_RESOLUTION


def resolution_for_zoom(zoom: int) -> int:
    """A resolution whose cells are a few dozen pixels wide at this web-map zoom."""
    return int(min(FINEST_RESOLUTION, max(COARSEST_RESOLUTION, zoom - 4)))


def desert_resolution(distance_km: float) -> int:
    """The grid deserts are measured on: cells whose edge is at most a quarter of the distance."""
    for resolution in range(COARSEST_RESOLUTION, 11):
        if EDGE_KM[resolution] <= distance_km / 4:
            return resolution
    return 10


def area_km2(geometry: BaseGeometry) -> float:
    """Area of a lon/lat geometry in km² (equal-area projection around its own centre)."""
    if geometry.is_empty:
        return 0.0
    centre = geometry.centroid
    scale_x = math.cos(math.radians(centre.y)) * math.pi * EARTH_RADIUS_KM / 180
    scale_y = math.pi * EARTH_RADIUS_KM / 180
    return float(shapely.transform(geometry, lambda xy: xy * np.array([scale_x, scale_y])).area)


def _unit_vectors(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


def _chord(distance_km: float) -> float:
    return 2 * math.sin(distance_km / (2 * EARTH_RADIUS_KM))


def _arc_km(chord: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, chord / 2)), dtype=np.float64)


@dataclass(frozen=True)
class DistrictSet:
    """Districts as columns; a point's district is a position in these."""

    ids: IntArray
    city_id: npt.NDArray[np.int32]
    names: tuple[str, ...]
    geometries: npt.NDArray[np.object_]
    population: npt.NDArray[np.float64]  # NaN when not known
    population_by_age: tuple[Mapping[str, int], ...]
    scale_m: npt.NDArray[np.float64]  # half the side of a square of the district's area

    @classmethod
    def of(cls, districts: Sequence[District]) -> DistrictSet:
        geometries = np.array([d.geometry for d in districts] + [None], dtype=object)[:-1]
        areas = np.array([area_km2(d.geometry) for d in districts], dtype=np.float64)
        return cls(
            ids=np.array([d.id or 0 for d in districts], dtype=np.int64),
            city_id=np.array([d.city_id or 0 for d in districts], dtype=np.int32),
            names=tuple(d.name for d in districts),
            geometries=geometries,
            population=np.array([np.nan if d.population is None else d.population for d in districts], dtype=np.float64),
            population_by_age=tuple(d.population_by_age for d in districts),
            scale_m=np.sqrt(areas) * 500.0,
        )

    def __len__(self) -> int:
        return len(self.ids)

    def of_cities(self, city_ids: Sequence[int]) -> IntArray:
        """Positions of the districts of these cities (every district when empty)."""
        if not city_ids:
            return np.arange(len(self), dtype=np.int64)
        return np.flatnonzero(np.isin(self.city_id, list(city_ids))).astype(np.int64)

    def locate(self, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
        """Each point's district position, -1 outside all. A point on a shared edge (or in two
        overlapping districts) belongs to the first of them, so it is counted once."""
        found = np.full(len(lat), -1, dtype=np.int32)
        located = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon))
        if not len(self) or not len(located):
            return found
        tree = shapely.STRtree(self.geometries)
        point_at, district_at = tree.query(shapely.points(lon[located], lat[located]), predicate="intersects")
        first = np.full(len(located), np.iinfo(np.int32).max, dtype=np.int64)
        np.minimum.at(first, point_at, district_at)
        hit = first < np.iinfo(np.int32).max
        found[located[hit]] = first[hit]
        return found


@dataclass(frozen=True)
class _Part:
    """One status's opportunities with their cell and district."""

    index: OpportunityIndex
    cell: npt.NDArray[np.uint64]  # H3 cell at FINEST_RESOLUTION; 0 without coordinates
    district: npt.NDArray[np.int32]  # position in the DistrictSet; -1 outside every district
    scale_ok: npt.NDArray[np.float64]  # how far off the location may be, in metres (inf: no place)


@dataclass(frozen=True)
class CoverageIndex:
    """Cells and districts of every opportunity of the statuses asked for; build once per data
    version and boundary version (see :meth:`build`)."""

    parts: tuple[_Part, ...]
    districts: DistrictSet
    cities: Mapping[int, City]

    @classmethod
    def build(cls, indexes: Sequence[OpportunityIndex], districts: Sequence[District], cities: Sequence[City]) -> CoverageIndex:
        district_set = DistrictSet.of(districts)
        parts = []
        for index in indexes:
            lat, lon = index.latitude, index.longitude
            located = np.isfinite(lat) & np.isfinite(lon)
            cell = np.zeros(len(index), dtype=np.uint64)
            rows = np.flatnonzero(located)
            cell[rows] = np.fromiter(
                (h3_int.latlng_to_cell(a, b, FINEST_RESOLUTION) for a, b in zip(lat[rows].tolist(), lon[rows].tolist(), strict=True)),
                dtype=np.uint64, count=len(rows),
            )  # fmt: skip
            # Unknown uncertainty: an exact pin counts as exact, an approximate one as a town centre.
            off = np.where(index.uncertainty_m >= 0, index.uncertainty_m.astype(np.float64),
                           np.where(index.approximate, math.inf, float(PIN_MAX_UNCERTAINTY_M)))  # fmt: skip
            off = np.where(located, off, math.inf)
            parts.append(_Part(index=index, cell=cell, district=district_set.locate(lat, lon), scale_ok=off))
        return cls(parts=tuple(parts), districts=district_set, cities={c.id: c for c in cities if c.id is not None})

    @property
    def statuses(self) -> tuple[Status, ...]:
        return tuple(p.index.status for p in self.parts)

    def _masks(self, filt: CoverageFilter, *, in_cities: bool = True) -> list[BoolArray]:
        masks = []
        for part in self.parts:
            keep = part.index.mask(filt.query(part.index.status))
            if in_cities and filt.city_ids:
                keep &= np.isin(part.index.city_id, list(filt.city_ids))
            masks.append(keep)
        return masks

    # --- counts ---------------------------------------------------------------------------

    def cell_counts(self, filt: CoverageFilter, resolution: int) -> pd.DataFrame:
        """Matching opportunities per H3 cell at ``resolution`` (cells with none are left out):
        columns ``cell`` (H3 string), ``count`` and one per topic. Only rows located to within the
        cell's edge length count; see :meth:`apart`."""
        if not COARSEST_RESOLUTION <= resolution <= FINEST_RESOLUTION:
            raise FieldError(
                "resolution",
                because(N_("Give a whole number from {low} to {high}."), low=COARSEST_RESOLUTION, high=FINEST_RESOLUTION),
            )
        scale_m = EDGE_KM[resolution] * 1000
        cells, topics = [], []
        for part, keep in zip(self.parts, self._masks(filt), strict=True):
            rows = np.flatnonzero(keep & (part.scale_ok <= scale_m))
            cells.append(parent_cells(part.cell[rows], resolution))
            topics.append(part.index.topics[rows])
        return _tally(np.concatenate(cells), np.concatenate(topics))

    def district_counts(self, filt: CoverageFilter) -> pd.DataFrame:
        """Matching opportunities per district of the filter's cities, empty districts included:
        columns ``district_id``, ``district``, ``city_id``, ``population``, ``count``, one per topic
        and ``per_1000`` (per 1,000 residents, of the age group's band when known)."""
        positions = self.districts.of_cities(filt.city_ids)
        where, topics = [], []
        for part, keep in zip(self.parts, self._masks(filt, in_cities=False), strict=True):
            rows = np.flatnonzero(keep & (part.district >= 0))
            rows = rows[part.scale_ok[rows] <= self.districts.scale_m[part.district[rows]]]
            where.append(part.district[rows])
            topics.append(part.index.topics[rows])
        district = np.concatenate(where) if where else np.zeros(0, dtype=np.int32)
        topic_bits = np.concatenate(topics) if topics else np.zeros(0, dtype=np.uint16)
        n = len(self.districts)
        frame = pd.DataFrame(
            {
                "district_id": self.districts.ids[positions],
                "district": [self.districts.names[i] for i in positions],
                "city_id": self.districts.city_id[positions],
                "population": self.districts.population[positions],
                "count": np.bincount(district, minlength=n)[positions],
            }
        )
        for bit, topic in enumerate(TOPICS):
            has = (topic_bits & np.uint16(1 << bit)) != 0
            frame[topic] = np.bincount(district[has], minlength=n)[positions]
        residents = self._residents(positions, filt.age_group)
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["residents"] = residents
            frame["per_1000"] = np.where(residents > 0, frame["count"] * 1000 / residents, np.nan)
        return frame

    def _residents(self, positions: IntArray, age_group: str) -> npt.NDArray[np.float64]:
        """Residents of each district: of the age group's band when the district has it."""
        total = self.districts.population[positions].copy()
        if age_group and age_group in AGE_GROUPS_BY_ID:
            for k, i in enumerate(positions.tolist()):
                band = self.districts.population_by_age[i].get(age_group)
                if band is not None:
                    total[k] = band
        return total

    def apart(self, filt: CoverageFilter, scale_m: float) -> pd.DataFrame:
        """Per city of the filter: matching rows not counted at this scale: ``approximate`` (a
        place known less well than ``scale_m``) and ``online`` (no place)."""
        found: dict[int, list[int]] = {}
        for part, keep in zip(self.parts, self._masks(filt), strict=True):
            no_place = ~(np.isfinite(part.index.latitude))
            rough = keep & ~no_place & (part.scale_ok > scale_m)
            online = keep & no_place
            for name, which in (("approximate", rough), ("online", online)):
                ids, counts = np.unique(part.index.city_id[which], return_counts=True)
                for cid, count in zip(ids.tolist(), counts.tolist(), strict=True):
                    found.setdefault(cid, [0, 0])[0 if name == "approximate" else 1] += count
        rows = [
            {"city_id": cid, "city": self.cities[cid].name if cid in self.cities else str(cid), "approximate": a, "online": o}
            for cid, (a, o) in sorted(found.items())
        ]
        return pd.DataFrame(rows, columns=["city_id", "city", "approximate", "online"])

    # --- deserts --------------------------------------------------------------------------

    def area(self, city_ids: Sequence[int]) -> BaseGeometry:
        """What the cities cover: their districts, else their boundary, else a disc around the centre."""
        shapes = []
        for cid in city_ids:
            positions = self.districts.of_cities([cid])
            if len(positions):
                shapes.append(shapely.union_all(self.districts.geometries[positions]))
                continue
            city = self.cities.get(cid)
            if city is None:
                continue
            if city.boundary:
                shapes.append(shapely.from_geojson(city.boundary))
            else:
                shapes.append(_disc(city.latitude, city.longitude, CITY_RADIUS_KM))
        return shapely.union_all(shapes) if shapes else shapely.Polygon()

    def deserts(
        self, filt: CoverageFilter, distance_km: float = DEFAULT_DESERT_KM, resolution: int | None = None
    ) -> pd.DataFrame:
        """Every H3 cell covering the filter's cities with the straight-line distance from its
        centre to the nearest matching opportunity (``nearest_km``, inf beyond 4 × the distance)
        and ``desert`` when that is more than ``distance_km``. Columns: ``cell``, ``lat``, ``lon``,
        ``district_id`` (0 outside all), ``nearest_km``, ``desert``."""
        check_distance(distance_km)
        if not filt.city_ids:
            raise FieldError("city", because(N_("Choose a city.")))
        resolution = desert_resolution(distance_km) if resolution is None else resolution
        area = self.area(filt.city_ids)
        cells = grid_cells(area, resolution)
        lat = np.array([h3.cell_to_latlng(c)[0] for c in cells], dtype=np.float64)
        lon = np.array([h3.cell_to_latlng(c)[1] for c in cells], dtype=np.float64)
        nearest = self.nearest_km(filt, lat, lon, distance_km, search_km=4 * distance_km)
        positions = self.districts.locate(lat, lon)
        # No district anywhere (a database without boundaries): every cell is outside one.
        ids = self.districts.ids if len(self.districts.ids) else np.zeros(1, dtype=np.int64)
        district_id = np.where(positions >= 0, ids[np.maximum(positions, 0)], 0)
        return pd.DataFrame({"cell": cells, "lat": lat, "lon": lon, "district_id": district_id,
                             "nearest_km": nearest, "desert": nearest > distance_km})  # fmt: skip

    def nearest_km(self, filt: CoverageFilter, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64],
                   distance_km: float, search_km: float) -> npt.NDArray[np.float64]:  # fmt: skip
        """Distance from each place to the nearest matching opportunity located to within half of
        ``distance_km`` (any city's: a resident may cross the border), inf beyond ``search_km``."""
        if not len(lat):
            return np.zeros(0, dtype=np.float64)
        margin = search_km / 111.0
        lat_lo, lat_hi = lat.min() - margin, lat.max() + margin
        widest = max(abs(lat_lo), abs(lat_hi))
        lon_margin = margin / max(0.05, math.cos(math.radians(min(89.0, widest))))
        lon_lo, lon_hi = lon.min() - lon_margin, lon.max() + lon_margin
        points = []
        for part, keep in zip(self.parts, self._masks(filt, in_cities=False), strict=True):
            plat, plon = part.index.latitude, part.index.longitude
            with np.errstate(invalid="ignore"):
                near = (
                    keep
                    & (part.scale_ok <= distance_km * 500)
                    & (plat >= lat_lo)
                    & (plat <= lat_hi)
                    & (plon >= lon_lo)
                    & (plon <= lon_hi)
                )
            points.append(np.column_stack((plat[near], plon[near])))
        found = np.unique(np.concatenate(points), axis=0) if points else np.zeros((0, 2))
        if not len(found):
            return np.full(len(lat), math.inf)
        tree = cKDTree(_unit_vectors(found[:, 0], found[:, 1]))
        chord, _ = tree.query(_unit_vectors(lat, lon), k=1, distance_upper_bound=_chord(search_km))
        return np.where(np.isfinite(chord), _arc_km(np.where(np.isfinite(chord), chord, 0.0)), math.inf)

    def district_deserts(self, filt: CoverageFilter, distance_km: float = DEFAULT_DESERT_KM) -> pd.DataFrame:
        """:meth:`district_counts` with, per district, ``desert_share`` (share of its grid cells
        farther than ``distance_km`` from a matching opportunity), ``residents_in_desert``
        (residents × that share: people are taken as spread evenly over the district),
        ``farthest_km`` and ``desert`` (every part of it is that far)."""
        frame = self.district_counts(filt)
        cells = self.deserts(filt, distance_km)
        inside = cells[cells["district_id"] != 0]
        share = inside.groupby("district_id")["desert"].mean()
        farthest = inside.groupby("district_id")["nearest_km"].max()
        frame["desert_share"] = frame["district_id"].map(share).fillna(0.0).astype(float)
        frame["farthest_km"] = frame["district_id"].map(farthest).astype(float)
        frame["residents_in_desert"] = (frame["residents"] * frame["desert_share"]).round()
        frame["desert"] = frame["desert_share"] >= 1.0
        return frame


def _tally(cells: npt.NDArray[np.uint64], topics: npt.NDArray[np.uint16]) -> pd.DataFrame:
    """Count per cell, in total and per topic."""
    unique, inverse, counts = np.unique(cells, return_inverse=True, return_counts=True)
    frame = pd.DataFrame({"cell": [h3_int.int_to_str(int(c)) for c in unique.tolist()], "count": counts})
    for bit, topic in enumerate(TOPICS):
        has = (topics & np.uint16(1 << bit)) != 0
        frame[topic] = np.bincount(inverse[has], minlength=len(unique))
    return frame


def grid_cells(area: BaseGeometry, resolution: int) -> list[str]:
    """The H3 cells whose centre lies in ``area`` (each cell once, even where polygons touch)."""
    if area.is_empty:
        return []
    return sorted(set(h3.geo_to_cells(area, resolution)))


def _disc(lat: float, lon: float, radius_km: float) -> BaseGeometry:
    dlat = radius_km / 111.0
    dlon = dlat / max(0.05, math.cos(math.radians(lat)))
    circle = shapely.Point(0, 0).buffer(1.0, 32)
    return shapely.transform(circle, lambda xy: xy * np.array([dlon, dlat]) + np.array([lon, lat]))


# --- the ranked table ----------------------------------------------------------------------

REASON_NONE_WITHIN = N_("no matching opportunity within {distance} km")
REASON_PART_BEYOND = N_("{share} % of the area is more than {distance} km from a matching opportunity")
REASON_RATE = N_("{rate} per 1,000 residents against a city median of {median}")
REASON_NO_POPULATION = N_("population not known")


def ranked(frame: pd.DataFrame, distance_km: float, translate: Callable[[str], str] = str, language: str = "en") -> pd.DataFrame:
    """The districts of :meth:`CoverageIndex.district_deserts`, worst served first, each with a
    ``reason``: most residents in deserts first, then fewest opportunities per 1,000 residents.
    ``translate`` words the reasons and ``language`` writes their numbers (``0,0092`` in Swedish)."""
    result = frame.copy()
    medians = result.groupby("city_id")["per_1000"].median()
    result["city_median"] = result["city_id"].map(medians)
    result["sort_residents"] = result["residents_in_desert"].fillna(-1)
    result["sort_share"] = result["desert_share"]
    result["sort_rate"] = result["per_1000"].fillna(math.inf)
    result = result.sort_values(["sort_residents", "sort_share", "sort_rate", "district"], ascending=[False, False, True, True])
    result["reason"] = [_reason(row, distance_km, translate, language) for row in result.itertuples()]
    result = result.drop(columns=["sort_residents", "sort_share", "sort_rate"]).reset_index(drop=True)
    result.insert(0, "rank", range(1, len(result) + 1))
    return result


def _reason(row: object, distance_km: float, translate: Callable[[str], str], language: str) -> str:
    parts = []
    distance = format_significant(distance_km, language)
    share = float(getattr(row, "desert_share", 0.0))
    if share >= 1.0:
        parts.append(translate(REASON_NONE_WITHIN).format(distance=distance))
    elif share > 0:
        parts.append(translate(REASON_PART_BEYOND).format(share=round(share * 100), distance=distance))
    rate, median = getattr(row, "per_1000", math.nan), getattr(row, "city_median", math.nan)
    if isinstance(rate, float) and math.isfinite(rate):
        median_text = format_significant(median, language) if isinstance(median, float) else "–"
        parts.append(translate(REASON_RATE).format(rate=format_significant(rate, language), median=median_text))
    else:
        parts.append(translate(REASON_NO_POPULATION))
    return "; ".join(parts)


# --- layers for maps and exports -------------------------------------------------------------


def open_coverage(conn: Connection, cache_dir: Path, statuses: Sequence[Status] = (Status.PUBLISHED,)) -> CoverageIndex:
    """The coverage of the opportunities of ``statuses`` as the data and boundaries are now (the
    search index is read from its snapshot; cells and districts are assigned here, once)."""
    from opportunities.coverage.boundaries import load_districts
    from opportunities.db.queries import list_cities

    indexes = [OpportunityIndex.cached(conn, cache_dir, status) for status in statuses]
    return CoverageIndex.build(indexes, load_districts(conn), list_cities(conn))


def city_ids_named(coverage: CoverageIndex, names: Sequence[str]) -> tuple[int, ...]:
    """Ids of the cities with these names (case- and accent-insensitive); FieldError for an unknown one."""
    from opportunities.text import fold

    by_key = {fold(c.name): cid for cid, c in coverage.cities.items()}
    missing = [n for n in names if fold(n) not in by_key]
    if missing:
        raise FieldError("city", because(N_("no city named {value}"), value=repr(missing[0])))
    return tuple(by_key[fold(n)] for n in names)


def coverage_layer(coverage: CoverageIndex, filt: CoverageFilter, *, by: str, distance_km: float = DEFAULT_DESERT_KM,
                   resolution: int | None = None) -> gpd.GeoDataFrame:  # fmt: skip
    """The coverage as a GeoDataFrame in EPSG:4326, for maps and exports.

    ``by="district"``: the ranked districts (:func:`ranked`) with their polygons. ``by="cell"``:
    every H3 cell of the cities' area with ``count``, counts per topic, ``nearest_km`` and ``desert``.
    """
    import geopandas as gpd

    if by == "district":
        frame = ranked(coverage.district_deserts(filt, distance_km), distance_km)
        positions = {int(i): k for k, i in enumerate(coverage.districts.ids.tolist())}
        geometry = [coverage.districts.geometries[positions[int(i)]] for i in frame["district_id"]]
        frame["city"] = [coverage.cities[int(c)].name if int(c) in coverage.cities else "" for c in frame["city_id"]]
        return _without_gaps(gpd.GeoDataFrame(frame, geometry=geometry, crs=4326))
    if by != "cell":
        raise FieldError("by", because(N_("{value} is not one of: {limit}"), value=repr(by), limit="district, cell"))
    if resolution is None:
        resolution = resolution_for_area(area_km2(coverage.area(filt.city_ids))) if filt.city_ids else 7
    counts = coverage.cell_counts(filt, resolution)
    grid = coverage.deserts(filt, distance_km, resolution) if filt.city_ids else pd.DataFrame({"cell": counts["cell"]})
    frame = grid.merge(counts, on="cell", how="outer")
    for column in ("count", *TOPICS):
        frame[column] = frame[column].fillna(0).astype(int)
    if "desert" in frame:
        frame["desert"] = frame["desert"].astype("boolean").fillna(False).astype(bool)
    geometry = [shapely.Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(c)]) for c in frame["cell"]]
    return _without_gaps(gpd.GeoDataFrame(frame, geometry=geometry, crs=4326))


def _without_gaps(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Distances beyond the search (inf) as unknown (NaN), which exports write as empty or null."""
    for column in layer.columns:
        if column != "geometry" and layer[column].dtype.kind == "f":
            layer[column] = layer[column].replace([math.inf, -math.inf], np.nan)
    return layer


def layer_geojson(layer: gpd.GeoDataFrame) -> str:
    """The layer as a GeoJSON FeatureCollection; unknown figures are null (RFC 7946 has no NaN)."""
    return str(layer.to_json(na="null", show_bbox=False, drop_id=True, ensure_ascii=False))
