"""OpenActive out through the ASGI app (issue 17): the RPDE feeds walked from their first page as a
consumer follows them, their headers and errors, and the dataset site in four languages."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, update
from starlette.applications import Starlette
from starlette.middleware import Middleware

from opportunities.db import schema
from opportunities.db.connection import writing
from opportunities.feeds import rpde
from opportunities.listings.importing import import_records
from opportunities.places.geocoding import Geocoder
from opportunities.vocabulary import Status
from tests.conftest import template_row
from tests.web import asgi
from web.headers import SecurityHeaders
from web.openactive import ROUTES

PUBLIC = "https://map.example.org"


def request(app: Starlette, url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET ``url`` (a path with its query, or an absolute URL of PUBLIC) from the ASGI app."""
    parts = urlsplit(url.removeprefix(PUBLIC))
    answer = asgi.get(app, parts.path, parts.query, headers)
    return answer.status, {name: values[-1] for name, values in answer.headers.items()}, answer.body


@pytest.fixture
def app(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Starlette:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("INDEX_OVERLAP_S", "0")
    monkeypatch.setattr(rpde, "PAGE_SIZE", 2)
    return Starlette(routes=ROUTES, middleware=[Middleware(SecurityHeaders)])


@pytest.fixture
def ids(engine: Engine, geocoder: Geocoder) -> list[int]:
    located = {"latitude": "57.6969", "longitude": "11.9795"}
    rows = [template_row(title=f"Dans {n}", **located) for n in range(5)]
    rows.append(template_row(title="Teaterdag", schedule="", start="2026-12-05 10:00", end="", **located))
    report = import_records(engine, rows, geocoder, publish=True)
    assert not report.rejected
    return report.stored_ids


def walk(app: Starlette, url: str) -> tuple[list[dict[str, Any]], str]:
    """Every item from ``url`` to the last page, and the last page's URL; checks every page's headers."""
    items: list[dict[str, Any]] = []
    for _ in range(50):
        status, headers, body = request(app, url)
        assert status == 200 and headers["content-type"] == "application/json"
        page = json.loads(body)
        assert page["license"] == "https://creativecommons.org/licenses/by/4.0/"
        assert page["next"].startswith(f"{PUBLIC}/openactive/")
        if not page["items"]:
            assert page["next"] == url and headers["cache-control"] == "public, max-age=8"
            return items, url
        assert headers["cache-control"] == "public, max-age=3600"
        items += page["items"]
        url = page["next"]
    raise AssertionError("the feed did not end")


def test_walking_the_feed_from_its_first_page(app: Starlette, engine: Engine, ids: list[int]) -> None:
    items, last = walk(app, f"{PUBLIC}/openactive/session-series")
    assert sorted(i["id"] for i in items if i["state"] == "updated") == sorted(ids[:5])
    assert [i["id"] for i in items if i["state"] == "deleted"] == [ids[5]]  # the one-off is the events feed's
    events, _ = walk(app, f"{PUBLIC}/openactive/events")
    assert [(i["id"], i["state"], i["data"]["@type"]) for i in events if i["state"] == "updated"] == [
        (ids[5], "updated", "Event")
    ]

    with writing(engine) as conn:  # withdrawn: a deletion at the end of the feed
        conn.execute(update(schema.opportunities).where(schema.opportunities.c.id == ids[1])
                     .values(status=Status.ARCHIVED.value, updated_at=datetime.now(UTC)))  # fmt: skip
    more, _ = walk(app, last)
    assert [(i["id"], i["state"]) for i in more] == [(ids[1], "deleted")] and "data" not in more[0]


def test_the_last_page_of_an_empty_feed_is_its_first(app: Starlette) -> None:
    _items, last = walk(app, f"{PUBLIC}/openactive/events")
    assert last == f"{PUBLIC}/openactive/events"


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("afterTimestamp=yesterday&afterId=3", "afterTimestamp"), ("afterTimestamp=12", "afterId"), ("afterId=3", "afterId"),
     ("afterTimestamp=12&afterId=three", "afterId"), ("afterTimestamp=1e5&afterId=3", "afterTimestamp"),
     ("afterTimestamp=99999999999999999999&afterId=3", "afterTimestamp")],
)  # fmt: skip
def test_a_bad_parameter_is_a_400_naming_it(app: Starlette, query: str, parameter: str) -> None:
    status, headers, body = request(app, f"/openactive/session-series?{query}")
    assert status == 400 and headers["content-type"] == "application/json" and headers["cache-control"] == "no-store"
    error = json.loads(body)
    assert error["parameter"] == parameter and parameter in error["message"]


def test_an_unreachable_database_is_a_503(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    status, headers, body = request(Starlette(routes=ROUTES), "/openactive/events")
    assert status == 503 and headers["retry-after"] == "60" and json.loads(body)["error"] == "unavailable"


def dataset_of(body: bytes) -> dict[str, Any]:
    found = re.search(rb'<script type="application/ld\+json">(.*?)</script>', body, re.S)
    assert found is not None
    return dict(json.loads(found.group(1)))


def test_the_dataset_site_lists_every_feed(app: Starlette) -> None:
    status, headers, body = request(app, "/openactive/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    data = dataset_of(body)
    assert data["@type"] == "Dataset" and data["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert data["url"] == f"{PUBLIC}/openactive/" and data["publisher"]["name"] == "Cities of Learning"
    assert data["publisher"]["contactPoint"] == [{"@type": "ContactPoint", "url": PUBLIC}]
    downloads = {d["name"]: d["contentUrl"] for d in data["distribution"]}
    assert downloads == {"SessionSeries": f"{PUBLIC}/openactive/session-series", "Event": f"{PUBLIC}/openactive/events"}
    assert all(d["@type"] == "DataDownload" and "rpde" in d["encodingFormat"] for d in data["distribution"])
    assert b'<html lang="en">' in body and b"Recurring activities" in body
    assert "content-security-policy" in headers
    assert request(app, "/openactive?lang=sv")[1]["location"] == "/openactive/?lang=sv"


@pytest.mark.parametrize(
    ("query", "accept", "language", "text"),
    [("lang=sv", "", "sv", "Återkommande aktiviteter"), ("", "sl-SI,sl;q=0.9", "sl", "Ponavljajoče se dejavnosti"),
     ("", "pl", "pl", "Zajęcia cykliczne"), ("lang=pl", "sv", "pl", "Zajęcia cykliczne"), ("lang=de", "de", "en", "Recurring activities")],
)  # fmt: skip
def test_the_dataset_site_speaks_the_readers_language(app: Starlette, query: str, accept: str, language: str, text: str) -> None:
    _status, headers, body = request(app, f"/openactive/?{query}", {"Accept-Language": accept} if accept else None)
    assert headers["content-language"] == language and f'<html lang="{language}">'.encode() in body
    assert text in body.decode() and text in json.dumps(dataset_of(body), ensure_ascii=False)


def test_the_dataset_site_escapes_what_it_is_given(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEED_PUBLISHER", 'Stad </script><script>alert("x")</script> & co')
    monkeypatch.setenv("FEED_CONTACT", "data@city.example")
    _status, _headers, body = request(app, "/openactive/")
    assert b"<script>alert" not in body and b"&lt;/script&gt;&lt;script&gt;" in body
    data = dataset_of(body)
    assert data["publisher"]["name"] == 'Stad </script><script>alert("x")</script> & co'
    assert data["publisher"]["contactPoint"] == [{"@type": "ContactPoint", "email": "data@city.example"}]
    assert b'href="mailto:data@city.example"' in body


def test_the_server_serves_the_openactive_routes() -> None:
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "server.py").read_text()
    assert "OPENACTIVE_ROUTES" in source
