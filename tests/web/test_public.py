"""What every public route gets (issue 17): a rate limit per client, and ETags with 304s."""

from __future__ import annotations

import http.client
import json
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from opportunities.settings import load_settings
from tests.web import asgi
from tests.web.serving import serving
from web import openactive, public
from web.headers import SecurityHeaders
from web.public import (
    COSTLY,
    PUBLIC,
    ConditionalGet,
    RateLimit,
    TokenBuckets,
    bucket_of,
    is_proxy,
    matches,
    proxy_networks,
    strong_etag,
)

CLIENT = "192.0.2.10"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("path", "bucket"),
    [("/openactive", PUBLIC), ("/openactive/", PUBLIC), ("/openactive/events", PUBLIC), ("/api/collections", PUBLIC),
     ("/api", PUBLIC), ("/subscribe/x.ics", COSTLY), ("/print", COSTLY), ("/badges/1", PUBLIC), ("/apiary", None),
     ("/", None), ("/explore", None), ("/_stcore/stream", None), ("/_stcore/health", None), ("/health", None),
     ("/ready", None), ("/auth/session", None), ("/app/static/x.js", None), ("/component/x/index.html", None)],
)  # fmt: skip
def test_the_public_routes_by_prefix(path: str, bucket: str | None) -> None:
    assert bucket_of(path) == bucket


def test_a_bucket_holds_a_minutes_worth_and_refills() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=3, max_keys=10, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(20.0)  # a token every 20 s
    assert buckets.take("b") == 0  # another client: its own bucket
    clock.now += 10
    assert buckets.take("a") == pytest.approx(10.0)  # half a token back; a refused request costs nothing
    clock.now += 10
    assert buckets.take("a") == 0
    clock.now += 3600
    assert [buckets.take("a") for _ in range(4)][-1] > 0  # never more than the capacity


def test_at_most_max_keys_clients_are_kept_the_oldest_forgotten() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=1, max_keys=2, clock=clock)
    assert buckets.take("a") == 0 and buckets.take("b") == 0
    assert buckets.take("a") > 0  # a is now the most recently seen
    assert buckets.take("c") == 0 and len(buckets) == 2  # b, seen longest ago, is forgotten
    assert buckets.take("a") > 0 and buckets.take("b") == 0


@pytest.mark.parametrize(
    ("header", "etag", "found"),
    [(b'"x"', b'"x"', True), (b'"y", "x"', b'"x"', True), (b'W/"x"', b'"x"', True), (b"*", b'"x"', True),
     (b'"y"', b'"x"', False), (b'"xx"', b'"x"', False), (b"", b'"x"', False)],
)  # fmt: skip
def test_if_none_match(header: bytes, etag: bytes, found: bool) -> None:
    assert matches(header, etag) is found


# --- through an app ------------------------------------------------------------------------------


async def items(request: Request) -> Response:
    if request.query_params.get("bad"):
        return JSONResponse({"error": "bad parameter", "parameter": "bad"}, status_code=400)
    body = {"items": [request.query_params.get("v", "1")]}
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=60", "Vary": "Accept-Language"})


async def own_etag(_request: Request) -> Response:
    return PlainTextResponse("big", headers={"ETag": '"v7"'})


def app_with(per_minute: int = 100, costly: int = 100) -> Starlette:
    settings = load_settings({"RATE_LIMIT_PER_MINUTE": str(per_minute), "RATE_LIMIT_COSTLY_PER_MINUTE": str(costly)})
    routes = [Route(path, items) for path in ("/api/items", "/print", "/explore-data")] + [Route("/api/own", own_etag)]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders, settings=settings),
            Middleware(RateLimit, settings=settings),
            Middleware(ConditionalGet),
        ],
    )


def test_a_200_has_a_strong_etag_and_a_match_is_a_304_without_a_body() -> None:
    app = app_with()
    first = asgi.get(app, "/api/items")
    etag = first.headers["etag"][0]
    assert first.status == 200 and etag == strong_etag(first.body).decode() and not etag.startswith("W/")
    again = asgi.get(app, "/api/items", headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b""
    assert again.headers["etag"] == [etag] and again.headers["cache-control"] == ["public, max-age=60"]
    assert again.headers["vary"] == ["Accept-Language"] and "content-length" not in again.headers
    assert "content-security-policy" in again.headers
    changed = asgi.get(app, "/api/items", "v=2", headers={"If-None-Match": etag})
    assert changed.status == 200 and changed.headers["etag"] != [etag] and b'"2"' in changed.body


def test_only_200s_of_public_routes_get_an_etag() -> None:
    app = app_with()
    assert "etag" not in asgi.get(app, "/api/items", "bad=1").headers
    assert "etag" not in asgi.get(app, "/explore-data").headers


def test_a_routes_own_etag_is_kept_and_compared() -> None:
    app = app_with()
    assert asgi.get(app, "/api/own").headers["etag"] == ['"v7"']
    answer = asgi.get(app, "/api/own", headers={"If-None-Match": '"v7"'})
    assert answer.status == 304 and answer.body == b""


def test_a_body_too_large_to_hold_streams_through_without_an_etag(monkeypatch: pytest.MonkeyPatch) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for n in range(5):
            yield f"chunk {n};".encode()

    async def stream(_request: Request) -> Response:
        return StreamingResponse(chunks(), media_type="text/plain")

    def get() -> tuple[bytes, str | None]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", "/api/stream")
            answer = connection.getresponse()
            assert answer.status == 200
            return answer.read(), answer.getheader("etag")
        finally:
            connection.close()

    app = Starlette(routes=[Route("/api/stream", stream)], middleware=[Middleware(ConditionalGet)])
    with serving(app) as port:  # a server: a streamed answer waits on the client's disconnect
        monkeypatch.setattr(public, "MAX_HASHED_BODY", 10)
        assert get() == (b"chunk 0;chunk 1;chunk 2;chunk 3;chunk 4;", None)
        monkeypatch.setattr(public, "MAX_HASHED_BODY", 1000)
        assert get()[1] is not None  # small enough: held, hashed


def test_past_the_limit_a_429_with_retry_after_and_a_json_body() -> None:
    app = app_with(per_minute=3, costly=1)
    assert [asgi.get(app, "/api/items", client=CLIENT).status for _ in range(3)] == [200, 200, 200]
    refused = asgi.get(app, "/api/items", client=CLIENT)
    assert refused.status == 429 and refused.headers["retry-after"] == ["20"]
    assert refused.headers["content-type"] == ["application/json"] and refused.headers["cache-control"] == ["no-store"]
    body = json.loads(refused.body)
    assert body["error"] == "too many requests" and body["limit"] == {"bucket": "public", "per_minute": 3}
    assert asgi.get(app, "/api/items", client="198.51.100.7").status == 200  # another client
    assert asgi.get(app, "/print", client=CLIENT).status == 200  # the costly bucket is counted apart
    assert asgi.get(app, "/print", client=CLIENT).status == 429
    assert [asgi.get(app, "/explore-data", client=CLIENT).status for _ in range(5)] == [200] * 5  # not a public route
    # From a trusted proxy that named no client: not limited (everyone behind it would share a bucket).
    assert [asgi.get(app, "/print", client="127.0.0.1").status for _ in range(5)] == [200] * 5


@pytest.mark.parametrize(
    ("address", "trusted", "proxy"),
    [("127.0.0.1", "127.0.0.1", True), ("10.0.0.7", "10.0.0.0/24, 127.0.0.1", True), ("10.0.1.7", "10.0.0.0/24", False),
     ("::1", "127.0.0.1,::1", True), ("203.0.113.5", "*", False), ("", "127.0.0.1", False), ("testclient", "127.0.0.1", False)],
)  # fmt: skip
def test_which_addresses_are_trusted_proxies(address: str, trusted: str, proxy: bool) -> None:
    assert is_proxy(address, proxy_networks(trusted)) is proxy


def test_the_feeds_get_both(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    app = Starlette(routes=openactive.ROUTES, middleware=[Middleware(RateLimit), Middleware(ConditionalGet)])
    first = asgi.get(app, "/openactive/events")
    assert first.status == 200 and first.headers["cache-control"] == ["public, max-age=8"]
    again = asgi.get(app, "/openactive/events", headers={"If-None-Match": first.headers["etag"][0]})
    assert again.status == 304 and again.headers["cache-control"] == ["public, max-age=8"]
    assert asgi.get(app, "/openactive/", headers={"If-None-Match": first.headers["etag"][0]}).status == 200


# --- the client behind a trusted proxy, through a real uvicorn server ----------------------------------


@pytest.fixture
def behind_proxy() -> Iterator[int]:
    """``app_with`` (2 requests a minute) served by uvicorn, trusting X-Forwarded-For from 127.0.0.1 only."""
    with serving(app_with(per_minute=2), proxy_headers=True, forwarded_allow_ips="127.0.0.1") as port:
        yield port


def status(port: int, forwarded_for: str | None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/api/items", headers={"X-Forwarded-For": forwarded_for} if forwarded_for else {})
        return connection.getresponse().status
    finally:
        connection.close()


def test_each_client_behind_a_trusted_proxy_has_its_own_bucket(behind_proxy: int) -> None:
    assert [status(behind_proxy, "203.0.113.5") for _ in range(3)] == [200, 200, 429]
    assert [status(behind_proxy, "203.0.113.6") for _ in range(3)] == [200, 200, 429]
    assert [status(behind_proxy, None) for _ in range(3)] == [200, 200, 200]  # no client named: not limited


def test_a_304_through_a_real_server() -> None:
    with serving(app_with()) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", "/api/items")
            first = connection.getresponse()
            first.read()
            etag = first.getheader("etag")
            assert first.status == 200 and etag
            connection.request("GET", "/api/items", headers={"If-None-Match": etag})  # the same connection, kept alive
            again = connection.getresponse()
            assert again.status == 304 and again.read() == b"" and again.getheader("etag") == etag
            connection.request("GET", "/api/items", headers={"If-None-Match": etag, "Accept-Encoding": "gzip"})
            assert connection.getresponse().status == 304  # no compression in this app: the same body
        finally:
            connection.close()
