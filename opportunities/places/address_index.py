"""The offline street-level address index: address points a city brings, compact and memory-mapped.

Loaded with ``python -m opportunities addresses load FILE...`` from a CSV of address points
(``street,housenumber,postcode,city,lat,lon``, WGS84 degrees: the shape Slovenia's GURS, Poland's
PRG and Sweden's Lantmäteriet publish) or an OpenStreetMap extract (``.osm``, ``.osm.pbf``: nodes
and building ways with ``addr:*`` tags, read through pyosmium).

Every file is an *area* (by default its file name without the extension). Its points are kept in
``sources/<area>/``; loading a file of the same area again replaces them, and the same file
unchanged is skipped. The index in ``index/`` is every area's points in one sorted table:
64-bit hashes of ``country|street key`` (:func:`opportunities.places.addresses.street_key`), house
number and suffix, postcode, town and coordinates, in ``.npy`` files that are memory-mapped when
opened. A file that is malformed, in another coordinate system or far outside its country is
rejected as a whole, with the reason, and changes nothing.

A lookup (:meth:`AddressIndex.locate`) finds the street among the points of the stated postcode,
town, or within :data:`ADDRESS_SCOPE_KM` of the city, then:

- the exact house number → precision ``address``, known to :data:`ADDRESS_POINT_UNCERTAINTY_M`;
- the same number with another letter (``14`` for ``14a``) → precision ``street``, that point;
- else between the street's nearest house numbers on the same side (same parity), interpolated
  → ``street``, as far off as the gap between them;
- else, beyond the known numbers, on along the line of the two nearest (at most
  :data:`MAX_EXTRAPOLATION_M`) → ``street``, as far off as that run and gap;
- else the street's middle → ``street``, as far off as the street's known points reach, times three.

A street the address names by one word, when the index knows it only by a longer name
(``ul. Zajączka`` for ``gen. Józefa Zajączka``), is found by the last word of the name, when one
street of the postcode (else of the town) ends in it.

A postcode that no point of the street has still picks the stretch of street nearest to the
postcode's point, and a street more than :data:`STREET_STRETCH_KM` beyond the postcode's area is
another street of that name (Warsaw has an Orla in Śródmieście and one in Wesoła): no match.
The uncertainties were set on held-out real addresses (``benchmarks/address_holdout.py``) so that
they cover the true point for about nine in ten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from opportunities.errors import AddressFileError
from opportunities.places.addresses import normalise_postcode, parse_address, parse_house_number, street_key, town_key
from opportunities.text import fold
from opportunities.vocabulary import Precision

if TYPE_CHECKING:
    import pandas as pd

    from opportunities.places.gazetteer import Gazetteer

INDEX_VERSION = "2"  # 2: rows by the last word of the street name
CSV_COLUMNS = ("street", "housenumber", "postcode", "city", "lat", "lon")
# A register's house-number point lies on its building: a few tens of metres from any entrance.
ADDRESS_POINT_UNCERTAINTY_M = 30
# Another letter of the same number (14 for 14a) is the next building, or the same one.
NEAR_NUMBER_UNCERTAINTY_M = 250
# An interpolated number is somewhere between its neighbours: this share of the gap between them,
# at least INTERPOLATION_MIN_M (the street's width and the buildings' depth).
INTERPOLATION_GAP_SHARE = 1.0
INTERPOLATION_MIN_M = 100
# A number beyond the street's known ones: on along the line of the two nearest, at most this far,
# as far off as that run (times this) plus the gap between the two.
MAX_EXTRAPOLATION_M = 1000
EXTRAPOLATION_RUN_SHARE = 1.5
# No number, or no two on one side: the street's middle, as far off as its known
# points reach plus this, and never less than STREET_MIN_M; a street known by one point, this.
STREET_MARGIN_M = 500
STREET_REACH_FACTOR = 3.0
STREET_MIN_M = 300
SINGLE_POINT_STREET_M = 900
# Points of a street further apart than this from the part meant are another street of that name.
STREET_STRETCH_KM = 5.0
# A street counts as the city's when it lies this close to the city's centre (the postcode or the
# town named in the address also count).
ADDRESS_SCOPE_KM = 30.0
# Points may lie this far outside their country's extent in the gazetteer (degrees).
COUNTRY_MARGIN_DEG = 0.3
_METRES_PER_DEGREE = 111_320.0
_CSV_CHUNK_ROWS = 200_000
_OSM_PROGRESS_EVERY = 100_000
_LEFTOVER_S = 3600

Progress = Callable[[str, int], None]  # (file name, points read so far)


@lru_cache(maxsize=65536)
def _hash(text: str) -> int:
    """A 64-bit key of a text; 0 stands for "none"."""
    if not text:
        return 0
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") or 1


def _hashes(texts: Iterable[str]) -> npt.NDArray[np.uint64]:
    return np.fromiter((_hash(t) for t in texts), dtype=np.uint64)


@dataclass(frozen=True)
class AddressMatch:
    """Where the index places an address, how exactly, and which area's points said so."""

    latitude: float
    longitude: float
    precision: Precision
    uncertainty_m: int
    area: str
    method: str = "exact"  # exact, letter (another letter of the number), interpolated, middle


@dataclass(frozen=True)
class LoadReport:
    """What loading one file did."""

    path: Path
    area: str
    country: str
    points: int
    skipped: int  # rows without a usable street or house number
    replaced: int  # points of the area's earlier file, now gone
    unchanged: bool = False  # the same file was loaded before: nothing done


@dataclass
class _Points:
    """Raw columns of one file, before they are turned into keys."""

    street: list[str] = field(default_factory=list)
    housenumber: list[str] = field(default_factory=list)
    postcode: list[str] = field(default_factory=list)
    city: list[str] = field(default_factory=list)
    lat: list[float] = field(default_factory=list)
    lon: list[float] = field(default_factory=list)


# --- reading files -------------------------------------------------------------------------


# An address file needs five columns; one with thousands is refused before it fills the memory.
MAX_COLUMNS = 200
MAX_HEADER_CHARS = 100_000


def _is_osm(path: Path) -> bool:
    return path.name.lower().endswith((".osm", ".osm.pbf", ".pbf", ".osm.bz2", ".osm.gz"))


def _read_csv(path: Path, progress: Progress | None) -> pd.DataFrame:
    import pandas as pd

    try:
        with path.open(encoding="utf-8-sig") as fh:
            header = fh.readline(MAX_HEADER_CHARS + 1)
    except UnicodeDecodeError:
        raise AddressFileError(f"{path.name}: not UTF-8 text; save it as UTF-8 CSV") from None
    separator = ";" if header.count(";") > header.count(",") else ","
    columns = [c.strip().lower() for c in header.strip().split(separator)]
    if len(header) > MAX_HEADER_CHARS or len(columns) > MAX_COLUMNS:  # refused before a row is read
        raise AddressFileError(
            f"{path.name}: more than {MAX_COLUMNS} columns; an address file needs only {','.join(CSV_COLUMNS)}"
        )
    missing = [c for c in CSV_COLUMNS if c not in columns]
    if missing:
        raise AddressFileError(
            f"{path.name}: missing column(s) {', '.join(missing)}; an address file has the columns "
            f"{','.join(CSV_COLUMNS)} (coordinates in WGS84 degrees)"
        )
    chunks = []
    read = 0
    try:
        reader = pd.read_csv(path, sep=separator, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                             chunksize=_CSV_CHUNK_ROWS, skipinitialspace=True,
                             usecols=lambda c: str(c).strip().lower() in CSV_COLUMNS)  # fmt: skip
        for chunk in reader:
            chunk.columns = [str(c).strip().lower() for c in chunk.columns]
            chunks.append(chunk[list(CSV_COLUMNS)])
            read += len(chunk)
            if progress is not None:
                progress(path.name, read)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise AddressFileError(f"{path.name}: cannot be read as CSV ({str(exc).splitlines()[0]})") from None
    if not read:
        raise AddressFileError(f"{path.name}: holds no address rows")
    frame = pd.concat(chunks, ignore_index=True)
    for name in ("lat", "lon"):
        text = frame[name].str.strip().str.replace(",", ".", regex=False)
        values = pd.to_numeric(text, errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy() | ~np.isfinite(values.to_numpy(dtype=float)))
        if len(bad):
            rows = ", ".join(str(int(i) + 2) for i in bad[:5])
            raise AddressFileError(f"{path.name}: {name} is not a number on line(s) {rows}{' and more' if len(bad) > 5 else ''}")
        frame[name] = values.astype(float)
    empty = np.flatnonzero((frame["street"].str.strip() == "").to_numpy())
    if len(empty) == len(frame):
        raise AddressFileError(f"{path.name}: every street is empty")
    return frame


def _read_osm(path: Path, progress: Progress | None) -> pd.DataFrame:
    """Nodes, and building ways (at the mean of their nodes), that have addr:housenumber."""
    import osmium
    import pandas as pd

    points = _Points()
    seen = 0
    try:
        processor = osmium.FileProcessor(str(path)).with_locations()
        for obj in processor:
            seen += 1
            if progress is not None and seen % _OSM_PROGRESS_EVERY == 0:
                progress(path.name, len(points.lat))
            tags = obj.tags
            if "addr:housenumber" not in tags:
                continue
            if isinstance(obj, osmium.osm.Node):
                if not obj.location.valid():
                    continue
                lat, lon = obj.location.lat, obj.location.lon
            elif isinstance(obj, osmium.osm.Way) and "building" in tags:
                coords = [(n.lat, n.lon) for n in obj.nodes if n.location.valid()]
                if len(coords) > 1 and coords[0] == coords[-1]:
                    coords = coords[:-1]  # a closed way repeats its first node
                if not coords:
                    continue
                lat = sum(c[0] for c in coords) / len(coords)
                lon = sum(c[1] for c in coords) / len(coords)
            else:
                continue
            points.street.append(tags.get("addr:street") or tags.get("addr:place") or "")
            points.housenumber.append(tags.get("addr:housenumber") or "")
            points.postcode.append(tags.get("addr:postcode") or "")
            points.city.append(tags.get("addr:city") or tags.get("addr:place") or "")
            points.lat.append(lat)
            points.lon.append(lon)
    except RuntimeError as exc:  # pyosmium's parse errors
        raise AddressFileError(f"{path.name}: cannot be read as OpenStreetMap data ({exc})") from None
    if progress is not None:
        progress(path.name, len(points.lat))
    if not points.lat:
        raise AddressFileError(f"{path.name}: holds no nodes or buildings with addr:housenumber")
    return pd.DataFrame({"street": points.street, "housenumber": points.housenumber, "postcode": points.postcode,
                         "city": points.city, "lat": points.lat, "lon": points.lon})  # fmt: skip


def read_points(path: Path, progress: Progress | None = None) -> pd.DataFrame:
    """The address points of a CSV or OSM file, as text columns and float coordinates.

    Raises :class:`AddressFileError` when the file cannot be read or misses columns.
    """
    if not path.is_file():
        raise AddressFileError(f"{path} does not exist")
    return _read_osm(path, progress) if _is_osm(path) else _read_csv(path, progress)


def _check_coordinates(name: str, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64],
                       gazetteer: Gazetteer, country: str | None) -> str:  # fmt: skip
    """The country the points lie in (``country`` when given); raises when they cannot be used."""
    out = np.flatnonzero((np.abs(lat) > 90) | (np.abs(lon) > 180))
    if len(out):
        i = int(out[0])
        raise AddressFileError(
            f"{name}: coordinates {lat[i]:g}, {lon[i]:g} are not degrees; they look projected (metres "
            "in a national grid such as EPSG:3794, EPSG:2180 or SWEREF 99 TM). Convert them to WGS84 "
            "latitude and longitude (EPSG:4326)"
        )
    mid_lat, mid_lon = float(np.median(lat)), float(np.median(lon))
    if country is None:
        found = gazetteer.country_at(mid_lat, mid_lon)
        if found is None:
            raise AddressFileError(f"{name}: the points lie in no known country; give --country")
        country = found
    bounds = gazetteer.country_bounds(country)
    if bounds is None:
        raise AddressFileError(f"{name}: {country} is not a country the gazetteer knows")
    lat0, lon0, lat1, lon1 = bounds
    m = COUNTRY_MARGIN_DEG
    outside = np.flatnonzero((lat < lat0 - m) | (lat > lat1 + m) | (lon < lon0 - m) | (lon > lon1 + m))
    if len(outside):
        i = int(outside[0])
        swapped = lat0 - m <= lon[i] <= lat1 + m and lon0 - m <= lat[i] <= lon1 + m
        hint = "latitude and longitude look swapped" if swapped else "check the coordinates and the country"
        raise AddressFileError(
            f"{name}: {len(outside)} point(s) lie far outside {country}, the first at line {i + 2} "
            f"({lat[i]:g}, {lon[i]:g}); {hint}"
        )
    return country


def _columns(frame: pd.DataFrame, country: str) -> tuple[dict[str, Any], dict[str, int], int]:
    """The keyed columns of a file's points, its city names with their counts, and rows skipped."""
    import pandas as pd

    street = frame["street"].str.strip()
    # Parsed as the geocoder parses a query: each distinct house number once.
    house_codes, house_uniques = pd.factorize(frame["housenumber"])
    parsed = [parse_house_number(str(h)) for h in house_uniques]
    numbers = np.array([p.number if p else -1 for p in parsed] + [-1], dtype=np.int32)[house_codes]
    suffixes = np.append(_hashes(p.suffix if p else "" for p in parsed), np.uint64(0))[house_codes]
    keep = (street != "").to_numpy() & (numbers >= 0)
    frame, street = frame[keep], street[keep]
    number, suffix = numbers[keep], suffixes[keep]
    codes, uniques = pd.factorize(street)
    keys = [street_key(s, country) for s in uniques]
    street_hash = _hashes(f"{country}|{k}" for k in keys)[codes]
    # The last word of a longer name, for addresses that give only that ("Zajączka" for "gen.
    # Józefa Zajączka"); 0 for one-word names.
    short_hash = _hashes(f"{country}|{k.rsplit(' ', 1)[1]}" if " " in k else "" for k in keys)[codes]
    pc_codes, pc_uniques = pd.factorize(frame["postcode"].str.strip())
    postcode = _hashes(normalise_postcode(p, country) or re.sub(r"\W", "", p) for p in pc_uniques)[pc_codes]
    city_codes, city_uniques = pd.factorize(frame["city"].str.strip())
    town = _hashes(town_key(c) for c in city_uniques)[city_codes]
    counts = np.bincount(city_codes[city_codes >= 0], minlength=len(city_uniques))
    cities = {str(name) or "?": int(n) for name, n in zip(city_uniques, counts, strict=True)}
    columns = {
        "street": street_hash, "short": short_hash, "number": number, "suffix": suffix.astype(np.uint64), "postcode": postcode,
        "town": town, "lat": frame["lat"].to_numpy(dtype=np.float64), "lon": frame["lon"].to_numpy(dtype=np.float64),
    }  # fmt: skip
    return columns, cities, int((~keep).sum())


# --- the stored index ------------------------------------------------------------------------


def _file_digest(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _area_name(text: str) -> str:
    name = re.sub(r"[^0-9a-z_-]+", "-", fold(text).replace(" ", "-")).strip("-")[:60]
    if not name:
        raise AddressFileError(f"{text!r} cannot name an area; use letters and digits")
    return name


def default_area(path: Path) -> str:
    """The area a file stands for by default: its name without extensions (``warszawa_addresses``)."""
    name = path.name
    for ending in (".osm.pbf", ".osm.bz2", ".osm.gz", ".osm", ".pbf", ".csv"):
        if name.lower().endswith(ending):
            name = name[: -len(ending)]
            break
    return _area_name(name)


def _replace_folder(new: Path, target: Path) -> None:
    """Put ``new`` where ``target`` is: the old one is moved aside first, then removed. A process
    that memory-mapped the old files keeps reading them."""
    if target.exists():
        aside = Path(tempfile.mkdtemp(prefix=".addresses-old-", dir=target.parent))
        os.replace(target, aside / "old")
        os.rename(new, target)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.rename(new, target)


def _remove_leftovers(folder: Path) -> None:
    stale_before = time.time() - _LEFTOVER_S
    for leftover in folder.glob(".addresses-*"):
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime < stale_before:
                shutil.rmtree(leftover, ignore_errors=True)


_COLUMNS = ("street", "short", "number", "suffix", "postcode", "town", "lat", "lon")


def load_files(
    paths: Sequence[Path],
    directory: Path,
    gazetteer: Gazetteer,
    *,
    country: str | None = None,
    area: str | None = None,
    progress: Progress | None = None,
) -> list[LoadReport]:
    """Load address files into the index in ``directory``; one area per file.

    Every file is read and checked before anything is written, so a rejected file
    (:class:`AddressFileError`) changes nothing. ``area`` names the area of a single file.
    """
    if area is not None and len(paths) != 1:
        raise AddressFileError("an area name can be given for one file at a time")
    prepared: list[tuple[Path, str, str, Any, dict[str, Any]]] = []
    for path in paths:
        name = _area_name(area) if area else default_area(path)
        digest = _file_digest(path) if path.is_file() else ""
        meta_path = directory / "sources" / name / "meta.json"
        earlier = _read_json(meta_path)
        if earlier and earlier.get("sha1") == digest and (country is None or earlier.get("country") == country.upper()):
            prepared.append((path, name, digest, None, earlier))
            continue
        frame = read_points(path, progress)
        cc = _check_coordinates(path.name, frame["lat"].to_numpy(dtype=float), frame["lon"].to_numpy(dtype=float),
                                gazetteer, country.upper() if country else None)  # fmt: skip
        columns, cities, skipped = _columns(frame, cc)
        if not len(columns["lat"]):
            raise AddressFileError(f"{path.name}: no row has both a street and a house number")
        prepared.append((path, name, digest, (cc, columns, cities, skipped), earlier))
    if len({p[1] for p in prepared}) < len(prepared):
        raise AddressFileError("two files would load into the same area; give them different names")
    directory.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(directory)
    (directory / "sources").mkdir(exist_ok=True)
    reports = []
    for path, name, digest, data, earlier in prepared:
        if data is None:
            reports.append(LoadReport(path, name, str(earlier.get("country", "")), int(earlier.get("points", 0)),
                                      int(earlier.get("skipped", 0)), 0, unchanged=True))  # fmt: skip
            continue
        cc, columns, cities, skipped = data
        tmp = Path(tempfile.mkdtemp(prefix=".addresses-", dir=directory))
        for column in _COLUMNS:
            np.save(tmp / f"{column}.npy", columns[column])
        meta = {"area": name, "file": path.name, "sha1": digest, "country": cc, "points": len(columns["lat"]),
                "skipped": skipped, "cities": cities, "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "file_modified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(path.stat().st_mtime))}  # fmt: skip
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        _replace_folder(tmp, directory / "sources" / name)
        reports.append(LoadReport(path, name, cc, meta["points"], skipped, int(earlier.get("points", 0)) if earlier else 0))
    if any(not r.unchanged for r in reports) or not (directory / "index" / "manifest.json").exists():
        build_index(directory)
    return reports


def remove_area(directory: Path, area: str) -> int:
    """Remove an area's points from the index; how many there were (0: no such area)."""
    folder = directory / "sources" / _area_name(area)
    meta = _read_json(folder / "meta.json")
    if not meta:
        return 0
    aside = Path(tempfile.mkdtemp(prefix=".addresses-old-", dir=directory))
    os.replace(folder, aside / "old")
    shutil.rmtree(aside, ignore_errors=True)
    build_index(directory)
    return int(meta.get("points", 0))


def source_files(directory: Path) -> list[Path]:
    """Every file of the loaded areas (``sources/<area>/...``), by area: what a backup keeps. The
    index in ``index/`` is left out, :func:`build_index` makes it again from these."""
    return sorted(f for meta in (directory / "sources").glob("*/meta.json") for f in meta.parent.iterdir() if f.is_file())


def staging_folder(directory: Path) -> Path:
    """A new empty folder inside ``directory`` (so a rename moves it in place), for
    :func:`replace_sources`; a leftover of a crash is removed by the next load after an hour."""
    directory.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".addresses-", dir=directory))


def replace_sources(directory: Path, sources: Path) -> None:
    """Make the areas in ``sources`` (laid out like ``directory/sources``, made in a
    :func:`staging_folder`) the loaded ones, in place of every area loaded before, and rebuild the
    index. A process that memory-mapped the old index keeps reading it."""
    _replace_folder(sources, directory / "sources")
    build_index(directory)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def build_index(directory: Path) -> None:
    """Merge every area's points into one table sorted by street, number and suffix."""
    areas = sorted(p.parent for p in (directory / "sources").glob("*/meta.json"))
    parts: dict[str, list[Any]] = {c: [] for c in (*_COLUMNS, "area")}
    names = []
    for i, folder in enumerate(areas):
        meta = _read_json(folder / "meta.json")
        names.append(meta.get("area", folder.name))
        size = 0
        for column in _COLUMNS:
            values = np.load(folder / f"{column}.npy")
            parts[column].append(values)
            size = len(values)
        parts["area"].append(np.full(size, i, dtype=np.uint16))
    dtypes = {"street": np.uint64, "short": np.uint64, "number": np.int32, "suffix": np.uint64, "postcode": np.uint64,
              "town": np.uint64, "lat": np.float64, "lon": np.float64, "area": np.uint16}  # fmt: skip
    merged = {
        c: (np.concatenate(v) if v else np.zeros(0, dtype=dtypes[c])).astype(dtypes[c], copy=False) for c, v in parts.items()
    }
    order = np.lexsort((merged["suffix"], merged["number"], merged["street"]))
    tmp = Path(tempfile.mkdtemp(prefix=".addresses-", dir=directory))
    for column, values in merged.items():
        if column != "short":
            np.save(tmp / f"{column}.npy", values[order])
    # Rows by the last word of their street's name, in the main order within each word.
    short = merged["short"][order]
    named = np.flatnonzero(short != 0)
    by_short = named[np.argsort(short[named], kind="stable")]
    np.save(tmp / "short_keys.npy", short[by_short])
    np.save(tmp / "short_rows.npy", by_short.astype(np.int64))
    manifest = {"version": INDEX_VERSION, "areas": names, "points": len(order),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}  # fmt: skip
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    _replace_folder(tmp, directory / "index")


@dataclass(frozen=True)
class AreaStats:
    """What one loaded file holds."""

    area: str
    file: str
    country: str
    points: int
    skipped: int
    loaded_at: str
    cities: dict[str, int]


def area_stats(directory: Path) -> list[AreaStats]:
    """Every loaded area, by country and name."""
    found = []
    for meta_path in sorted((directory / "sources").glob("*/meta.json")):
        meta = _read_json(meta_path)
        if meta:
            found.append(AreaStats(str(meta.get("area")), str(meta.get("file")), str(meta.get("country")),
                                   int(meta.get("points", 0)), int(meta.get("skipped", 0)),
                                   str(meta.get("loaded_at", "")), dict(meta.get("cities", {}))))  # fmt: skip
    return sorted(found, key=lambda a: (a.country, a.area))


def index_version(directory: Path) -> str:
    """Changes whenever the index is rebuilt ("" when there is none): a key for caches."""
    manifest = _read_json(directory / "index" / "manifest.json")
    return f"{manifest.get('built_at', '')}|{manifest.get('points', '')}" if manifest else ""


# --- lookups -----------------------------------------------------------------------------------


def _metres(lat0: float, lon0: float, lat: Any, lon: Any) -> Any:
    """Flat-earth distances in metres from one point: fine within a city."""
    dx = (np.asarray(lon) - lon0) * math.cos(math.radians(lat0))
    return np.hypot(np.asarray(lat) - lat0, dx) * _METRES_PER_DEGREE


def _anchor(lat: Any, lon: Any, inside: Any, by_postcode: Any, by_town: Any,
            centre: tuple[float, float] | None, hint: tuple[float, float, int] | None) -> int | None:  # fmt: skip
    """The point of a street (of those ``inside`` its scope) that the address means: its first with
    the postcode, else the nearest to the postcode's point (None when even that is too far, and so
    another street), else its first in the named town, else the nearest to the city's centre."""
    if by_postcode.any():
        return int(np.flatnonzero(by_postcode)[0])
    if hint is not None:
        to_hint = _metres(hint[0], hint[1], lat[inside], lon[inside])
        if float(to_hint.min()) > STREET_STRETCH_KM * 1000 + hint[2]:
            return None
        return int(inside[np.argmin(to_hint)])
    if by_town.any():
        return int(np.flatnonzero(by_town)[0])
    if centre is not None:
        return int(inside[np.argmin(_metres(centre[0], centre[1], lat[inside], lon[inside]))])
    return int(inside[0])


def _stretch(lat: Any, lon: Any, anchor: int) -> Any:
    """Which points of a street are within :data:`STREET_STRETCH_KM` of its point ``anchor``."""
    if (float(lat.max() - lat.min()) + float(lon.max() - lon.min())) * _METRES_PER_DEGREE <= STREET_STRETCH_KM * 1000:
        return np.ones(len(lat), bool)  # all of it within reach: no need to measure
    return _metres(float(lat[anchor]), float(lon[anchor]), lat, lon) <= STREET_STRETCH_KM * 1000


class AddressIndex:
    """The memory-mapped address index. Open with :meth:`open`; ``None`` when nothing is loaded."""

    def __init__(self, folder: Path) -> None:
        def load(name: str) -> Any:
            # A plain array over the mapped file: slicing a np.memmap costs more than the lookup.
            return np.asarray(np.load(folder / f"{name}.npy", mmap_mode="r"))

        manifest = _read_json(folder / "manifest.json")
        if manifest.get("version") != INDEX_VERSION:
            raise ValueError("address index of another version")
        self._areas: list[str] = list(manifest["areas"])
        self.size = int(manifest["points"])
        self._street = load("street")
        self._number, self._suffix = load("number"), load("suffix")
        self._postcode, self._town = load("postcode"), load("town")
        self._lat, self._lon, self._area = load("lat"), load("lon"), load("area")
        self._short_keys, self._short_rows = load("short_keys"), load("short_rows")

    @classmethod
    def open(cls, directory: Path) -> AddressIndex | None:
        """The index in ``directory``; None when none was built or it cannot be read (then the
        geocoder works as without it)."""
        folder = directory / "index"
        if not (folder / "manifest.json").exists():
            return None
        try:
            index = cls(folder)
        except (OSError, ValueError, KeyError, TypeError, EOFError):
            return None
        return index if index.size else None

    def locate(
        self,
        address: str,
        country: str,
        *,
        city: str = "",
        centre: tuple[float, float] | None = None,
        postcode_point: Callable[[str], tuple[float, float, int] | None] | None = None,
    ) -> AddressMatch | None:
        """Where ``address`` is (see the module docstring), or None when its street is not known
        in the postcode, town or city. ``postcode_point`` gives a postcode's rough point and how far
        off it may be (the gazetteer's): when no point of the street has the postcode itself, the
        part of the street nearest to it is meant, and a street far from it is another one."""
        cc = country.upper()
        parsed = parse_address(address, cc)
        if not parsed.streets:
            return None
        towns = [t for t in {_hash(parsed.town), _hash(town_key(city)) if city else 0} if t]
        postcode = _hash(parsed.postcode)
        hint = postcode_point(parsed.postcode) if postcode_point is not None and parsed.postcode else None
        for key in parsed.streets:
            wanted = np.uint64(_hash(f"{cc}|{key}"))
            lo = int(np.searchsorted(self._street, wanted, side="left"))
            if lo >= self.size or self._street[lo] != wanted:
                continue
            hi = int(np.searchsorted(self._street, wanted, side="right"))
            found = self._on_street(slice(lo, hi), parsed.house, postcode, towns, centre, hint)
            if found is not None:
                return found
        # A one-word street the index knows only by a longer name ("ul. Zajączka 7").
        for key in parsed.streets:
            if " " in key:
                continue
            wanted = np.uint64(_hash(f"{cc}|{key}"))
            lo = int(np.searchsorted(self._short_keys, wanted, side="left"))
            hi = int(np.searchsorted(self._short_keys, wanted, side="right"))
            if hi > lo:
                found = self._on_street(self._short_rows[lo:hi], parsed.house, postcode, towns, centre, hint)
                if found is not None:
                    return found
        return None

    def _on_street(self, rows: slice | Any, house: Any, postcode: int, towns: list[int],
                   centre: tuple[float, float] | None, hint: tuple[float, float, int] | None) -> AddressMatch | None:  # fmt: skip
        """Locate on the street whose points are ``rows`` (a slice of the table, or row numbers
        from the last-word index, which may hold several streets)."""
        if house is not None and isinstance(rows, slice):
            exact = self._exact(rows, house, postcode, towns)
            if exact is not None:
                return exact
        lat, lon = self._lat[rows], self._lon[rows]
        town = self._town[rows]
        by_postcode, by_town, scope = self._scope(rows, lat, lon, town, postcode, towns, centre)
        if not scope.any():
            return None
        anchor = _anchor(lat, lon, np.flatnonzero(scope), by_postcode, by_town, centre, hint)
        if anchor is None:
            return None  # a street of that name the index does not hold, in the postcode's area
        # One street of one town, and of that street the stretch near the anchor: a town's parts
        # may have streets of the same name (Warsaw's Orla in Śródmieście and in Wesoła).
        same_town = town == town[anchor]
        stretch = _stretch(lat, lon, anchor)
        if centre is None and not postcode and not towns and not (same_town & stretch).all():
            return None  # the same street name in several places, and nothing says which
        if not isinstance(rows, slice):
            same_town = self._one_street(rows, by_postcode, scope, same_town)
            if same_town is None:
                return None
        group = np.flatnonzero(scope & same_town & stretch)
        if house is not None:
            found = self._by_number(rows, lat, lon, group, house, postcode, by_postcode)
            if found is not None:
                return found
        if postcode and by_postcode[group].any():
            group = group[by_postcode[group]]  # the street's middle within the postcode
        return self._middle(self._row(rows, group[0]), lat[group], lon[group])

    def _scope(self, rows: slice | Any, lat: Any, lon: Any, town: Any, postcode: int, towns: list[int],
               centre: tuple[float, float] | None) -> tuple[Any, Any, Any]:  # fmt: skip
        """Which points of ``rows`` have the postcode written, which are in a town written, and which
        are in scope: those, or within :data:`ADDRESS_SCOPE_KM` of ``centre`` (all, when nothing is written)."""
        size = len(lat)
        by_postcode = self._postcode[rows] == np.uint64(postcode) if postcode else np.zeros(size, bool)
        by_town = np.zeros(size, bool)
        for wanted in towns:
            by_town |= town == np.uint64(wanted)
        named = by_postcode | by_town
        if centre is not None:
            near = named if named.all() else _metres(centre[0], centre[1], lat, lon) <= ADDRESS_SCOPE_KM * 1000
        else:
            near = np.full(size, not postcode and not towns)
        return by_postcode, by_town, named | near

    def _one_street(self, rows: Any, by_postcode: Any, scope: Any, same_town: Any) -> Any | None:
        """``same_town`` narrowed to the one street meant among ``rows`` (found by the last word of
        its name): only when one street ends in it (in the postcode, else the town); else None."""
        meant = by_postcode if by_postcode.any() else scope & same_town
        streets = self._street[rows][meant]
        if (streets != streets[0]).any():
            return None
        return same_town & (self._street[rows] == streets[0])

    def _by_number(self, rows: slice | Any, lat: Any, lon: Any, group: Any, house: Any, postcode: int,
                   by_postcode: Any) -> AddressMatch | None:  # fmt: skip
        """The house number on the street's points ``group``: its point (the letter too, else
        another letter's), else between its neighbours' or beyond the last; None when the street
        has too few numbers to tell."""
        numbers = self._number[rows][group]
        same = group[numbers == house.number]
        if len(same):
            suffix = np.uint64(_hash(house.suffix))
            exact = same[self._suffix[rows][same] == suffix]
            if len(exact):
                best = exact[np.argmax(by_postcode[exact])] if postcode else exact[0]
                return self._match(self._row(rows, best), lat[best], lon[best], Precision.ADDRESS, ADDRESS_POINT_UNCERTAINTY_M)
            return self._match(
                self._row(rows, same[0]), lat[same[0]], lon[same[0]], Precision.STREET, NEAR_NUMBER_UNCERTAINTY_M, "letter"
            )
        between = self._interpolate(house.number, numbers, lat[group], lon[group])
        if between is not None:
            return self._match(self._row(rows, group[0]), *between, "interpolated")
        beyond = self._extrapolate(house.number, numbers, lat[group], lon[group])
        if beyond is not None:
            return self._match(self._row(rows, group[0]), *beyond, "extrapolated")
        return None

    def _exact(self, rows: slice, house: Any, postcode: int, towns: list[int]) -> AddressMatch | None:
        """The quick way for the usual case: the one point of the street with the house number
        and the postcode written (or, without a postcode, the only one, in the town written).
        None leaves the decision to the full rules."""
        numbers = self._number[rows]  # a street's rows are sorted by number
        first = int(np.searchsorted(numbers, house.number, side="left"))
        last = int(np.searchsorted(numbers, house.number, side="right"))
        suffix = _hash(house.suffix)
        found = [rows.start + i for i in range(first, last) if int(self._suffix[rows.start + i]) == suffix]
        if postcode:
            found = [row for row in found if int(self._postcode[row]) == postcode]
        elif not towns or len(found) != 1 or int(self._town[found[0]]) not in towns:
            return None
        if len(found) != 1:
            return None
        row = found[0]
        return self._match(row, float(self._lat[row]), float(self._lon[row]), Precision.ADDRESS, ADDRESS_POINT_UNCERTAINTY_M)

    @staticmethod
    def _row(rows: slice | Any, at: int) -> int:
        """The table row of the ``at``-th point of ``rows``."""
        return int(rows.start + at) if isinstance(rows, slice) else int(rows[at])

    @staticmethod
    def _interpolate(n: int, numbers: Any, lat: Any, lon: Any) -> tuple[float, float, Precision, int] | None:
        for side in (numbers % 2 == n % 2, np.ones(len(numbers), bool)):
            below, above = np.flatnonzero(side & (numbers < n)), np.flatnonzero(side & (numbers > n))
            if len(below) and len(above):
                a, b = below[-1], above[0]  # sorted by number: the nearest on each side
                t = (n - numbers[a]) / (numbers[b] - numbers[a])
                point_lat = float(lat[a] + t * (lat[b] - lat[a]))
                point_lon = float(lon[a] + t * (lon[b] - lon[a]))
                gap = float(_metres(float(lat[a]), float(lon[a]), lat[b], lon[b]))
                uncertainty = max(INTERPOLATION_MIN_M, round(INTERPOLATION_GAP_SHARE * gap))
                return point_lat, point_lon, Precision.STREET, uncertainty
        return None

    @staticmethod
    def _extrapolate(n: int, numbers: Any, lat: Any, lon: Any) -> tuple[float, float, Precision, int] | None:
        """A number beyond the street's known ones: on along the line of the two nearest."""
        below, above = np.flatnonzero(numbers < n), np.flatnonzero(numbers > n)
        if len(below) >= 2 and not len(above):
            a, b = below[-2], below[-1]
        elif len(above) >= 2 and not len(below):
            a, b = above[1], above[0]
        else:
            return None
        if numbers[a] == numbers[b]:
            return None
        gap = float(_metres(float(lat[a]), float(lon[a]), lat[b], lon[b]))
        t = (n - numbers[b]) / (numbers[b] - numbers[a])
        run = abs(t) * gap
        if run > MAX_EXTRAPOLATION_M:
            t *= MAX_EXTRAPOLATION_M / run
            run = MAX_EXTRAPOLATION_M
        point_lat = float(lat[b] + t * (lat[b] - lat[a]))
        point_lon = float(lon[b] + t * (lon[b] - lon[a]))
        return point_lat, point_lon, Precision.STREET, max(STREET_MIN_M, round(EXTRAPOLATION_RUN_SHARE * (run + gap)))

    def _middle(self, row: int, lat: Any, lon: Any) -> AddressMatch:
        mid_lat, mid_lon = float(np.mean(lat)), float(np.mean(lon))
        if len(lat) == 1:
            return self._match(row, mid_lat, mid_lon, Precision.STREET, SINGLE_POINT_STREET_M, "middle")
        reach = float(np.max(_metres(mid_lat, mid_lon, lat, lon)))
        return self._match(
            row,
            mid_lat,
            mid_lon,
            Precision.STREET,
            max(STREET_MIN_M, round(STREET_REACH_FACTOR * reach + STREET_MARGIN_M)),
            "middle",
        )

    def _match(self, row: int, lat: float, lon: float, precision: Precision, uncertainty: int,
               method: str = "exact") -> AddressMatch:  # fmt: skip
        return AddressMatch(float(lat), float(lon), precision, int(uncertainty), self._areas[int(self._area[row])], method)
