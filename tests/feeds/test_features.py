"""OGC API – Features, the domain (issue 17): parameters parsed or refused by name, pages selected
on the search index as Explore selects them, paging by id, the export's features, the districts'
coverage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import shapely
from sqlalchemy import Engine

from opportunities.coverage.boundaries import District, store_districts
from opportunities.coverage.districts import CoverageIndex, open_coverage
from opportunities.db import queries
from opportunities.db.connection import writing
from opportunities.explore.index import OpportunityIndex
from opportunities.feeds import features
from opportunities.feeds.features import Bbox, ItemsQuery, parse_bbox, parse_datetime, parse_items_query
from opportunities.feeds.rpde import FeedParameterError
from opportunities.listings.exporting import export
from opportunities.listings.importing import import_records
from opportunities.places.geocoding import Geocoder
from opportunities.vocabulary import TOPICS, Status
from tests.conftest import template_row

PUBLIC = "https://map.example.org"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
# Göteborg's two districts in the tests: the west one holds the painting workshop, the east one the code club.
WEST = (11.90, 57.65, 11.96, 57.75)
EAST = (11.96, 57.65, 12.05, 57.75)


def publish_sample(engine: Engine, geocoder: Geocoder) -> dict[str, int]:
    """Five published opportunities in three countries (one online) and one waiting for review: title -> id."""
    rows = [
        template_row(title="Kodklubb", latitude="57.6969", longitude="11.9795"),
        template_row(
            title="Målarverkstad", latitude="57.7200", longitude="11.9400", topics="arts-culture", age_min="6", age_max="10",
            cost="100", currency="SEK", schedule="", start="2027-01-10 10:00", end="",
        ),
        template_row(
            title="Plezanje", city="Ljubljana", country="SI", address="Prešernov trg 1, 1000 Ljubljana", latitude="46.0514",
            longitude="14.5060", topics="sport-outdoors", age_min="15", age_max="25", schedule="", start="2026-12-20 09:00",
            end="", languages="sl",
        ),
        template_row(
            title="Warsztaty", city="Warszawa", country="PL", address="Plac Defilad 1, 00-901 Warszawa", latitude="52.2297",
            longitude="21.0122", topics="science-technology", age_min="10", age_max="14", schedule="FREQ=WEEKLY;BYDAY=SA",
            start="2027-02-06 10:00", end="2027-06-26", languages="pl",
        ),
        template_row(title="Webbinarium", mode="online", address="", topics="careers", age_min="16", age_max="25"),
    ]  # fmt: skip
    published = import_records(engine, rows, geocoder, publish=True)
    pending = import_records(engine, [template_row(title="Hemlig", latitude="57.70", longitude="11.97")], geocoder)
    assert not published.rejected and not pending.rejected
    titles = [row["title"] for row in rows] + ["Hemlig"]
    return dict(zip(titles, published.stored_ids + pending.stored_ids, strict=True))


@pytest.fixture
def sample(engine: Engine, geocoder: Geocoder) -> dict[str, int]:
    return publish_sample(engine, geocoder)


@pytest.fixture
def index(engine: Engine, sample: dict[str, int]) -> OpportunityIndex:
    with engine.connect() as conn:
        return OpportunityIndex.load(conn)


@pytest.fixture
def conn(engine: Engine) -> Iterator[Any]:
    with engine.connect() as connection:
        yield connection


def items(conn: Any, index: OpportunityIndex, **params: str) -> dict[str, Any]:
    query = parse_items_query(features.OPPORTUNITIES, {k.replace("_", "-"): [v] for k, v in params.items()})
    return features.opportunity_items(conn, index, query, public_url=PUBLIC, now=NOW)


def titles(page: dict[str, Any]) -> list[str]:
    return [f["properties"]["title"] for f in page["features"]]


# --- parameters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "box"),
    [
        ("11,57,12,58", Bbox(11, 57, 12, 58)),
        (" 11.5 , 57 , 12.25 , 58.0 ", Bbox(11.5, 57, 12.25, 58)),
        ("11,57,0,12,58,100", Bbox(11, 57, 12, 58)),  # heights ignored
        ("170,-10,-170,10", Bbox(170, -10, -170, 10)),  # across the antimeridian
        ("-180,-90,180,90", Bbox(-180, -90, 180, 90)),
        ("1e1,5e1,1.2e1,5.8e1", Bbox(10, 50, 12, 58)),
    ],
)
def test_a_bbox_is_read(text: str, box: Bbox) -> None:
    assert parse_bbox(text) == box


@pytest.mark.parametrize(
    "text",
    ["", "1,2,3", "1,2,3,4,5", "a,b,c,d", "11,58,12,57", "200,0,210,1", "0,-91,1,0", "nan,1,2,3", "inf,1,2,3",
     "1e999,1,2,3", "11;57;12;58", "0x1,2,3,4"],
)  # fmt: skip
def test_a_bad_bbox_is_refused_by_name(text: str) -> None:
    with pytest.raises(FeedParameterError) as refused:
        parse_bbox(text)
    assert refused.value.parameter == "bbox"


def test_only_crs84_is_served() -> None:
    assert parse_bbox("11,57,12,58", features.CRS84) == Bbox(11, 57, 12, 58)
    with pytest.raises(FeedParameterError) as refused:
        parse_bbox("11,57,12,58", "http://www.opengis.net/def/crs/EPSG/0/3006")
    assert refused.value.parameter == "bbox-crs"


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("2026-12-20", (date(2026, 12, 20), date(2026, 12, 20))),
        ("2026-12-20T10:00:00Z", (date(2026, 12, 20), date(2026, 12, 20))),
        ("2026-12-20t10:00:00.250+01:00", (date(2026, 12, 20), date(2026, 12, 20))),
        ("2026-12-01/2026-12-31", (date(2026, 12, 1), date(2026, 12, 31))),
        ("2026-12-01T00:00:00Z/2026-12-31T23:59:59Z", (date(2026, 12, 1), date(2026, 12, 31))),
        ("../2026-12-31", (None, date(2026, 12, 31))),
        ("2026-12-01/..", (date(2026, 12, 1), None)),
        ("2026-12-01/", (date(2026, 12, 1), None)),
        ("/2026-12-31", (None, date(2026, 12, 31))),
    ],
)
def test_datetime_is_an_instant_or_an_interval(text: str, days: tuple[date | None, date | None]) -> None:
    assert parse_datetime(text) == days


@pytest.mark.parametrize(
    "text",
    ["..", "../..", "/", "2026-13-01", "2026-02-30", "2026-12-31/2026-12-01", "yesterday", "2026-12-20T10:00",
     "2026-12-20T10:00:00", "20261220", "2026-12-01/2026-12-31/2027-01-01"],
)  # fmt: skip
def test_a_bad_datetime_is_refused_by_name(text: str) -> None:
    with pytest.raises(FeedParameterError) as refused:
        parse_datetime(text)
    assert refused.value.parameter == "datetime"


@pytest.mark.parametrize(
    ("params", "limit", "after"),
    [
        ({}, features.DEFAULT_LIMIT, None),
        ({"limit": "1"}, 1, None),
        ({"limit": "1000"}, 1000, None),
        ({"limit": "10000"}, 10_000, None),
        ({"limit": "50000"}, features.MAX_LIMIT, None),  # OGC: more than the maximum is served as the maximum
        ({"after": "0"}, features.DEFAULT_LIMIT, 0),
        ({"after": "12345", "limit": "7"}, 7, 12345),
    ],
)
def test_limit_and_after(params: dict[str, str], limit: int, after: int | None) -> None:
    query = parse_items_query(features.OPPORTUNITIES, {k: [v] for k, v in params.items()})
    assert (query.limit, query.after) == (limit, after)


@pytest.mark.parametrize(
    ("collection", "params", "parameter"),
    [
        (features.OPPORTUNITIES, {"limit": ["0"]}, "limit"),
        (features.OPPORTUNITIES, {"limit": ["-5"]}, "limit"),
        (features.OPPORTUNITIES, {"limit": ["ten"]}, "limit"),
        (features.OPPORTUNITIES, {"limit": ["99999999999999999999"]}, "limit"),
        (features.OPPORTUNITIES, {"limit": ["5", "6"]}, "limit"),
        (features.OPPORTUNITIES, {"after": ["x"]}, "after"),
        (features.OPPORTUNITIES, {"after": ["-1"]}, "after"),
        (features.OPPORTUNITIES, {"topic": ["gardening"]}, "topic"),
        (features.OPPORTUNITIES, {"topic": [","]}, "topic"),
        (features.OPPORTUNITIES, {"age": ["121"]}, "age"),
        (features.OPPORTUNITIES, {"age": ["twelve"]}, "age"),
        (features.OPPORTUNITIES, {"free": ["maybe"]}, "free"),
        (features.OPPORTUNITIES, {"mode": ["boat"]}, "mode"),
        (features.OPPORTUNITIES, {"f": ["html"]}, "f"),
        (features.OPPORTUNITIES, {"crs": ["http://www.opengis.net/def/crs/EPSG/0/4326"]}, "crs"),
        (features.OPPORTUNITIES, {"bbox-crs": [features.CRS84]}, "bbox-crs"),  # without a bbox
        (features.OPPORTUNITIES, {"q": ["python"]}, "q"),  # free text would scan the table: not offered
        (features.OPPORTUNITIES, {"offset": ["100"]}, "offset"),
        (features.OPPORTUNITIES, {"datetime": ["soon"]}, "datetime"),
        (features.DISTRICTS, {"age": ["12"]}, "age"),
        (features.DISTRICTS, {"bbox": ["1,2"]}, "bbox"),
    ],
)
def test_a_bad_parameter_is_refused_by_name(collection: str, params: dict[str, list[str]], parameter: str) -> None:
    with pytest.raises(FeedParameterError) as refused:
        parse_items_query(collection, params)
    assert refused.value.parameter == parameter
    assert parameter in str(refused.value)


# --- pages on the index ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["Kodklubb", "Målarverkstad", "Plezanje", "Warsztaty", "Webbinarium"]),  # never the pending one
        ({"bbox": "11,57,12,58"}, ["Kodklubb", "Målarverkstad"]),
        ({"bbox": "11.95,57,12,58"}, ["Kodklubb"]),
        ({"bbox": "11.94,57.72,11.94,57.72"}, ["Målarverkstad"]),  # edges count
        ({"bbox": "-180,-90,180,90"}, ["Kodklubb", "Målarverkstad", "Plezanje", "Warsztaty"]),  # online: no place
        ({"bbox": "170,-10,-170,10"}, []),
        ({"bbox": "10,45,22,53"}, ["Plezanje", "Warsztaty"]),
        ({"topic": "arts-culture"}, ["Målarverkstad"]),
        ({"topic": "arts-culture,careers"}, ["Målarverkstad", "Webbinarium"]),
        ({"age": "15"}, ["Kodklubb", "Plezanje"]),
        ({"city": "LJUBLJANA"}, ["Plezanje"]),
        ({"city": "Göteborg", "bbox": "11.95,57,12,58"}, ["Kodklubb"]),
        ({"city": "Atlantis"}, []),
        ({"free": "true"}, ["Kodklubb", "Plezanje", "Warsztaty", "Webbinarium"]),
        ({"free": "false"}, ["Kodklubb", "Målarverkstad", "Plezanje", "Warsztaty", "Webbinarium"]),
        ({"mode": "online"}, ["Webbinarium"]),
        ({"language": "PL"}, ["Warsztaty"]),
        ({"datetime": "2026-12-20"}, ["Plezanje"]),  # a Sunday: the Wednesday clubs meet on no day of it
        ({"datetime": "2027-02-01/2027-02-28"}, ["Kodklubb", "Warsztaty", "Webbinarium"]),
        ({"datetime": "../2026-12-10"}, ["Kodklubb", "Webbinarium"]),
        ({"datetime": "2027-06-01/.."}, ["Warsztaty"]),
        ({"datetime": "2027-01-10T10:00:00+01:00", "bbox": "11,57,12,58"}, ["Målarverkstad"]),
    ],
)
def test_items_match_as_explore_does(conn: Any, index: OpportunityIndex, params: dict[str, str], expected: list[str]) -> None:
    page = items(conn, index, **params)
    assert titles(page) == expected
    assert page["type"] == "FeatureCollection"
    assert page["numberMatched"] == page["numberReturned"] == len(expected)
    assert [link["rel"] for link in page["links"]] == ["self", "collection"]


def test_paging_follows_next_by_id(conn: Any, index: OpportunityIndex, sample: dict[str, int]) -> None:
    seen: list[int] = []
    query: dict[str, str] = {"limit": "2", "free": "true"}
    for _ in range(5):
        page = items(conn, index, **query)
        assert page["numberMatched"] == 4 and page["numberReturned"] == len(page["features"]) <= 2
        seen += [f["id"] for f in page["features"]]
        following = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not following:
            break
        parts = urlsplit(following[0])
        assert parts.path == "/api/collections/opportunities/items" and following[0].startswith(PUBLIC)
        query = dict(parse_qsl(parts.query))
        assert query["free"] == "true" and query["limit"] == "2" and int(query["after"]) == seen[-1]
    assert seen == sorted(sample[t] for t in ("Kodklubb", "Plezanje", "Warsztaty", "Webbinarium"))


def test_a_page_after_the_last_id_is_empty(conn: Any, index: OpportunityIndex, sample: dict[str, int]) -> None:
    page = items(conn, index, after=str(max(sample.values())))
    assert page["features"] == [] and page["numberMatched"] == 5
    assert all(link["rel"] != "next" for link in page["links"])


def test_items_have_the_exports_features(tmp_path: Path, conn: Any, index: OpportunityIndex) -> None:
    out = tmp_path / "export.geojson"
    export(conn, out, fmt="geojson", status=Status.PUBLISHED)
    exported = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert items(conn, index)["features"] == exported


def test_a_row_withdrawn_since_the_index_was_built_is_left_out(
    engine: Engine, index: OpportunityIndex, sample: dict[str, int]
) -> None:
    with writing(engine) as conn:
        queries.set_status(conn, sample["Plezanje"], Status.ARCHIVED)
    with engine.connect() as conn:
        assert "Plezanje" not in titles(items(conn, index))
        assert features.opportunity_item(conn, sample["Plezanje"], public_url=PUBLIC) is None


def test_one_item(conn: Any, sample: dict[str, int]) -> None:
    found = features.opportunity_item(conn, sample["Kodklubb"], public_url=PUBLIC)
    assert found is not None
    assert found["geometry"] == {"type": "Point", "coordinates": [11.9795, 57.6969]}
    assert found["properties"]["title"] == "Kodklubb"
    assert found["links"][0] == {
        "href": f"{PUBLIC}/api/collections/opportunities/items/{sample['Kodklubb']}",
        "rel": "self", "type": features.GEOJSON, "title": "This feature",
    }  # fmt: skip
    assert features.opportunity_item(conn, sample["Hemlig"], public_url=PUBLIC) is None  # pending
    assert features.opportunity_item(conn, 10**9, public_url=PUBLIC) is None


def test_documents_link_to_each_other() -> None:
    landing = features.landing(PUBLIC, "Cities of Learning: learning opportunities")
    assert {link["rel"]: link["href"] for link in landing["links"]} == {
        "self": f"{PUBLIC}/api/", "conformance": f"{PUBLIC}/api/conformance", "data": f"{PUBLIC}/api/collections",
        "related": f"{PUBLIC}/openactive/",
    }  # fmt: skip
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in features.conformance()["conformsTo"]


def test_the_collections_extent(index: OpportunityIndex) -> None:
    extent = features.opportunities_extent(index)
    assert extent["spatial"] == {"bbox": [[11.94, 46.0514, 21.0122, 57.72]], "crs": features.CRS84}
    assert extent["temporal"]["interval"] == [["2026-12-02", "2027-06-26"]]
    described = features.collection(PUBLIC, features.OPPORTUNITIES, extent)
    assert described["crs"] == [features.CRS84] and described["itemType"] == "feature"
    assert f"{PUBLIC}/api/collections/opportunities/items" in [link["href"] for link in described["links"]]


# --- districts ------------------------------------------------------------------------------------


@pytest.fixture
def coverage(engine: Engine, sample: dict[str, int], tmp_path: Path) -> CoverageIndex:
    store_goteborg_districts(engine)
    with engine.connect() as conn:
        return open_coverage(conn, tmp_path / "cache")


def store_goteborg_districts(engine: Engine) -> None:
    with engine.connect() as conn:
        city = queries.find_city(conn, "Göteborg", "SE")
    assert city is not None and city.id is not None
    store_districts(
        engine,
        city.id,
        [District("Väster", shapely.box(*WEST), population=2000), District("Öster", shapely.box(*EAST), population=500)],
    )


def districts(coverage: CoverageIndex, **params: str) -> dict[str, Any]:
    query = parse_items_query(features.DISTRICTS, {k: [v] for k, v in params.items()})
    return features.district_items(coverage, query, public_url=PUBLIC, now=NOW)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"Väster": 1, "Öster": 1}),
        ({"topic": "arts-culture"}, {"Väster": 1, "Öster": 0}),
        ({"bbox": "11.97,57.6,12.1,57.8"}, {"Öster": 1}),
        ({"bbox": "0,0,1,1"}, {}),
        ({"city": "Ljubljana"}, {}),
        ({"datetime": "2027-01-10"}, {"Väster": 1, "Öster": 0}),
        ({"free": "true"}, {"Väster": 0, "Öster": 1}),
    ],
)
def test_districts_with_their_counts(coverage: CoverageIndex, params: dict[str, str], expected: dict[str, int]) -> None:
    page = districts(coverage, **params)
    assert {f["properties"]["name"]: f["properties"]["count"] for f in page["features"]} == expected
    assert page["numberMatched"] == len(expected)


def test_a_districts_feature(coverage: CoverageIndex) -> None:
    page = districts(coverage, limit="1")
    [first] = page["features"]
    assert first["geometry"]["type"] == "Polygon"
    assert first["properties"] == {
        "id": first["id"], "name": "Väster", "city": "Göteborg", "country": "SE", "population": 2000, "count": 1,
        "per_1000": 0.5, **{topic: int(topic == "arts-culture") for topic in TOPICS},
    }  # fmt: skip
    [following] = [link["href"] for link in page["links"] if link["rel"] == "next"]
    second = districts(coverage, **dict(parse_qsl(urlsplit(following).query)))
    assert [f["properties"]["name"] for f in second["features"]] == ["Öster"]
    assert features.district_item(coverage, first["id"], public_url=PUBLIC) == {**first, "links": [
        {"href": f"{PUBLIC}/api/collections/districts/items/{first['id']}", "rel": "self", "type": features.GEOJSON,
         "title": "This feature"},
        {"href": f"{PUBLIC}/api/collections/districts", "rel": "collection", "type": features.JSON, "title": "The collection"},
    ]}  # fmt: skip
    assert features.district_item(coverage, 10**9, public_url=PUBLIC) is None
    assert features.districts_extent(coverage)["spatial"]["bbox"] == [[WEST[0], WEST[1], EAST[2], EAST[3]]]


def test_items_query_keeps_the_filters_for_next() -> None:
    query = parse_items_query(features.OPPORTUNITIES, {"topic": ["careers"], "after": ["3"], "f": ["json"]})
    assert query == ItemsQuery(search=query.search, limit=features.DEFAULT_LIMIT, after=3, params=(("topic", "careers"),))


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "For GIS software"), ("sv", "För GIS-program"), ("sl", "Za programe GIS"), ("pl", "Dla programów GIS")],
)
def test_the_dataset_site_points_gis_software_to_the_api(language: str, words: str) -> None:
    from dataclasses import replace

    from opportunities.feeds.dataset import page
    from opportunities.settings import load_settings

    written = page(replace(load_settings(), public_url=PUBLIC), language)
    assert words in written and f'<a href="{PUBLIC}/api/"><code>{PUBLIC}/api/</code></a>' in written
