"""Ready before the first visitor: the warm-up at server start, ``/ready`` and ``/health``.

When ``server.py`` starts, before it answers anyone (up to ``WARMUP_WAIT_S``), a thread opens what a fresh server's first visitor used to
wait for (16.8 s at 400 opportunities, 43.8 s at 1,000,000 with no saved index): the gazetteer
(built when missing), the database (the demo data loaded into an empty one), the search index
(its snapshot, or a build), the geocoder and the Explore page's modules. It fills the same cached resources the pages use
(:mod:`ui.app_state`), so a visitor who comes early waits for that same work, never a second copy.

The same lifespan starts the scheduled harvest of the registered external feeds
(:class:`HarvestSchedule`, every ``HARVEST_INTERVAL_S`` seconds; off at 0): a thread of its own,
after the warm-up, that writes each page in a short transaction, so no page ever waits for it.
Replicas share the work through each feed's lease (:mod:`opportunities.feeds.harvesting`).

``GET /ready`` answers 503 until the warm-up is done (and when it failed), then 200 with the age of
the search index: a reverse proxy or load balancer sends visitors only to a ready server.
``GET /health`` answers 200 while the database answers a query, else 503. Neither says more
than that (no paths, no versions).
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from opportunities.db.connection import create_db_engine
from opportunities.errors import SettingsError
from opportunities.settings import Settings, load_settings

_LOG = logging.getLogger(__name__)
_NO_STORE = {"Cache-Control": "no-store"}


def warm(settings: Settings) -> Callable[[], float]:
    """Open the gazetteer, the database, the search index and the geocoder as the pages do (their
    cached resources); returns a function giving the search index's age in seconds."""
    from pathlib import Path

    from opportunities.places.gazetteer import Gazetteer, gazetteer_is_current
    from ui import app_state

    cache_dir = str(settings.cache_dir)
    if not gazetteer_is_current(Path(cache_dir)):
        Gazetteer.open(Path(cache_dir))
    app_state._READY_GAZETTEERS.add(cache_dir)
    engine = app_state.database(settings.database_url, cache_dir, settings.demo_seed, settings.database_busy_timeout_s)
    live = app_state._live_index(engine, settings.database_url)
    live.current()
    app_state.geocoder(cache_dir, str(settings.address_dir))
    import_page_modules()
    return live.age_s


# What the Explore page imports beyond what the warm-up has opened (folium's map code, the URL, date
# and text helpers): a fresh server's first visitor waited for these imports in the page's first run.
# Never a module that declares a Streamlit component (``ui.map_component`` imports streamlit-folium,
# ``ui.language`` defines one): declared outside a script run, the component is never registered and
# the map's frame answers 404 (tests/web/test_readiness.py checks it in a fresh interpreter).
PAGE_MODULES = (
    "maps.overview", "maps.position", "maps.approximate", "opportunities.i18n", "opportunities.listings.calendar",
    "opportunities.explore.url_params", "opportunities.places.nearby", "opportunities.opportunity_text",
)  # fmt: skip


def import_page_modules(names: tuple[str, ...] = PAGE_MODULES) -> None:
    """Import the Explore page's modules now; one that fails is logged and left to the page (not a failed warm-up)."""
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # the page imports it again and shows its own error
            _LOG.warning("warming up: importing %s failed", name, exc_info=True)


class Warmup:
    """The warm-up, run once in a background thread; ``ready`` once it has finished without error."""

    def __init__(self, work: Callable[[], Callable[[], float]]) -> None:
        self._work = work
        self._thread: threading.Thread | None = None
        self._index_age: Callable[[], float] | None = None
        self.failed = False
        self.took_s: float | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="warm-up", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        try:
            self._index_age = self._work()
        except Exception:  # logged; /ready says 503 and the pages try again
            _LOG.exception("warming up failed: the first visitor will wait for the search index and the gazetteer")
            self.failed = True
        self.took_s = time.monotonic() - started
        if not self.failed:
            _LOG.info("warmed up in %.1f s: ready for visitors", self.took_s)

    def wait(self, timeout_s: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout_s)
        return self.ready

    @property
    def ready(self) -> bool:
        return self._index_age is not None

    def index_age_s(self) -> float | None:
        return None if self._index_age is None else self._index_age()


WARMUP = Warmup(lambda: warm(load_settings()))


class HarvestSchedule:
    """Runs ``work`` every ``interval_s`` seconds in a daemon thread until stopped (never when
    ``interval_s`` is 0); a failing round is logged and the next one runs as planned."""

    def __init__(self, interval_s: float, work: Callable[[], object]) -> None:
        self.interval_s = interval_s
        self._work = work
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    def start(self) -> None:
        if self.interval_s > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="feed-harvest", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self._work()
            except Exception:  # logged; the next round tries again
                _LOG.exception("harvesting the external feeds failed")
            self.rounds += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


def harvest_round(settings: Settings, warmup: Warmup = WARMUP) -> None:
    """One scheduled harvest of every due feed, on the app's engine and geocoder (after the warm-up)."""
    from opportunities.feeds import harvesting
    from ui import app_state

    if not warmup.wait(600):
        return
    cache_dir = str(settings.cache_dir)
    engine = app_state.database(settings.database_url, cache_dir, settings.demo_seed, settings.database_busy_timeout_s)
    geocoder = app_state.geocoder(cache_dir, str(settings.address_dir))
    for report in harvesting.harvest_due(engine, geocoder, limits=harvesting.fetch_limits(settings),
                                         max_pages=settings.harvest_max_pages, owner=REPLICA):  # fmt: skip
        if report.error is not None:
            _LOG.warning("feed %s: %s", report.feed_id, report.error)
        elif not report.skipped:
            _LOG.info("feed %s: %s items, %s stored, %s deleted, %s refused", report.feed_id, report.seen, report.stored,
                      report.deleted, len(report.rejected))  # fmt: skip


# This process, as the holder of a feed's lease (several replicas may share one database).
REPLICA = f"{socket.gethostname()[:40]}-{os.getpid()}"


def _warmup_wait_s() -> float:
    try:
        return load_settings().warmup_wait_s
    except SettingsError:  # the warm-up reports it (and /ready says 503)
        return 0.0


async def wait_for_warmup(warmup: Warmup, timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for ``warmup`` without blocking the event loop; whether it is ready.

    Awaited in the lifespan, before the server accepts its first request: uvicorn serves the
    listening socket only once the lifespan has started, so a visitor who comes early is answered
    when the warm-up is done (the connection waits in the socket's backlog), and ``/_stcore/health``,
    which a proxy's health check reads, answers only then.
    """
    import asyncio

    if timeout_s <= 0:
        return warmup.ready
    started = time.monotonic()
    ready = await asyncio.to_thread(warmup.wait, timeout_s)
    if not ready and not warmup.failed:
        _LOG.warning("still warming up after %.0f s (WARMUP_WAIT_S): answering visitors now", time.monotonic() - started)
    return ready


def _harvest_schedule() -> HarvestSchedule:
    try:
        settings = load_settings()
    except SettingsError:  # the warm-up reports it (and /ready says 503); no harvest meanwhile
        _LOG.exception("the scheduled harvest is off: a setting cannot be used")
        return HarvestSchedule(0, lambda: None)
    return HarvestSchedule(settings.harvest_interval_s, lambda: harvest_round(settings))


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """``st.App``'s lifespan hook: the warm-up and the scheduled harvest start as the server does."""
    WARMUP.start()
    await wait_for_warmup(WARMUP, _warmup_wait_s())
    schedule = _harvest_schedule()
    schedule.start()
    try:
        yield
    finally:
        schedule.stop()


def ready_response(warmup: Warmup) -> JSONResponse:
    age = warmup.index_age_s()
    if age is None:
        status = "failed" if warmup.failed else "warming up"
        return JSONResponse({"ready": False, "status": status}, status_code=503, headers=_NO_STORE)
    return JSONResponse({"ready": True, "index_age_s": round(age, 1)}, headers=_NO_STORE)


async def ready(_request: Request) -> JSONResponse:
    """200 once the search index and the gazetteer are ready, with the index's age; 503 before."""
    return ready_response(WARMUP)


@functools.cache
def _engine(url: str) -> Any:
    return create_db_engine(url, busy_timeout_s=5.0)


def database_reachable(url: str) -> bool:
    try:
        with _engine(url).connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # any failure means: not reachable
        _LOG.warning("health check: the database does not answer", exc_info=True)
        return False
    return True


async def health(_request: Request) -> JSONResponse:
    """200 while the database answers, 503 when it does not."""
    from starlette.concurrency import run_in_threadpool

    ok = await run_in_threadpool(database_reachable, load_settings().database_url)
    return JSONResponse({"database": "ok" if ok else "unreachable"}, status_code=200 if ok else 503, headers=_NO_STORE)


ROUTES = [Route("/ready", ready, methods=["GET"]), Route("/health", health, methods=["GET"])]
