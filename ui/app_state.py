"""What the Streamlit pages share: settings, the database and cached reads (the session-state keys are in :mod:`ui.session`).

Thin wrappers around the domain (``opportunities``) that add Streamlit caching; no logic of
their own beyond choosing what to cache.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import streamlit as st
from sqlalchemy import Engine

from maps.overview import MapView, fitted_view
from opportunities.badges import achievements, playlists
from opportunities.badges.playlists import Rule
from opportunities.coverage.districts import CoverageIndex, open_coverage
from opportunities.db.connection import open_database
from opportunities.db.queries import count_opportunities, data_version, districts_version, get_opportunities, list_cities
from opportunities.errors import SettingsError
from opportunities.explore.index import OpportunityIndex
from opportunities.explore.live_index import LiveIndex
from opportunities.explore.matches import Matches, find_matches
from opportunities.explore.search import SearchQuery
from opportunities.i18n import translator
from opportunities.model import City, Opportunity
from opportunities.places.geocoding import Geocoder, open_geocoder
from opportunities.settings import Settings, load_settings
from opportunities.shared_cache import SharedCache
from opportunities.vocabulary import Status
from ui import session

DEMO_SIZE = 400
# Searches whose matches are kept for every visitor (a million rows: a megabyte each).
MATCHES_CACHED = 32
# Texts kept for every visitor (a result card in a language: a few hundred bytes each).
TEXTS_CACHED = 4096
# List pages kept for every visitor (their rows and the opportunities on them: a few kilobytes each).
PAGES_CACHED = 256


def run_through_app() -> None:
    """Call first on every page: a page run on its own is rerun through ``app.py``, at the same URL.

    Streamlit (1.67) starts in its old pages-folder mode, which it leaves only once ``app.py`` has
    called ``st.navigation``. A fresh server's first visit to a page's own URL so runs that page
    alone: without the menu, the page's language or the session cookie. Leaving the mode here
    and rerunning gives that visit the app as every other visit has it.
    """
    from streamlit.runtime.pages_manager import PagesManager

    # A session that has run app.py is in the app (AppTest, which starts every run in that mode,
    # keeps its session between runs).
    if PagesManager.uses_pages_directory and not st.session_state.get(session.THROUGH_APP):
        PagesManager.uses_pages_directory = False  # as st.navigation sets it
        st.rerun()


def settings() -> Settings:
    """The settings, or an error message on the page (and the page stops) when one is unusable."""
    try:
        return load_settings()
    except SettingsError as exc:
        st.error(str(exc))
        st.stop()


def asset_base() -> str:
    """URL path where Streamlit serves ``./static/`` (respects ``server.baseUrlPath``)."""
    prefix = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{prefix}/app/static" if prefix else "/app/static"


def database(url: str, cache_dir: str, demo_seed: int, busy_timeout_s: float = 30.0) -> Engine:
    """The engine for ``url``, migrated; an empty database first gets the demo data (once per process).

    A fresh server first builds its gazetteer index (about a minute, once per cache folder), with
    a progress bar for the visitor who waits for it.
    """
    _gazetteer_ready(cache_dir)
    return _database(url, cache_dir, demo_seed, busy_timeout_s)


_READY_GAZETTEERS: set[str] = set()  # cache folders whose gazetteer index this process has seen built


def _gazetteer_ready(cache_dir: str) -> None:
    """Build the gazetteer index when missing, showing each step in the reader's language.

    Outside every cached function: Streamlit replays the elements a cached function draws, and a
    progress bar replayed on every later page would be wrong.
    """
    from pathlib import Path

    from opportunities.places.gazetteer import Gazetteer, gazetteer_is_current

    if cache_dir in _READY_GAZETTEERS:
        return
    if not gazetteer_is_current(Path(cache_dir)):
        gettext = translator(str(st.session_state.get(session.LANGUAGE, "en"))).gettext
        bar = st.progress(0.0, text=gettext("Preparing the map for its first visitor…"))

        def show(step: str, done: int, total: int) -> None:
            bar.progress(min(done / total, 1.0) if total > 0 else 0.0, text=gettext(step))

        Gazetteer.open(Path(cache_dir), progress=show)
        bar.empty()
    _READY_GAZETTEERS.add(cache_dir)


@st.cache_resource(show_spinner="Opening the database…")
def _database(url: str, cache_dir: str, demo_seed: int, busy_timeout_s: float = 30.0) -> Engine:
    engine = open_database(url, busy_timeout_s=busy_timeout_s)
    with engine.connect() as conn:
        empty = count_opportunities(conn) == 0
    if empty:
        _load_demo(engine, cache_dir, demo_seed)
    return engine


def _load_demo(engine: Engine, cache_dir: str, seed: int) -> None:
    from pathlib import Path

    from opportunities.demo.generator import load_demo

    # Offline geocoder only: loading the demo never sends a request.
    geocoder = open_geocoder(Path(cache_dir))
    with st.spinner("Loading the demo opportunities…"):
        load_demo(engine, geocoder, size=DEMO_SIZE, seed=seed, address_dir=load_settings().address_dir)


def published_cities(engine: Engine, database_url: str) -> list[City]:
    """The cities that have a published opportunity, as the data is now (keyed by the data version,
    so a city published a moment ago is listed, with its time zone, at once)."""
    with engine.connect() as conn:
        version = data_version(conn)
    return list(_published_cities_at(engine, database_url, version))


# The engine argument is not hashed (leading underscore); the database URL and version key the cache.
# A resource, not data: the same tuple of frozen cities for every run, not a copy unpickled per call
# (a page asks for the cities four times a run, boundaries included).
@st.cache_resource(max_entries=4, show_spinner=False)
def _published_cities_at(_engine: Engine, database_url: str, version: str) -> tuple[City, ...]:
    with _engine.connect() as conn:
        return tuple(list_cities(conn, status=Status.PUBLISHED))


# How long the set of activities with a published badge is kept between runs (one query refreshes it).
BADGES_CACHE_S = 30


@st.cache_data(ttl=BADGES_CACHE_S, max_entries=1, show_spinner=False)
def badges_of_activities(_engine: Engine) -> dict[int, dict[str, str]]:
    """The published badges of activities: opportunity id -> language -> the badge's name (for
    Explore's mark and filter; a newly published badge shows within :data:`BADGES_CACHE_S` seconds)."""
    with _engine.connect() as conn:
        found = achievements.list_achievements(conn, statuses=[Status.PUBLISHED], kind=achievements.Kind.ACTIVITY)
    return {a.opportunity_id: {code: text.name for code, text in a.texts.items()} for a in found if a.opportunity_id is not None}


@st.cache_data(ttl=BADGES_CACHE_S, max_entries=1, show_spinner=False)
def playlists_on_map(_engine: Engine) -> dict[int, tuple[dict[str, str], Rule, tuple[int, ...]]]:
    """Each playlist: its name by language, its rule, and the activities whose published badges it
    holds (for Explore's playlist filter; cached as :func:`badges_of_activities`)."""
    with _engine.connect() as conn:
        found = playlists.list_playlists(conn)
        activity_of = {
            a.id: a.opportunity_id
            for a in achievements.list_achievements(conn, statuses=[Status.PUBLISHED], kind=achievements.Kind.ACTIVITY)
        }
    return {
        p.id: (
            {code: text.name for code, text in p.achievement.texts.items()},
            p.rule,
            tuple(o for o in (activity_of.get(m) for m in p.members) if o is not None),
        )
        for p in found
    }


def city_names(engine: Engine, database_url: str) -> list[str]:
    """Names of the cities a visitor can choose, sorted."""
    return sorted({c.name for c in published_cities(engine, database_url)})


def opportunity_index(engine: Engine, database_url: str) -> OpportunityIndex:
    """Columns of every published opportunity, shared by all visitors; never waits for a rebuild.

    The index is refreshed in the background (see :mod:`opportunities.explore.live_index`): an approval or
    an edit shows within seconds. Take it once per run and pass it on, since its row numbers
    belong to that version (a fragment rerun later must use the same one as its mask).
    """
    return _live_index(engine, database_url).current()


# A spinner only the first time a process needs the index: from then on a newer one replaces it unseen.
@st.cache_resource(show_spinner="Reading the opportunities…", on_release=lambda live: live.close())
def _live_index(_engine: Engine, database_url: str) -> LiveIndex:
    config = load_settings()
    return LiveIndex(
        _engine, config.cache_dir, refresh_s=config.index_refresh_s, overlap_s=config.index_overlap_s,
        compact_s=config.index_rebuild_s, listen=config.index_listen,
    )  # fmt: skip


def coverage(engine: Engine, database_url: str, statuses: tuple[Status, ...] = (Status.PUBLISHED,)) -> CoverageIndex:
    """Cells and districts of the opportunities of ``statuses``, assigned once per data and
    boundary version (two indexed queries per run), shared by all visitors."""
    with engine.connect() as conn:
        version = f"{data_version(conn)}|{districts_version(conn)}"
    return _coverage_at(engine, database_url, version, statuses)


@st.cache_resource(max_entries=2, show_spinner="Placing the opportunities in districts and cells…")
def _coverage_at(_engine: Engine, database_url: str, version: str, statuses: tuple[Status, ...]) -> CoverageIndex:
    with _engine.connect() as conn:
        return open_coverage(conn, load_settings().cache_dir, statuses)


def city_labels(engine: Engine, database_url: str) -> dict[int, str]:
    """City id → name."""
    return {c.id: c.name for c in published_cities(engine, database_url) if c.id is not None}


def city_places(engine: Engine, database_url: str) -> list[City]:
    """The cities with their coordinates: the map names them even when its tiles fail."""
    return published_cities(engine, database_url)


def city_details(engine: Engine, database_url: str) -> dict[str, tuple[str, str]]:
    """City name → (country code, time zone)."""
    return {c.name: (c.country, c.timezone) for c in published_cities(engine, database_url)}


def geocoder(cache_dir: str, address_dir: str = "", online_url: str = "", user_agent: str = "") -> Geocoder:
    """The geocoder: offline gazetteer, the address index in ``address_dir`` when one is loaded there
    (both memory-mapped once per process; an index loaded meanwhile is opened at the next call), and
    the online geocoder when ``online_url`` is given (providers' addresses only: what a visitor types
    on Explore never leaves the machine)."""
    from pathlib import Path

    from opportunities.places.address_index import index_version

    version = index_version(Path(address_dir)) if address_dir else ""
    return _geocoder_at(cache_dir, address_dir, version, online_url, user_agent)


@st.cache_resource(max_entries=4, show_spinner=False)
def _geocoder_at(cache_dir: str, address_dir: str, address_version: str, online_url: str, user_agent: str) -> Geocoder:
    from pathlib import Path

    return open_geocoder(Path(cache_dir), online_url, user_agent or "cities-of-learning-map",
                         address_dir=Path(address_dir) if address_dir else None)  # fmt: skip


def opportunities_by_id(engine: Engine, ids: Sequence[int]) -> list[Opportunity]:
    """Full records for a page of results or the pins of the map, in the order given."""
    with engine.connect() as conn:
        return get_opportunities(conn, ids)


# Shared by every session of the process, tied to the index they were computed on (see
# opportunities.shared_cache): a search asked again, by anyone, costs no index query.
_MATCHES: SharedCache[Matches] = SharedCache(MATCHES_CACHED)
_PAGES: SharedCache[tuple[npt.NDArray[np.int64], tuple[Opportunity, ...]]] = SharedCache(PAGES_CACHED)
_FITS: SharedCache[MapView] = SharedCache(PAGES_CACHED)
_TEXTS: SharedCache[object] = SharedCache(TEXTS_CACHED)
T = TypeVar("T")


def texts(key: Hashable, make: Callable[[], T]) -> T:
    """What ``make`` gives, made once for every visitor: for texts that depend on ``key`` alone
    (an opportunity's card, by its id, its last change and the language). Immutable values only."""
    return _TEXTS.get(key, make)  # type: ignore[return-value]


def matches(engine: Engine, index: OpportunityIndex, query: SearchQuery, *, private: bool = False) -> Matches:
    """The matches of ``query`` on this version of the index, computed once for every visitor;
    ``private`` (a search around the browser's own position): computed for this run only, kept nowhere."""

    def find() -> Matches:
        with engine.connect() as conn:
            return find_matches(index, query, conn)

    return find() if private else _MATCHES.get(repr(query), find, owner=index)


def result_page(
    engine: Engine,
    index: OpportunityIndex,
    found: Matches,
    query: SearchQuery,
    page: int,
    page_size: int,
    *,
    private: bool = False,
) -> tuple[npt.NDArray[np.int64], tuple[Opportunity, ...]]:
    """Page ``page`` (from 1) of ``found`` in the search order: its rows in ``index`` (read-only)
    and its opportunities, loaded once for every visitor (``private``: as for :func:`matches`)."""  # fmt: skip

    def load() -> tuple[npt.NDArray[np.int64], tuple[Opportunity, ...]]:
        # Only this page and the ones before it are sorted: a partial sort among a million.
        rows = index.ordered(found.keep, query, limit=page * page_size)[(page - 1) * page_size :]
        rows.setflags(write=False)
        return rows, tuple(opportunities_by_id(engine, index.ids[rows].tolist()))

    return load() if private else _PAGES.get((repr(query), found.digest, page, page_size), load, owner=index)


def fitted(index: OpportunityIndex, found: Matches) -> MapView:
    """The map view that shows every located match of ``found``, computed once for every visitor."""
    return _FITS.get(found.digest, lambda: fitted_view(index, found.keep), owner=index)
