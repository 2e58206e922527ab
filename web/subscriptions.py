"""Subscribe to a search, and print it: ``/subscribe/calendar.ics``, ``/subscribe/atom.xml`` and
``/print`` take the Explore page's own URL parameters (:mod:`opportunities.feeds.subscriptions`).

The routes read the same live search index, database and gazetteer the pages use (their cached
resources in :mod:`ui.app_state`), in a worker thread. A feed may be cached for
:data:`FEED_CACHE_S` seconds (calendar apps and feed readers poll; the index changes within
seconds, nobody needs it sooner). A parameter that cannot be used is a 400 naming it, with the
Explore page's message for it in the reader's language (JSON for the feeds, a page for ``/print``).
Nothing about the request is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from opportunities.errors import GeocodingError
from opportunities.explore import url_params
from opportunities.explore.index import OpportunityIndex
from opportunities.feeds import printable, subscriptions
from opportunities.feeds.rpde import FeedParameterError
from opportunities.feeds.subscriptions import Subscription
from opportunities.i18n import negotiate_language
from opportunities.model import City
from opportunities.settings import Settings, load_settings
from web.openactive import page_language

_LOG = logging.getLogger(__name__)
FEED_CACHE_S = 600
FEED_CACHE = f"public, max-age={FEED_CACHE_S}"
PRINT_CACHE = "public, max-age=300"
_NO_STORE = {"Cache-Control": "no-store"}
CALENDAR_TYPE = "text/calendar; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"


@dataclass(frozen=True)
class SearchState:
    """What a route searches with: the database, the live index's current version, the cities."""

    engine: Engine
    index: OpportunityIndex
    cities: list[City]
    locate: Callable[[str, str | None], tuple[float, float]]


def search_state(settings: Settings) -> SearchState:
    """The pages' own cached resources (the warm-up at server start has opened them)."""
    from ui import app_state

    engine = app_state.database(
        settings.database_url, str(settings.cache_dir), settings.demo_seed, settings.database_busy_timeout_s
    )

    def locate(place: str, country: str | None) -> tuple[float, float]:
        found = app_state.geocoder(str(settings.cache_dir), str(settings.address_dir)).geocode_query(place, country)
        return found.latitude, found.longitude

    return SearchState(
        engine, app_state.opportunity_index(engine, settings.database_url),
        app_state.published_cities(engine, settings.database_url), locate,
    )  # fmt: skip


@dataclass(frozen=True)
class Search:
    """A request's search, read and checked: the subscription, the day it starts, the point ``near`` is."""

    subscription: Subscription
    today: date
    near: tuple[float, float] | None
    zones: dict[tuple[str, str], str]


def read_search(state: SearchState, params: Mapping[str, Sequence[str]], browser_language: str, now: datetime) -> Search:
    """The request's search; raises :class:`FeedParameterError` naming a parameter that cannot be used."""
    zones = {(c.name, c.country): c.timezone for c in state.cities}
    by_name = {c.name: c for c in state.cities}
    subscription = subscriptions.read_subscription(
        params, cities=list(by_name), languages_taught=state.index.language_codes,
        today=url_params.local_today(zones.values(), now=now), browser_language=browser_language,
    )  # fmt: skip
    filters = subscription.filters
    # "Today" in the chosen city, as on the Explore page; with none, the earliest among all cities.
    city = by_name.get(filters.city)
    today = url_params.local_today([city.timezone] if city else zones.values(), now=now)
    near = None
    if filters.place:
        try:
            near = state.locate(filters.place, city.country if city else None)
        except GeocodingError:
            raise subscriptions.place_not_found(filters.place, subscription.language) from None
    return Search(subscription, today, near, zones)


def _params(request: Request) -> dict[str, list[str]]:
    return {name: request.query_params.getlist(name) for name in request.query_params}


def _browser_language(request: Request) -> str:
    return negotiate_language([request.headers.get("accept-language", "")])


def _render(request: Request, write: Callable[[Connection, SearchState, Search, str, Settings], str]) -> Callable[[], str]:
    """The work of one request, for a worker thread: read the search, then ``write`` the answer."""
    settings = load_settings()
    params, browser_language = _params(request), _browser_language(request)
    base = subscriptions.app_address(settings.public_url, str(request.base_url))

    def work() -> str:
        state = search_state(settings)
        search = read_search(state, params, browser_language, url_params.utc_now())
        with state.engine.connect() as conn:
            return write(conn, state, search, base, settings)

    return work


def _calendar(conn: Connection, state: SearchState, search: Search, base: str, settings: Settings) -> str:
    return subscriptions.calendar(
        conn, state.index, search.subscription, zones=search.zones, today=search.today, base_url=base,
        publisher=settings.feed_publisher, near=search.near,
    )  # fmt: skip


def _atom(conn: Connection, state: SearchState, search: Search, base: str, settings: Settings) -> str:
    return subscriptions.atom(
        conn, state.index, search.subscription, today=search.today, base_url=base, publisher=settings.feed_publisher,
        near=search.near,
    )  # fmt: skip


def _print(conn: Connection, state: SearchState, search: Search, base: str, settings: Settings) -> str:
    found = subscriptions.listed(conn, state.index, search.subscription.filters, today=search.today, near=search.near)
    return printable.page(search.subscription, found, base_url=base, publisher=settings.feed_publisher)


def _unavailable() -> JSONResponse:
    _LOG.exception("a search subscription could not read the database")
    body = {"error": "unavailable", "message": "the database does not answer; try again in a minute"}
    return JSONResponse(body, status_code=503, headers={**_NO_STORE, "Retry-After": "60"})


def feed(path: str, media_type: str, write: Callable[[Connection, SearchState, Search, str, Settings], str]) -> Route:
    """The route at ``path`` answering with what ``write`` makes of the request's search."""

    async def serve(request: Request) -> Response:
        try:
            body = await run_in_threadpool(_render(request, write))
        except FeedParameterError as error:
            answer = {"error": "bad parameter", "parameter": error.parameter, "message": error.message}
            return JSONResponse(answer, status_code=400, headers=_NO_STORE)
        except SQLAlchemyError:
            return _unavailable()
        headers = {"Cache-Control": FEED_CACHE, "Vary": "Accept-Language"}
        return Response(body, media_type=media_type, headers=headers)

    return Route(path, serve, methods=["GET"])


async def print_page(request: Request) -> Response:
    """The printable list; a bad parameter is a short page saying which, in the reader's language."""
    try:
        body = await run_in_threadpool(_render(request, _print))
    except FeedParameterError as error:
        page = printable.error_page(error.parameter, error.message, page_language(request))
        return HTMLResponse(page, status_code=400, headers=_NO_STORE)
    except SQLAlchemyError:
        return _unavailable()
    return HTMLResponse(body, headers={"Cache-Control": PRINT_CACHE, "Vary": "Accept-Language"})


ROUTES = [
    feed("/subscribe/calendar.ics", CALENDAR_TYPE, _calendar),
    feed("/subscribe/atom.xml", ATOM_TYPE, _atom),
    Route("/print", print_page, methods=["GET"]),
]
