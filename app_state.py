"""What the Streamlit pages share: settings, the database, cached reads and session-state keys.

Thin wrappers around the domain (``opportunities``) that add Streamlit caching; no logic of
their own beyond choosing what to cache.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from sqlalchemy import Engine

from opportunities.errors import SettingsError
from opportunities.geocoding import open_geocoder
from opportunities.index import OpportunityIndex
from opportunities.model import Opportunity
from opportunities.settings import Settings, load_settings
from opportunities.storage import count_opportunities, get_opportunities, list_cities, open_database

DEMO_SIZE = 400
# Cached searches: results change only when data is imported or reviewed, so a few minutes is fresh enough.
SEARCH_TTL_S = 300
SEARCH_MAX_ENTRIES = 64


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


@st.cache_resource(show_spinner="Opening the database…")
def database(url: str, cache_dir: str, demo_seed: int) -> Engine:
    """The engine for ``url``, migrated; an empty database first gets the demo data (once per process)."""
    engine = open_database(url)
    with engine.connect() as conn:
        empty = count_opportunities(conn) == 0
    if empty:
        _load_demo(engine, cache_dir, demo_seed)
    return engine


def _load_demo(engine: Engine, cache_dir: str, seed: int) -> None:
    try:
        from opportunities.demo import load_demo
    except ImportError:  # the demo generator is optional
        return
    from pathlib import Path

    # Offline geocoder only: loading the demo never sends a request.
    geocoder = open_geocoder(Path(cache_dir))
    with st.spinner("Loading the demo opportunities…"):
        load_demo(engine, geocoder, size=DEMO_SIZE, seed=seed)


# The engine argument is not hashed (leading underscore); the database URL keys the cache instead.
@st.cache_data(ttl=SEARCH_TTL_S, max_entries=SEARCH_MAX_ENTRIES, show_spinner=False)
def city_names(_engine: Engine, database_url: str) -> list[str]:
    """Names of the cities in the database, sorted."""
    with _engine.connect() as conn:
        return sorted({c.name for c in list_cities(conn)})


@st.cache_resource(ttl=SEARCH_TTL_S, max_entries=4, show_spinner="Reading the opportunities…")
def opportunity_index(_engine: Engine, database_url: str) -> OpportunityIndex:
    """Columns of every published opportunity, shared by all visitors (rebuilt every few minutes)."""
    with _engine.connect() as conn:
        return OpportunityIndex.load(conn)


@st.cache_data(ttl=SEARCH_TTL_S, max_entries=SEARCH_MAX_ENTRIES, show_spinner=False)
def city_labels(_engine: Engine, database_url: str) -> dict[int, str]:
    """City id → name."""
    with _engine.connect() as conn:
        return {c.id: c.name for c in list_cities(conn) if c.id is not None}


def opportunities_by_id(engine: Engine, ids: Sequence[int]) -> list[Opportunity]:
    """Full records for a page of results or the pins of the map, in the order given."""
    with engine.connect() as conn:
        return get_opportunities(conn, ids)


# Session-state keys, all initialised by the explore page's init_filter_state.
CITY = "filter_city"
TOPICS = "filter_topics"
AGE_KIND = "filter_age_kind"  # "" any age, an age group id, or EXACT_AGE
AGE = "filter_age"
FREE = "filter_free"
FILTERS_READY = "filters_ready"
URL_PROBLEMS = "url_problems"
EXACT_AGE = "exact"
MAP_VIEW = "map_view"  # the MapView the layer is built for
MAP_FIT_VIEW = "map_fit_view"  # the view fitted to the current results
MAP_FIT_FOR = "map_fit_for"  # the filters that view was fitted to
MAP_SEEN = "map_seen"  # the last value the map component reported, already applied
PAGE = "list_page"
