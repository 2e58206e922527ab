"""OGC API – Features (Part 1: Core, GeoJSON) over the published opportunities and the districts'
coverage: what a GIS (QGIS, ArcGIS, GDAL's ``OAPIF`` driver) reads as live layers.

Plain functions returning JSON-ready dicts; the routes under ``/api/`` are in ``web/features.py``.
Two collections:

- ``opportunities``: every published opportunity as a point (online ones with a null geometry),
  with exactly the properties of the GeoJSON export (:func:`opportunities.listings.exporting.feature`),
  so a layer read from the API and one read from an export have the same fields;
- ``districts``: each district's polygon with how many published opportunities it holds (per
  topic too) and per 1,000 residents, as the Coverage page counts them.

A page is selected on the live search index (:class:`~opportunities.explore.index.OpportunityIndex`):
the filters are the Explore search's (:meth:`OpportunityIndex.mask`), ``bbox`` a test on its
coordinate columns, and paging is by id (keyset: ``next`` carries ``after``, the last id of the
page), never an offset. Only the page's records are then read, by primary key, in a few queries
whatever the page size (:func:`opportunities.db.queries.get_opportunities`); a row that is no
longer published (the index lags the database by a second) is left out.

A bad parameter raises :class:`~opportunities.feeds.rpde.FeedParameterError` naming it.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import numpy as np
import numpy.typing as npt
import shapely
import shapely.geometry
from sqlalchemy import Connection

from opportunities.coverage.districts import CoverageFilter, CoverageIndex
from opportunities.db.queries import get_opportunities
from opportunities.errors import FieldError
from opportunities.explore.index import OpportunityIndex
from opportunities.explore.search import SearchQuery
from opportunities.feeds import harvesting
from opportunities.feeds.rpde import FeedParameterError
from opportunities.listings.exporting import feature
from opportunities.text import fold
from opportunities.vocabulary import TOPICS, Mode, Status

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
JSON = "application/json"
DEFAULT_LIMIT = 100
# The most features in one page; a larger ``limit`` is served as this (OGC: no error, fewer items).
MAX_LIMIT = 10_000
OPPORTUNITIES = "opportunities"
DISTRICTS = "districts"
COLLECTIONS = (OPPORTUNITIES, DISTRICTS)
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
)
_EPOCH = date(1970, 1, 1)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WHOLE = re.compile(r"[0-9]{1,18}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:[0-9]{2})")
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")
# The query parameters of each collection's items; anything else is a 400 (OGC: /req/core/query-param-unknown).
PARAMETERS = {
    OPPORTUNITIES: frozenset(
        {"f", "crs", "bbox", "bbox-crs", "limit", "after", "datetime", "topic", "age", "city", "free", "mode", "language"}
    ),
    DISTRICTS: frozenset({"f", "crs", "bbox", "bbox-crs", "limit", "after", "datetime", "topic", "city", "free"}),
}
TITLES = {
    OPPORTUNITIES: ("Learning opportunities", "Published learning opportunities for young people, one point each (online ones without a geometry)."),
    DISTRICTS: ("Coverage by district", "Each district with the number of published opportunities it holds, per topic and per 1,000 residents."),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Bbox:
    """West, south, east, north in CRS84 degrees; ``west > east`` crosses the antimeridian."""

    west: float
    south: float
    east: float
    north: float

    def contains(self, longitude: npt.NDArray[np.float64], latitude: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Which points lie in the box, edges included (NaN, an online opportunity, never)."""
        with np.errstate(invalid="ignore"):
            inside = (latitude >= self.south) & (latitude <= self.north)
            if self.west <= self.east:
                inside &= (longitude >= self.west) & (longitude <= self.east)
            else:
                inside &= (longitude >= self.west) | (longitude <= self.east)
        return np.asarray(inside, dtype=bool)

    def geometry(self) -> Any:
        """The box as a (multi)polygon, split at the antimeridian when it crosses it."""
        if self.west <= self.east:
            return shapely.box(self.west, self.south, self.east, self.north)
        return shapely.union(
            shapely.box(self.west, self.south, 180.0, self.north), shapely.box(-180.0, self.south, self.east, self.north)
        )


@dataclass(frozen=True, slots=True)
class ItemsQuery:
    """What an items request asks for; ``params`` the filter parameters as given (kept for ``next``)."""

    search: SearchQuery
    bbox: Bbox | None = None
    limit: int = DEFAULT_LIMIT
    after: int | None = None
    params: tuple[tuple[str, str], ...] = ()


def _single(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name, ())
    if len(values) > 1:
        raise FeedParameterError(name, f"{name} is given {len(values)} times; give it once")
    return values[0] if values else None


def check_crs(crs: str | None, parameter: str = "crs") -> None:
    """Refuse any coordinate reference system but CRS84, the only one served (and the default)."""
    if crs is not None and crs.strip() not in (CRS84, f"[{CRS84}]"):
        raise FeedParameterError(parameter, f"only {CRS84} (longitude, latitude in WGS 84) is supported")


def parse_bbox(text: str, crs: str | None = None) -> Bbox:
    """``minLon,minLat,maxLon,maxLat`` (or six numbers with heights, which are ignored), in CRS84."""
    check_crs(crs, "bbox-crs")
    parts = [part.strip() for part in text.split(",")]
    if len(parts) not in (4, 6) or not all(_NUMBER.fullmatch(part) for part in parts):
        raise FeedParameterError(
            "bbox", "bbox must be four numbers: minimum longitude, minimum latitude, maximum longitude, maximum latitude"
        )
    numbers = [float(part) for part in parts]
    west, south, east, north = numbers if len(numbers) == 4 else (numbers[0], numbers[1], numbers[3], numbers[4])
    if not all(-180 <= lon <= 180 for lon in (west, east)) or not all(-90 <= lat <= 90 for lat in (south, north)):
        raise FeedParameterError("bbox", "bbox longitudes must be within -180..180 and latitudes within -90..90")
    if south > north:
        raise FeedParameterError("bbox", "bbox's minimum latitude (second number) is above its maximum latitude (fourth)")
    return Bbox(west, south, east, north)


def _instant(text: str) -> date | None:
    """The day of one end of a ``datetime`` interval (None: open); a date-time counts by its date as written."""
    if text in ("", ".."):
        return None
    if _DATE.fullmatch(text) or _DATE_TIME.fullmatch(text):
        try:
            moment = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
        except ValueError:
            pass
        else:
            return moment.date()
    raise FeedParameterError(
        "datetime",
        "datetime must be a date or date-time (RFC 3339, e.g. 2026-05-01 or 2026-05-01T10:00:00Z) or an interval "
        "of two such, or .., separated by / (e.g. 2026-05-01/2026-05-31 or 2026-05-01/..)",
    )


def parse_datetime(text: str) -> tuple[date | None, date | None]:
    """The first and last day of a ``datetime`` instant or interval (None: open at that end)."""
    if "/" not in text:
        day = _instant(text.strip())
        if day is None:
            raise FeedParameterError("datetime", "datetime '..' needs the other end of an interval, e.g. 2026-05-01/..")
        return day, day
    first, _, last = text.strip().partition("/")
    start, stop = _instant(first.strip()), _instant(last.strip())
    if start is None and stop is None:
        raise FeedParameterError("datetime", "datetime interval open at both ends; give at least one date")
    if start is not None and stop is not None and stop < start:
        raise FeedParameterError("datetime", "datetime interval ends before it starts")
    return start, stop


def _whole(name: str, text: str, low: int, high: int | None = None) -> int:
    text = text.strip()
    if not _WHOLE.fullmatch(text) or int(text) < low or (high is not None and int(text) > high):
        upto = f" to {high}" if high is not None else " or more"
        raise FeedParameterError(name, f"{name} must be a whole number from {low}{upto}")
    return int(text)


def _topics(text: str) -> tuple[str, ...]:
    topics = tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [t for t in topics if t not in TOPICS]
    if unknown or not topics:
        raise FeedParameterError(
            "topic", f"unknown topic {unknown[0] if unknown else text!r}; use one or more of: {', '.join(TOPICS)}"
        )
    return topics


def _boolean(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value not in (*_TRUE, *_FALSE):
        raise FeedParameterError(name, f"{name} must be true or false")
    return value in _TRUE


def _modes(text: str) -> tuple[Mode, ...]:
    names = [m.strip() for m in text.split(",") if m.strip()]
    try:
        return tuple(Mode(name) for name in names) if names else ()
    except ValueError:
        pass
    raise FeedParameterError("mode", f"mode must be one or more of: {', '.join(m.value for m in Mode)}")


def parse_items_query(collection: str, params: Mapping[str, Sequence[str]]) -> ItemsQuery:
    """The items request of ``collection`` that ``params`` (each name with its values) ask for.

    Raises :class:`FeedParameterError` naming an unknown, repeated or unusable parameter.
    """
    allowed = PARAMETERS[collection]
    for name in params:
        if name not in allowed:
            raise FeedParameterError(name, f"unknown parameter {name!r}; this collection takes: {', '.join(sorted(allowed))}")
    given = {name: value for name in params if (value := _single(params, name)) is not None}
    if given.get("f", "json") not in ("json", "geojson"):
        raise FeedParameterError("f", "f must be json or geojson (the only encoding served)")
    check_crs(given.get("crs"))
    limit = min(_whole("limit", given["limit"], 1), MAX_LIMIT) if "limit" in given else DEFAULT_LIMIT
    after = _whole("after", given["after"], 0) if "after" in given else None
    bbox = parse_bbox(given["bbox"], given.get("bbox-crs")) if "bbox" in given else None
    if "bbox-crs" in given and bbox is None:
        raise FeedParameterError("bbox-crs", "bbox-crs is only used with bbox")
    date_from, date_to = parse_datetime(given["datetime"]) if "datetime" in given else (None, None)
    try:
        search = SearchQuery(
            city=given.get("city", "").strip(),
            topics=_topics(given["topic"]) if "topic" in given else (),
            age=_whole("age", given["age"], 0, 120) if "age" in given else None,
            free_only=_boolean("free", given["free"]) if "free" in given else False,
            modes=_modes(given["mode"]) if "mode" in given else (),
            language=given.get("language", "").strip().lower(),
            date_from=date_from,
            date_to=date_to,
        )
    except FieldError as error:  # every check is made above; kept so that no refusal becomes a 500
        raise FeedParameterError(error.field, str(error)) from error
    kept = tuple((name, value) for name, value in sorted(given.items()) if name not in ("after", "f"))
    return ItemsQuery(search=search, bbox=bbox, limit=limit, after=after, params=kept)


# --- documents ------------------------------------------------------------------------------------


def _link(href: str, rel: str, media_type: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def api_url(public_url: str) -> str:
    return f"{public_url}/api"


def landing(public_url: str, title: str) -> dict[str, Any]:
    """The landing page (``/api/``): what the service is and where its parts are."""
    base = api_url(public_url)
    return {
        "title": title,
        "description": "The published learning opportunities and the districts' coverage as OGC API - Features (GeoJSON).",
        "links": [
            _link(f"{base}/", "self", JSON, "This document"),
            _link(f"{base}/conformance", "conformance", JSON, "Conformance classes implemented"),
            _link(f"{base}/collections", "data", JSON, "The collections"),
            _link(f"{public_url}/openactive/", "related", "text/html", "The OpenActive dataset site"),
        ],
    }


def landing_html(public_url: str, publisher: str, language: str) -> str:
    """The landing page for a person (a browser asks for HTML), in ``language``: what the service
    is, and links to its collections and to the same page as JSON."""
    from opportunities.feeds.dataset import LANGUAGE_NAMES
    from opportunities.i18n import translator

    _ = translator(language).gettext
    e = html.escape
    base = api_url(public_url)
    title = _("{publisher}: learning opportunities").format(publisher=publisher)
    names = {OPPORTUNITIES: _("Learning opportunities"), DISTRICTS: _("Districts")}
    # Out of the f-strings below: the catalogs' extractor does not look inside them.
    texts = {
        "features": _("Features (GeoJSON)"),
        "language": _("Language"),
        "collections": _("Collections"),
        "conformance": _("Conformance classes"),
        "json": _("This page as JSON"),
    }
    rows = "\n".join(
        f'<li>{e(names[name])}: <a href="{e(base)}/collections/{name}/items" type="{GEOJSON}">{e(texts["features"])}</a>'
        f" (<code>{e(base)}/collections/{name}</code>)</li>"
        for name in COLLECTIONS
    )
    languages = " · ".join(
        f'<a href="?lang={code}" hreflang="{code}" lang="{code}">{e(label)}</a>'
        if code != language
        else f"<strong>{e(label)}</strong>"
        for code, label in LANGUAGE_NAMES.items()
    )
    about = _(
        "The learning opportunities, and how many each district holds, as OGC API – Features. Open this address "
        "in QGIS, ArcGIS or GDAL to read them as live map layers."
    )
    return f"""<!DOCTYPE html>
<html lang="{e(language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<link rel="alternate" type="{JSON}" href="{e(base)}/?f=json">
<style>body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }}
code {{ overflow-wrap: anywhere; }}</style>
</head>
<body>
<nav aria-label="{e(texts["language"])}">{languages}</nav>
<main>
<h1>{e(title)}</h1>
<p>{e(about)}</p>
<p><code>{e(base)}</code></p>
<h2>{e(texts["collections"])}</h2>
<ul>
{rows}
</ul>
<p><a href="{e(base)}/conformance">{e(texts["conformance"])}</a> ·
<a href="{e(base)}/?f=json" type="{JSON}">{e(texts["json"])}</a> ·
<a href="{e(public_url)}/openactive/">OpenActive</a></p>
</main>
</body>
</html>
"""


def conformance() -> dict[str, Any]:
    return {"conformsTo": list(CONFORMANCE)}


def _days(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).isoformat()


def opportunities_extent(index: OpportunityIndex) -> dict[str, Any]:
    """The bounding box of the located opportunities and the first and last day of any (None: open)."""
    located = np.isfinite(index.latitude) & np.isfinite(index.longitude)
    spatial: list[float] = (
        [float(index.longitude[located].min()), float(index.latitude[located].min()),
         float(index.longitude[located].max()), float(index.latitude[located].max())]
        if located.any() else [-180.0, -90.0, 180.0, 90.0]
    )  # fmt: skip
    interval: list[str | None] = [None, None]
    if len(index):
        interval[0] = _days(int(index.start.min()))
        last = int(index.end.max())
        interval[1] = _days(last) if last < 2**31 - 1 else None
    return {"spatial": {"bbox": [spatial], "crs": CRS84}, "temporal": {"interval": [interval]}}


def districts_extent(coverage: CoverageIndex) -> dict[str, Any]:
    geometries = coverage.districts.geometries
    spatial = [float(v) for v in shapely.total_bounds(geometries)] if len(geometries) else [-180.0, -90.0, 180.0, 90.0]
    if any(math.isnan(v) for v in spatial):
        spatial = [-180.0, -90.0, 180.0, 90.0]
    return {"spatial": {"bbox": [spatial], "crs": CRS84}}


def collection(public_url: str, name: str, extent: dict[str, Any]) -> dict[str, Any]:
    """One collection's description (``/api/collections/{name}``)."""
    base = f"{api_url(public_url)}/collections/{name}"
    title, description = TITLES[name]
    return {
        "id": name,
        "title": title,
        "description": description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": extent,
        "links": [
            _link(base, "self", JSON, "This collection"),
            _link(f"{base}/items", "items", GEOJSON, f"{title} (GeoJSON)"),
            _link(f"{public_url}/openactive/", "license", "text/html", "Licence and publisher"),
        ],
    }


def collections(public_url: str, extents: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """``/api/collections``: every collection with its extent."""
    base = api_url(public_url)
    return {
        "links": [_link(f"{base}/collections", "self", JSON, "The collections")],
        "collections": [collection(public_url, name, extents[name]) for name in COLLECTIONS],
    }


# --- items ----------------------------------------------------------------------------------------


def _items_url(public_url: str, name: str, query: ItemsQuery, after: int | None = None) -> str:
    params = [(k, v) for k, v in query.params if k != "limit"] + [("limit", str(query.limit))]
    if after is not None:
        params.append(("after", str(after)))
    return f"{api_url(public_url)}/collections/{name}/items?{urlencode(sorted(params))}"


def _page(ids: npt.NDArray[np.int64], matched: npt.NDArray[np.bool_], query: ItemsQuery) -> tuple[npt.NDArray[np.int64], bool]:
    """Positions of the page's rows among ``ids`` (sorted): the first ``limit`` matching after
    ``query.after``; and whether more match after them."""
    rows = np.flatnonzero(matched)
    start = int(np.searchsorted(ids[rows], query.after, side="right")) if query.after is not None else 0
    page = rows[start : start + query.limit]
    return page, start + query.limit < len(rows)


def _collection_body(
    public_url: str, name: str, query: ItemsQuery, features: list[dict[str, Any]], matched: int, last_id: int | None, more: bool,
    now: datetime,
) -> dict[str, Any]:  # fmt: skip
    self_url = _items_url(public_url, name, query, query.after)
    links = [
        _link(self_url, "self", GEOJSON, "This page"),
        _link(f"{api_url(public_url)}/collections/{name}", "collection", JSON, "The collection"),
    ]
    if more and last_id is not None:
        links.append(_link(_items_url(public_url, name, query, last_id), "next", GEOJSON, "The next page"))
    return {
        "type": "FeatureCollection",
        "timeStamp": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "numberMatched": matched,
        "numberReturned": len(features),
        "features": features,
        "links": links,
    }


def opportunity_mask(index: OpportunityIndex, query: ItemsQuery) -> npt.NDArray[np.bool_]:
    """The index rows an items request matches (the Explore search's filters and the box)."""
    keep = index.mask(query.search)
    if query.bbox is not None:
        keep &= query.bbox.contains(index.longitude, index.latitude)
    return keep


def opportunity_items(
    conn: Connection, index: OpportunityIndex, query: ItemsQuery, *, public_url: str, now: datetime
) -> dict[str, Any]:
    """One page of the ``opportunities`` collection (a GeoJSON FeatureCollection with OGC's members)."""
    matched = opportunity_mask(index, query)
    rows, more = _page(index.ids, matched, query)
    ids = index.ids[rows].tolist()
    records = [opp for opp in get_opportunities(conn, ids) if opp.status == Status.PUBLISHED]
    sources = _sources(conn, ids)
    features = [feature(opp, sources.get(opp.id or 0)) for opp in records]
    last = ids[-1] if ids else None
    return _collection_body(public_url, OPPORTUNITIES, query, features, int(matched.sum()), last, more, now)


def opportunity_item(conn: Connection, opportunity_id: int, *, public_url: str) -> dict[str, Any] | None:
    """One published opportunity as a GeoJSON Feature with its links; None when there is none."""
    found = get_opportunities(conn, [opportunity_id])
    if not found or found[0].status != Status.PUBLISHED:
        return None
    return _with_links(
        feature(found[0], _sources(conn, [opportunity_id]).get(opportunity_id)), public_url, OPPORTUNITIES, opportunity_id
    )


def _sources(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """The attribution and licence of each of ``ids`` harvested from another publisher's feed."""
    return {oid: (found.attribution, found.license) for oid, found in harvesting.attributions(conn, ids).items()}


def _with_links(item: dict[str, Any], public_url: str, name: str, item_id: int) -> dict[str, Any]:
    base = f"{api_url(public_url)}/collections/{name}"
    item["links"] = [
        _link(f"{base}/items/{item_id}", "self", GEOJSON, "This feature"),
        _link(base, "collection", JSON, "The collection"),
    ]
    return item


def _district_features(coverage: CoverageIndex, query: ItemsQuery) -> tuple[Any, list[int]]:
    """The districts' counts under the request's filters, and the positions of those in its box."""
    search = query.search
    city_ids: tuple[int, ...] = ()
    if search.city:
        city_ids = tuple(cid for cid, city in coverage.cities.items() if fold(city.name) == fold(search.city)) or (-1,)
    filt = CoverageFilter(city_ids=city_ids, topics=search.topics, date_from=search.date_from, date_to=search.date_to,
                          free_only=search.free_only)  # fmt: skip
    frame = coverage.district_counts(filt)
    positions = {int(i): k for k, i in enumerate(coverage.districts.ids.tolist())}
    at = [positions[int(i)] for i in frame["district_id"]]
    return frame, at


def district_items(coverage: CoverageIndex, query: ItemsQuery, *, public_url: str, now: datetime) -> dict[str, Any]:
    """One page of the ``districts`` collection: polygons with their counts."""
    frame, at = _district_features(coverage, query)
    order = np.argsort(frame["district_id"].to_numpy(), kind="stable")
    ids = frame["district_id"].to_numpy()[order].astype(np.int64)
    geometries = coverage.districts.geometries[np.array(at, dtype=np.int64)[order]] if at else np.array([], dtype=object)
    matched = np.ones(len(ids), dtype=bool)
    if query.bbox is not None and len(ids):
        matched &= shapely.intersects(geometries, query.bbox.geometry())
    rows, more = _page(ids, matched, query)
    features = [_district_feature(coverage, frame.iloc[int(order[row])], geometries[row]) for row in rows.tolist()]
    last = int(ids[rows[-1]]) if len(rows) else None
    return _collection_body(public_url, DISTRICTS, query, features, int(matched.sum()), last, more, now)


def _number(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else round(number, 3)


def _district_feature(coverage: CoverageIndex, row: Any, geometry: Any) -> dict[str, Any]:
    city = coverage.cities.get(int(row["city_id"]))
    properties: dict[str, Any] = {
        "id": int(row["district_id"]),
        "name": str(row["district"]),
        "city": city.name if city else "",
        "country": city.country if city else "",
        "population": None if math.isnan(float(row["population"])) else int(row["population"]),
        "count": int(row["count"]),
        "per_1000": _number(row["per_1000"]),
    }
    properties.update({topic: int(row[topic]) for topic in TOPICS})
    return {"type": "Feature", "id": properties["id"], "geometry": shapely.geometry.mapping(geometry), "properties": properties}


def district_item(coverage: CoverageIndex, district_id: int, *, public_url: str) -> dict[str, Any] | None:
    """One district with its counts of all published opportunities; None when there is none."""
    frame, at = _district_features(coverage, ItemsQuery(search=SearchQuery()))
    hits = np.flatnonzero(frame["district_id"].to_numpy() == district_id)
    if not len(hits):
        return None
    row = int(hits[0])
    item = _district_feature(coverage, frame.iloc[row], coverage.districts.geometries[at[row]])
    return _with_links(item, public_url, DISTRICTS, district_id)
