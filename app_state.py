"""What the Streamlit pages share: settings, the database, cached reads and session-state keys.

Thin wrappers around the domain (``opportunities``) that add Streamlit caching; no logic of
their own beyond choosing what to cache.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from opportunities import search as search_module
from opportunities.errors import SettingsError
from opportunities.geocoding import open_geocoder
from opportunities.model import Opportunity
from opportunities.settings import Settings, load_settings
from opportunities.storage import count_opportunities, list_cities, open_database
from opportunities.url_params import Filters

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


@st.cache_data(ttl=SEARCH_TTL_S, max_entries=SEARCH_MAX_ENTRIES, show_spinner="Searching…")
def find(_engine: Engine, database_url: str, filters: Filters, limit: int) -> tuple[int, list[Opportunity]]:
    """How many opportunities match ``filters``, and the first ``limit`` of them."""
    query = filters.to_query(limit=limit)
    with _engine.connect() as conn:
        return search_module.count(conn, query), search_module.search(conn, query)


# Session-state keys, all initialised by the explore page's init_filter_state.
CITY = "filter_city"
TOPICS = "filter_topics"
AGE_KIND = "filter_age_kind"  # "" any age, an age group id, or EXACT_AGE
AGE = "filter_age"
FREE = "filter_free"
FILTERS_READY = "filters_ready"
URL_PROBLEMS = "url_problems"
EXACT_AGE = "exact"
