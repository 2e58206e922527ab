"""OpenActive out: the dataset site ``/openactive/`` and the RPDE feeds ``/openactive/session-series``
and ``/openactive/events`` (:mod:`opportunities.feeds`).

A feed page is one query, run in a worker thread. Its headers follow OpenActive's guidance: a page
with items is cached for an hour (``public, max-age=3600``: what follows it is reached by its
``next``, so it never goes stale in a way that hides a change), the last page (no items) for 8
seconds, so consumers polling it see changes soon. A bad parameter is a 400 with a JSON body
naming it; a database that does not answer a 503 with ``Retry-After``.
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from opportunities.db.connection import create_db_engine
from opportunities.feeds import dataset, rpde
from opportunities.feeds.openactive import FEED_PATHS
from opportunities.i18n import negotiate_language
from opportunities.settings import Settings, load_settings

_LOG = logging.getLogger(__name__)
FULL_PAGE_CACHE = "public, max-age=3600"
LAST_PAGE_CACHE = "public, max-age=8"
DATASET_SITE_CACHE = "public, max-age=300"
_NO_STORE = {"Cache-Control": "no-store"}


@functools.cache
def _engine(url: str, busy_timeout_s: float) -> Engine:
    return create_db_engine(url, busy_timeout_s=busy_timeout_s)


def _read_page(settings: Settings, kind: str, after: rpde.Position | None) -> rpde.Page:
    with _engine(settings.database_url, settings.database_busy_timeout_s).connect() as conn:
        return rpde.page(
            conn,
            kind,
            after,
            public_url=settings.public_url,
            license_url=settings.feed_license,
            now=datetime.now(UTC),
            delay=timedelta(seconds=settings.index_overlap_s),
            limit=rpde.PAGE_SIZE,
        )


def _bad_parameter(error: rpde.FeedParameterError) -> JSONResponse:
    body = {"error": "bad parameter", "parameter": error.parameter, "message": error.message}
    return JSONResponse(body, status_code=400, headers=_NO_STORE)


def feed(kind: str) -> Route:
    """The route of ``kind``'s RPDE feed."""

    async def serve(request: Request) -> Response:
        params = {name: request.query_params.getlist(name) for name in request.query_params}
        try:
            after = rpde.parse_position(params)
        except rpde.FeedParameterError as error:
            return _bad_parameter(error)
        settings = load_settings()
        try:
            found = await run_in_threadpool(_read_page, settings, kind, after)
        except SQLAlchemyError:
            _LOG.exception("the OpenActive feed could not read the database")
            body = {"error": "unavailable", "message": "the database does not answer; try again in a minute"}
            return JSONResponse(body, status_code=503, headers={**_NO_STORE, "Retry-After": "60"})
        cache = LAST_PAGE_CACHE if found.last else FULL_PAGE_CACHE
        return JSONResponse(found.body, headers={"Cache-Control": cache})

    return Route(f"/openactive/{FEED_PATHS[kind]}", serve, methods=["GET"], name=f"openactive-{FEED_PATHS[kind]}")


def page_language(request: Request) -> str:
    """``?lang=`` first, then the browser's Accept-Language, among the app's languages; else English."""
    return negotiate_language([request.query_params.get("lang", ""), request.headers.get("accept-language", "")])


async def dataset_site(request: Request) -> HTMLResponse:
    """The dataset site, in the reader's language."""
    language = page_language(request)
    headers = {"Cache-Control": DATASET_SITE_CACHE, "Content-Language": language, "Vary": "Accept-Language"}
    return HTMLResponse(dataset.page(load_settings(), language), headers=headers)


async def to_dataset_site(request: Request) -> RedirectResponse:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/openactive/{query}", status_code=308)


ROUTES = [
    Route("/openactive/", dataset_site, methods=["GET"]),
    Route("/openactive", to_dataset_site, methods=["GET"]),
    *(feed(kind) for kind in FEED_PATHS),
]
