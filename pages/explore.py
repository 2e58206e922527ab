"""Explore: filter the published opportunities, see them on a map and in a table.

The filters live in the URL (``?city=Kranj&topic=digital-skills&age=teens&free=1``), so a
filtered view is a link to share; values in a link that cannot be used give a warning.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit_folium import st_folium

import app_state as state
from maps.clusters import Bounds
from maps.opportunity_map import format_ages, format_cost, format_dates, safe_link
from maps.overview import MapView, base_map, fitted_view, overview_layer
from opportunities.model import Opportunity
from opportunities.url_params import Filters, filters_from_params
from opportunities.vocabulary import AGE_GROUPS, AGE_GROUPS_BY_ID, TOPICS, topic_label

MAX_LIMIT = 10_000
MAP_HEIGHT = 560
MAP_KEY = "map"
PAGE_SIZE = 20
LANGUAGE = "en"


def init_filter_state(cities: list[str]) -> None:
    """Every filter widget's session-state key, set once per session from the URL."""
    if st.session_state.get(state.FILTERS_READY):
        return
    params = {name: st.query_params.get_all(name) for name in st.query_params}
    filters, problems = filters_from_params(params, cities=cities)
    st.session_state[state.CITY] = filters.city
    st.session_state[state.TOPICS] = list(filters.topics)
    if filters.age is not None:
        st.session_state[state.AGE_KIND] = state.EXACT_AGE
    else:
        st.session_state[state.AGE_KIND] = filters.age_group
    st.session_state[state.AGE] = filters.age if filters.age is not None else 15
    st.session_state[state.FREE] = filters.free_only
    st.session_state[state.URL_PROBLEMS] = problems
    st.session_state[state.FILTERS_READY] = True


def _age_kind_label(kind: str) -> str:
    if kind == "":
        return "Any age"
    if kind == state.EXACT_AGE:
        return "Exact age…"
    return AGE_GROUPS_BY_ID[kind].labels[0]


def filter_sidebar(cities: list[str]) -> Filters:
    """The sidebar widgets, read into filters."""
    with st.sidebar:
        st.header("Filters")
        st.selectbox("City", ["", *cities], key=state.CITY, format_func=lambda c: c or "All cities")
        st.multiselect("Topics", list(TOPICS), key=state.TOPICS, format_func=lambda t: topic_label(t, LANGUAGE))
        st.selectbox("Age", ["", *(g.id for g in AGE_GROUPS), state.EXACT_AGE], key=state.AGE_KIND, format_func=_age_kind_label)
        if st.session_state[state.AGE_KIND] == state.EXACT_AGE:
            st.number_input("Age in years", min_value=0, max_value=120, step=1, key=state.AGE)
        st.checkbox("Free only", key=state.FREE)
    kind = st.session_state[state.AGE_KIND]
    return Filters(
        city=st.session_state[state.CITY],
        topics=tuple(st.session_state[state.TOPICS]),
        age_group=kind if kind in AGE_GROUPS_BY_ID else "",
        age=int(st.session_state[state.AGE]) if kind == state.EXACT_AGE else None,
        free_only=bool(st.session_state[state.FREE]),
    )


def sync_url(filters: Filters) -> None:
    """Write the filters into the URL (only when they differ, to keep the browser history clean)."""
    wanted = {k: [v] if isinstance(v, str) else v for k, v in filters.to_params().items()}
    current = {name: st.query_params.get_all(name) for name in st.query_params}
    if current != wanted:
        st.query_params.from_dict(filters.to_params())


def _table_rows(found: list[Opportunity]) -> list[dict[str, str | None]]:
    return [
        {
            "Title": o.title,
            "Provider": o.provider,
            "City": o.city,
            "Dates": format_dates(o),
            "Ages": format_ages(o),
            "Cost": format_cost(o),
            "Link": safe_link(o.url),
        }
        for o in found
    ]


def fit_key(filters: Filters) -> str:
    return repr(filters)


@st.fragment
def show_map(keep: np.ndarray, filters: Filters) -> None:
    """The map: a fixed base map and a layer for the visible area, rebuilt when the visitor pans.

    A fragment, so that panning and zooming rerun only the map, not the whole page.
    """
    index = state.opportunity_index(engine, settings.database_url)
    key = fit_key(filters)
    moved = st.session_state.get(MAP_KEY) or {}
    if st.session_state.get(state.MAP_FIT_FOR) != key:
        # New filters: fit the view to the results, and ignore where the old map was.
        st.session_state[state.MAP_FIT_FOR] = key
        st.session_state[state.MAP_VIEW] = fitted_view(index, keep)
        st.session_state[state.MAP_FIT_VIEW] = st.session_state[state.MAP_VIEW]
        st.session_state[state.MAP_SEEN] = moved
    elif moved and moved != st.session_state.get(state.MAP_SEEN):
        reported = view_from_component(moved)
        if reported is not None:
            st.session_state[state.MAP_VIEW] = reported
        st.session_state[state.MAP_SEEN] = moved
    view: MapView = st.session_state[state.MAP_VIEW]
    fit: MapView = st.session_state[state.MAP_FIT_VIEW]
    layer = overview_layer(
        index, keep, view, lambda ids: state.opportunities_by_id(engine, ids), state.city_labels(engine, settings.database_url),
        language=LANGUAGE,
    )  # fmt: skip
    st_folium(
        base_map(
            tile_url=settings.tile_url, tile_attribution=settings.tile_attribution, asset_base=state.asset_base(), language=LANGUAGE
        ),
        key=MAP_KEY,
        feature_group_to_add=layer.group,
        center=fit.centre,
        zoom=fit.zoom,
        returned_objects=["bounds", "zoom"],
        height=MAP_HEIGHT,
        use_container_width=True,
    )


def view_from_component(value: dict[str, object]) -> MapView | None:
    """The view reported by the map component, or None when it is not usable."""
    try:
        bounds = value["bounds"]
        south_west, north_east = bounds["_southWest"], bounds["_northEast"]  # type: ignore[index]
        box = Bounds(float(south_west["lat"]), float(south_west["lng"]), float(north_east["lat"]), float(north_east["lng"]))
        zoom = int(value["zoom"])  # type: ignore[call-overload]
    except (KeyError, TypeError, ValueError):
        return None
    return MapView(box, max(0, min(zoom, 20)))


settings = state.settings()
engine = state.database(settings.database_url, str(settings.cache_dir), settings.demo_seed)
cities = state.city_names(engine, settings.database_url)
init_filter_state(cities)

st.title("Learning opportunities")
for problem in st.session_state[state.URL_PROBLEMS]:
    st.warning(problem, icon=":material/link_off:")

filters = filter_sidebar(cities)
sync_url(filters)

index = state.opportunity_index(engine, settings.database_url)
query = filters.to_query(limit=MAX_LIMIT)
with engine.connect() as conn:
    keep = index.mask(query, conn)
ordered = index.ordered(keep, query)
total = len(ordered)
online = int((keep & np.isnan(index.latitude)).sum())
summary = f"**{total}** {'opportunity matches' if total == 1 else 'opportunities match'} your filters."
if online:
    summary += f" {online} online only, not on the map."
st.markdown(summary)

show_map(keep, filters)

if total:
    pages = max(1, -(-total // PAGE_SIZE))
    page = int(st.number_input("Page", min_value=1, max_value=pages, value=1, step=1, key=state.PAGE)) if pages > 1 else 1
    shown = state.opportunities_by_id(engine, index.ids[ordered[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]].tolist())
    st.caption(f"Results {(page - 1) * PAGE_SIZE + 1}–{(page - 1) * PAGE_SIZE + len(shown)} of {total}")
    st.dataframe(
        _table_rows(shown),
        hide_index=True,
        width="stretch",
        column_config={"Link": st.column_config.LinkColumn("Link", display_text="Open")},
    )
else:
    st.info("No opportunities match these filters. Try fewer topics or another city.")
