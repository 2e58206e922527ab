"""OGC API – Features for GIS software under ``/api/`` (:mod:`opportunities.feeds.features`).

``/api/`` (the landing page), ``/api/conformance``, ``/api/collections``,
``/api/collections/{name}``, ``/api/collections/{name}/items`` and ``…/items/{id}``, for the
collections ``opportunities`` and ``districts``. Pages are selected on the app's own live search
index and coverage (the ones the Explore and Coverage pages use, shared in the process: no second
copy, no rebuild per request), then one page of records is read, in a worker thread.

A browser (``Accept: text/html``, or ``?f=html``) gets the landing page as HTML in its language;
GIS clients ask for JSON. Headers: ``application/geo+json`` for features, ``application/json`` for the rest; the landing
page and conformance are cached for an hour, the collections for five minutes, pages of
features for a minute (the index takes in a change within seconds; a minute is what a GIS
refreshing a layer can wait). A bad parameter is a 400 with a JSON body naming it, an unknown
collection or feature a 404, a database that does not answer a 503 with ``Retry-After``.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from opportunities.coverage.districts import CoverageIndex
from opportunities.db.connection import create_db_engine
from opportunities.explore.index import OpportunityIndex
from opportunities.feeds import features
from opportunities.feeds.rpde import FeedParameterError
from opportunities.settings import Settings, load_settings
from web.openactive import page_language

_LOG = logging.getLogger(__name__)
LANDING_CACHE = "public, max-age=3600"
COLLECTIONS_CACHE = "public, max-age=300"
ITEMS_CACHE = "public, max-age=60"
_NO_STORE = "no-store"
# OGC API – Features Part 2: the CRS of the coordinates sent (always CRS84, longitude first).
_CONTENT_CRS = {"Content-Crs": f"<{features.CRS84}>"}


@functools.cache
def _engine(url: str, busy_timeout_s: float) -> Engine:
    return create_db_engine(url, busy_timeout_s=busy_timeout_s)


def _engine_of(settings: Settings) -> Engine:
    return _engine(settings.database_url, settings.database_busy_timeout_s)


def live_index(settings: Settings) -> OpportunityIndex:
    """The search index the Explore page uses (the process's one live index, refreshed in the background)."""
    from ui import app_state

    return app_state._live_index(_engine_of(settings), settings.database_url).current()


def live_coverage(settings: Settings) -> CoverageIndex:
    """The districts' coverage the Coverage page uses (built once per data and boundary version)."""
    from ui import app_state

    return app_state.coverage(_engine_of(settings), settings.database_url)


def _json(
    body: dict[str, Any], media_type: str, cache: str, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Response(text.encode(), status_code=status, media_type=media_type, headers={"Cache-Control": cache, **(headers or {})})


def bad_parameter(error: FeedParameterError) -> Response:
    body = {"code": "InvalidParameterValue", "parameter": error.parameter, "description": error.message}
    return _json(body, features.JSON, _NO_STORE, 400)


def not_found(what: str) -> Response:
    return _json({"code": "NotFound", "description": what}, features.JSON, _NO_STORE, 404)


def _unavailable() -> Response:
    _LOG.exception("the OGC API could not read the database")
    body = {"code": "ServiceUnavailable", "description": "the database does not answer; try again in a minute"}
    return _json(body, features.JSON, _NO_STORE, 503, {"Retry-After": "60"})


def _answering(read: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """``read`` with a bad parameter as a 400 and a database that does not answer as a 503."""

    async def serve(request: Request) -> Response:
        try:
            return await read(request)
        except FeedParameterError as error:
            return bad_parameter(error)
        except SQLAlchemyError:
            return _unavailable()

    return serve


def _no_parameters(request: Request, allowed: frozenset[str] = frozenset({"f"}), formats: tuple[str, ...] = ("json",)) -> None:
    for name in request.query_params:
        if name not in allowed:
            raise FeedParameterError(name, f"unknown parameter {name!r}; this resource takes: {', '.join(sorted(allowed))}")
        if len(request.query_params.getlist(name)) > 1:
            raise FeedParameterError(name, f"{name} is given more than once; give it once")
    if request.query_params.get("f", "json") not in formats:
        raise FeedParameterError("f", f"f must be {' or '.join(formats)}")
    features.check_crs(request.query_params.get("crs"))


def wants_html(request: Request) -> bool:
    """``f=html``, or no ``f`` and a client that asks for HTML (a browser; GIS clients ask for JSON)."""
    chosen = request.query_params.get("f")
    if chosen is not None:
        return chosen == "html"
    return "text/html" in request.headers.get("accept", "")


@_answering
async def landing(request: Request) -> Response:
    """The landing page: JSON, or HTML in the reader's language for a browser."""
    _no_parameters(request, frozenset({"f", "lang"}), formats=("json", "html"))
    settings = load_settings()
    if wants_html(request):
        language = page_language(request)
        page = features.landing_html(settings.public_url, settings.feed_publisher, language)
        headers = {"Cache-Control": LANDING_CACHE, "Content-Language": language, "Vary": "Accept, Accept-Language"}
        return HTMLResponse(page, headers=headers)
    body = features.landing(settings.public_url, f"{settings.feed_publisher}: learning opportunities")
    return _json(body, features.JSON, LANDING_CACHE, headers={"Vary": "Accept"})


@_answering
async def conformance(request: Request) -> Response:
    _no_parameters(request)
    return _json(features.conformance(), features.JSON, LANDING_CACHE)


def _extents(settings: Settings, names: tuple[str, ...] = features.COLLECTIONS) -> dict[str, dict[str, Any]]:
    extents = {}
    if features.OPPORTUNITIES in names:
        extents[features.OPPORTUNITIES] = features.opportunities_extent(live_index(settings))
    if features.DISTRICTS in names:
        extents[features.DISTRICTS] = features.districts_extent(live_coverage(settings))
    return extents


@_answering
async def collections(request: Request) -> Response:
    _no_parameters(request)
    settings = load_settings()
    extents = await run_in_threadpool(_extents, settings)
    return _json(features.collections(settings.public_url, extents), features.JSON, COLLECTIONS_CACHE)


@_answering
async def collection(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in features.COLLECTIONS:
        return not_found(f"no collection {name!r}; the collections are: {', '.join(features.COLLECTIONS)}")
    _no_parameters(request)
    settings = load_settings()
    extent = (await run_in_threadpool(_extents, settings, (name,)))[name]
    return _json(features.collection(settings.public_url, name, extent), features.JSON, COLLECTIONS_CACHE)


def _read_items(settings: Settings, name: str, query: features.ItemsQuery) -> dict[str, Any]:
    now = datetime.now(UTC)
    if name == features.DISTRICTS:
        return features.district_items(live_coverage(settings), query, public_url=settings.public_url, now=now)
    index = live_index(settings)
    with _engine_of(settings).connect() as conn:
        return features.opportunity_items(conn, index, query, public_url=settings.public_url, now=now)


@_answering
async def items(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in features.COLLECTIONS:
        return not_found(f"no collection {name!r}; the collections are: {', '.join(features.COLLECTIONS)}")
    params = {key: request.query_params.getlist(key) for key in request.query_params}
    query = features.parse_items_query(name, params)
    body = await run_in_threadpool(_read_items, load_settings(), name, query)
    return _json(body, features.GEOJSON, ITEMS_CACHE, headers=_CONTENT_CRS)


def _read_item(settings: Settings, name: str, item_id: int) -> dict[str, Any] | None:
    if name == features.DISTRICTS:
        return features.district_item(live_coverage(settings), item_id, public_url=settings.public_url)
    with _engine_of(settings).connect() as conn:
        return features.opportunity_item(conn, item_id, public_url=settings.public_url)


@_answering
async def item(request: Request) -> Response:
    name, text = request.path_params["name"], request.path_params["item_id"]
    if name not in features.COLLECTIONS:
        return not_found(f"no collection {name!r}; the collections are: {', '.join(features.COLLECTIONS)}")
    _no_parameters(request, frozenset({"f", "crs"}), formats=("json", "geojson"))
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return not_found(f"no feature {text!r} in {name}")
    found = await run_in_threadpool(_read_item, load_settings(), name, int(text))
    if found is None:
        return not_found(f"no feature {text} in {name}")
    return _json(found, features.GEOJSON, ITEMS_CACHE, headers=_CONTENT_CRS)


ROUTES = [
    Route("/api", landing, methods=["GET"]),
    Route("/api/", landing, methods=["GET"]),
    Route("/api/conformance", conformance, methods=["GET"]),
    Route("/api/collections", collections, methods=["GET"]),
    Route("/api/collections/{name}", collection, methods=["GET"]),
    Route("/api/collections/{name}/items", items, methods=["GET"]),
    Route("/api/collections/{name}/items/{item_id}", item, methods=["GET"]),
]
