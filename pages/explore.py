"""Explore: filter the published opportunities, see them on a map and in a list, open one in detail.

Everything a visitor chooses lives in the URL (see :mod:`opportunities.explore.url_params`), so any
view is a link to share; values in a link that cannot be used give a warning. The browser's
position ("Use my location") is the exception: it stays in this session and is never stored,
logged or put into a link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from functools import partial
from typing import Any

import folium
import numpy as np
import streamlit as st

from maps.approximate import is_approximate
from maps.overview import MapView, base_map, near_circle, near_view, overview_layer, places_by_size
from maps.position import centre_and_zoom, map_centre, view_around, view_from_component, view_to_draw, visitor_moved
from opportunities.explore.index import OpportunityIndex
from opportunities.explore.matches import Matches, from_mask
from opportunities.explore.search import SearchQuery
from opportunities.explore.url_params import (
    MAX_RADIUS_KM,
    MIN_RADIUS_KM,
    ExploreParams,
    Filters,
    MapPosition,
    date_bounds,
    local_now,
    local_today,
    read_params,
    relaxations,
    share_url,
)
from opportunities.feeds import harvesting
from opportunities.i18n import (
    age_group_label,
    format_distance_km,
    format_number,
    format_when,
    language_name,
    mode_label,
    precision_label,
    topic_label,
    type_label,
)
from opportunities.listings.calendar import opportunity_ics
from opportunities.model import Opportunity
from opportunities.opportunity_text import format_ages, format_cost, format_dates, safe_link
from opportunities.places.nearby import near_point, position_from_browser
from opportunities.text import escape_markdown, fold
from opportunities.vocabulary import AGE_GROUPS, AGE_GROUPS_BY_ID, TOPICS, Mode, OpportunityType, Status
from ui import access, badge_wallet, session
from ui import app_state as state
from ui.language import DATE_FORMATS, browser_language, set_page_language, switcher, translations
from ui.map_component import render_layer, shared_layer, shared_map, show_rendered
from ui.subscribe import search_links, subscribe

state.run_through_app()

MAX_LIMIT = 10_000
MAP_HEIGHT = 560
PAGE_SIZE = 20
NEXT_SESSIONS = 5
# A "Details" button names its opportunity by at most this many characters of the title.
DETAILS_TITLE_CHARS = 60
# A card's notes (facts, credit, badge) in small grey text, as st.caption shows it: Streamlit's
# Markdown directives; the escaped text inside cannot close them (its brackets are escaped).
SMALL_GREY = (":small[:gray[", "]]")

# "Use my location": a button that asks the browser for its position only when clicked, and sends
# it back once (a trigger value). Its label arrives as data and is set as text, never as HTML.
_LOCATE_HTML = '<button type="button" class="col-locate"></button>'
_LOCATE_CSS = """
.col-locate { font: inherit; font-size: 0.875rem; padding: 0.25rem 0.75rem; min-height: 2.5rem; width: 100%;
  border-radius: 0.5rem; border: 1px solid var(--st-border-color, rgba(49, 51, 63, 0.2));
  background: var(--st-background-color, #fff); color: var(--st-text-color, inherit); cursor: pointer; }
.col-locate:hover { border-color: var(--st-primary-color, #ff4b4b); color: var(--st-primary-color, #ff4b4b); }
.col-locate:disabled { opacity: 0.6; cursor: progress; }
"""
_LOCATE_JS = """
export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  const button = parentElement.querySelector("button.col-locate");
  button.textContent = data.label;
  button.onclick = () => {
    if (!navigator.geolocation) { setTriggerValue("failed", "unsupported"); return; }
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      (p) => {
        button.disabled = false;
        setTriggerValue("position", {latitude: p.coords.latitude, longitude: p.coords.longitude, accuracy: p.coords.accuracy});
      },
      (e) => {
        button.disabled = false;
        setTriggerValue("failed", e && e.code === 1 ? "denied" : "unavailable");
      },
      {enableHighAccuracy: false, timeout: 15000, maximumAge: 300000}
    );
  };
}
"""
_locate_button = st.components.v2.component("col_locate_me", html=_LOCATE_HTML, css=_LOCATE_CSS, js=_LOCATE_JS)


def badge_name(opportunity_id: int | None, lang: str, awarded: Mapping[int, Mapping[str, str]] | None = None) -> str | None:
    """The name of the badge the activity awards, in ``lang`` (else English), or None.

    ``awarded``: the badges of activities (``state.badges_of_activities``), when the caller looks up
    several (the list asks for it once, not once per card)."""
    if awarded is None:
        awarded = state.badges_of_activities(access.engine())
    names = awarded.get(opportunity_id or 0)
    return (names.get(lang) or names.get("en")) if names else None


def with_badge(index: OpportunityIndex, found: Matches, filters: Filters) -> Matches:
    """``found`` narrowed to the activities that award a badge, or to a playlist's, when the filters
    ask for it (the index holds no badges: their published set, cached briefly, is matched by id)."""
    if not filters.badge_only and filters.playlist is None:
        return found
    keep = found.keep
    if filters.badge_only:
        awarding = np.fromiter(state.badges_of_activities(access.engine()), dtype=index.ids.dtype)
        keep = keep & np.isin(index.ids, awarding)
    if filters.playlist is not None:
        listed = state.playlists_on_map(access.engine()).get(filters.playlist)
        members = np.array(listed[2] if listed else (), dtype=index.ids.dtype)
        keep = keep & np.isin(index.ids, members)
    return from_mask(index, keep)


def playlist_choice(lang: str) -> None:
    """The playlist filter, when the city has playlists: a playlist's activities on the map and in
    the list. A playlist in a link that does not exist (any more) is dropped with a message."""
    _ = translations(lang).gettext
    found = state.playlists_on_map(access.engine())
    if not found:
        return

    def label(playlist_id: int | None) -> str:
        if playlist_id is None:
            return _("Any activity")
        names = found[playlist_id][0]
        return names.get(lang) or names.get("en") or str(playlist_id)

    st.selectbox(_("Playlist"), [None, *found], key=session.PLAYLIST, format_func=label,
                 help=_("The activities whose badges together earn the playlist's badge."))  # fmt: skip


def forget_unknown_playlist(lang: str) -> None:
    """A playlist (from a link) that does not exist, or no longer: dropped, with a message."""
    chosen = st.session_state[session.PLAYLIST]
    if chosen is not None and chosen not in state.playlists_on_map(access.engine()):
        st.session_state[session.PLAYLIST] = None
        message = translations(lang).gettext("The playlist {value} in the link was ignored.").format(value=chosen)
        st.session_state[session.URL_PROBLEMS] = [*st.session_state[session.URL_PROBLEMS], message]


def playlist_notice(filters: Filters, lang: str) -> None:
    """What the chosen playlist asks for, above the results."""
    found = state.playlists_on_map(access.engine()).get(filters.playlist) if filters.playlist is not None else None
    if found is None:
        return
    _ = translations(lang).gettext
    names, rule, _members = found
    name = names.get(lang) or names.get("en") or ""
    st.info(escape_markdown(_("Playlist “{name}”: {rule}. Its badges are earned at these activities.").format(
        name=name, rule=badge_wallet.rule_text(rule, lang))), icon=":material/playlist_add_check:")  # fmt: skip


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, with "…" where it was cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def today_for(city: str, zones: dict[str, tuple[str, str]]) -> date:
    """Today in the chosen city, or, with none chosen, the earliest date among all cities (nothing still on is hidden).

    ``zones`` is city name → (country, time zone), as :func:`app_state.city_details` gives it.
    """
    chosen = [zones[city][1]] if city in zones else [zone for _, zone in zones.values()]
    return local_today(chosen)


def follow_today(today: date) -> None:
    """Keep "From" on today while it was left there, as today moves (midnight, or a city in another time zone)."""
    if st.session_state[session.DATE_FROM] == st.session_state[session.TODAY]:
        st.session_state[session.DATE_FROM] = today
    st.session_state[session.TODAY] = today


# --- state --------------------------------------------------------------------------------------


def _set_filter_state(filters: Filters, today: date) -> None:
    """Put ``filters`` into the widgets' session state (on a fresh load, and by "Clear filters")."""
    st.session_state[session.CITY] = filters.city
    st.session_state[session.TOPICS] = list(filters.topics)
    if filters.age is not None:
        st.session_state[session.AGE_KIND] = session.EXACT_AGE
    else:
        st.session_state[session.AGE_KIND] = filters.age_group
    st.session_state[session.AGE] = filters.age if filters.age is not None else 15
    st.session_state[session.FREE] = filters.free_only
    st.session_state[session.DATE_FROM] = filters.date_from or today
    st.session_state[session.DATE_TO] = filters.date_to
    st.session_state[session.MODES] = [m.value for m in filters.modes]
    st.session_state[session.TYPES] = [t.value for t in filters.types]
    st.session_state[session.TAUGHT_IN] = filters.language
    st.session_state[session.ACCESSIBLE] = filters.accessible_only
    st.session_state[session.BADGE_ONLY] = filters.badge_only
    st.session_state[session.PLAYLIST] = filters.playlist
    st.session_state[session.TEXT] = filters.text
    st.session_state[session.PLACE] = filters.place
    st.session_state[session.RADIUS] = filters.radius_km
    if not filters.use_browser_position:
        st.session_state[session.BROWSER_POSITION] = None
        st.session_state[session.LOCATION_ERROR] = ""


def init_page_state(cities: list[str], languages_taught: tuple[str, ...], today: date) -> None:
    """Every session-state key of the page, set once per session from the URL."""
    if st.session_state.get(session.FILTERS_READY):
        return
    params = {name: st.query_params.get_all(name) for name in st.query_params}
    read = read_params(
        params,
        cities=cities,
        browser_language=browser_language(),
        languages_taught=languages_taught,
        today=today,
    )
    if "lang" in params or session.LANGUAGE not in st.session_state:  # else as chosen on another page
        st.session_state[session.LANGUAGE] = read.language
    _set_filter_state(read.filters, today)
    st.session_state[session.SELECTED] = read.selected
    st.session_state[session.MAP_POSITION] = read.position
    st.session_state[session.MAP_FIT_FOR] = None
    st.session_state[session.PAGE] = 1
    st.session_state[session.LIST_FOR] = None
    st.session_state[session.MAP_VIEW] = None
    st.session_state[session.MAP_FIT_VIEW] = None
    st.session_state[session.MAP_HOLDS_ALL] = False
    st.session_state[session.MAP_SEEN] = {}
    st.session_state[session.URL_PROBLEMS] = list(read.problems)
    st.session_state[session.TODAY] = today
    st.session_state[session.FILTERS_READY] = True


def clear_filters() -> None:
    _set_filter_state(Filters(), st.session_state[session.TODAY])
    st.session_state[session.SELECTED] = None


def relax(name: str) -> None:
    """Clear one filter (a "Try without …" button)."""
    today: date = st.session_state[session.TODAY]
    _set_filter_state(current_filters(today).without(name), today)


def select(opportunity_id: int | None) -> None:
    st.session_state[session.SELECTED] = opportunity_id


def forget_browser_position() -> None:
    st.session_state[session.BROWSER_POSITION] = None
    st.session_state[session.LOCATION_ERROR] = ""


def on_location() -> None:
    """The browser sent a position (or an error): keep it in this session only, in place of a typed place."""
    result: Any = st.session_state.get(session.LOCATE) or {}
    position = position_from_browser(result.get("position"))
    if position is not None:
        st.session_state[session.BROWSER_POSITION] = position
        st.session_state[session.PLACE] = ""
        st.session_state[session.LOCATION_ERROR] = ""
    elif result.get("position") is not None or result.get("failed") is not None:
        st.session_state[session.LOCATION_ERROR] = "denied" if result.get("failed") == "denied" else "unavailable"


def current_filters(today: date) -> Filters:
    """The filters as the widgets hold them."""
    kind = st.session_state[session.AGE_KIND]
    date_from = st.session_state[session.DATE_FROM]
    return Filters(
        city=st.session_state[session.CITY],
        topics=tuple(st.session_state[session.TOPICS]),
        age_group=kind if kind in AGE_GROUPS_BY_ID else "",
        age=int(st.session_state[session.AGE]) if kind == session.EXACT_AGE else None,
        free_only=bool(st.session_state[session.FREE]),
        date_from=date_from if date_from and date_from != today else None,
        date_to=st.session_state[session.DATE_TO],
        modes=tuple(Mode(m) for m in st.session_state[session.MODES]),
        types=tuple(OpportunityType(t) for t in st.session_state[session.TYPES]),
        language=st.session_state[session.TAUGHT_IN],
        accessible_only=bool(st.session_state[session.ACCESSIBLE]),
        badge_only=bool(st.session_state[session.BADGE_ONLY]),
        playlist=st.session_state[session.PLAYLIST],
        text=st.session_state[session.TEXT].strip(),
        place=st.session_state[session.PLACE].strip(),
        radius_km=int(st.session_state[session.RADIUS]),
        use_browser_position=st.session_state[session.BROWSER_POSITION] is not None,
    )


# --- sidebar -------------------------------------------------------------------------------------


def filter_sidebar(cities: list[str], languages_taught: tuple[str, ...], lang: str, today: date) -> Filters:
    """The sidebar widgets, read into filters."""
    _ = translations(lang).gettext
    earliest, latest = date_bounds(today)

    def age_kind_label(kind: str) -> str:
        if kind == "":
            return _("Any age")
        if kind == session.EXACT_AGE:
            return _("Exact age…")
        return age_group_label(kind, lang)

    with st.sidebar:
        st.header(_("Filters"))
        st.subheader(_("Near me"))
        st.text_input(_("A place or an address"), key=session.PLACE, max_chars=100, on_change=forget_browser_position)
        _locate_button(
            key=session.LOCATE,
            data={"label": _("Use my location")},
            on_position_change=on_location,
            on_failed_change=on_location,
        )
        if st.session_state[session.BROWSER_POSITION] is not None:
            st.button(_("Stop using my location"), on_click=forget_browser_position)
        elif st.session_state[session.LOCATION_ERROR]:
            st.caption(_("Your location could not be found. Type a place instead."))
        st.caption(_("Your location is used only in this browser tab to sort by distance; it is never stored."))
        st.slider(_("Radius (km)"), min_value=MIN_RADIUS_KM, max_value=MAX_RADIUS_KM, key=session.RADIUS)
        st.divider()
        st.text_input(_("Search in titles and descriptions"), key=session.TEXT, max_chars=100)
        st.selectbox(_("City"), ["", *cities], key=session.CITY, format_func=lambda c: c or _("All cities"))
        st.multiselect(
            _("Topics"), list(TOPICS), key=session.TOPICS, format_func=lambda t: topic_label(t, lang), placeholder=_("All topics")
        )
        st.selectbox(
            _("Age"), ["", *(g.id for g in AGE_GROUPS), session.EXACT_AGE], key=session.AGE_KIND, format_func=age_kind_label
        )
        if st.session_state[session.AGE_KIND] == session.EXACT_AGE:
            st.number_input(_("Age in years"), min_value=0, max_value=120, step=1, key=session.AGE)
        st.date_input(_("From"), key=session.DATE_FROM, min_value=earliest, max_value=latest, format=DATE_FORMATS[lang])
        st.date_input(_("To"), key=session.DATE_TO, min_value=earliest, max_value=latest, format=DATE_FORMATS[lang])
        st.multiselect(
            _("Mode"),
            [m.value for m in Mode],
            key=session.MODES,
            format_func=lambda m: mode_label(m, lang),
            placeholder=_("All modes"),
        )
        st.multiselect(
            _("Type"),
            [t.value for t in OpportunityType],
            key=session.TYPES,
            format_func=lambda t: type_label(t, lang),
            placeholder=_("All types"),
        )
        st.selectbox(
            _("Language taught in"),
            ["", *languages_taught],
            key=session.TAUGHT_IN,
            format_func=lambda code: language_name(code, lang) if code else _("Any language"),
        )
        st.checkbox(_("Free only"), key=session.FREE)
        st.checkbox(_("Accessible only"), key=session.ACCESSIBLE)
        st.checkbox(_("Awards a badge"), key=session.BADGE_ONLY)
        playlist_choice(lang)

        st.button(_("Clear filters"), on_click=clear_filters, key="clear_filters_sidebar")
    return current_filters(today)


# --- URL -------------------------------------------------------------------------------------------


def page_params(filters: Filters, lang: str, *, share: bool = False) -> dict[str, str | list[str]]:
    """The URL parameters for what the page shows now; to ``share``, with the language always."""
    selected = st.session_state[session.SELECTED]
    position = st.session_state[session.MAP_POSITION]
    return ExploreParams(language=lang, filters=filters, selected=selected, position=position).to_params(
        default_language=None if share else browser_language()
    )


def write_url(params: dict[str, str | list[str]]) -> None:
    """Write ``params`` into the URL (only when they differ, to keep the browser history clean)."""
    wanted = {k: [v] if isinstance(v, str) else v for k, v in params.items()}
    current = {name: st.query_params.get_all(name) for name in st.query_params}
    if current != wanted:
        st.query_params.from_dict(params)


# --- map -------------------------------------------------------------------------------------------


def fit_map(index: OpportunityIndex, key: str, found: Matches, near: tuple[float, float, int] | None = None) -> None:
    """A new search: fit the map to its results, or to the whole circle of a search ``near`` a point
    (latitude, longitude, radius in km); on a fresh load, show the view from the link."""
    if st.session_state[session.MAP_FIT_FOR] == key:
        return
    first = st.session_state[session.MAP_FIT_FOR] is None
    st.session_state[session.MAP_FIT_FOR] = key
    position: MapPosition | None = st.session_state[session.MAP_POSITION] if first else None
    if position is not None:
        view = view_around(position.latitude, position.longitude, position.zoom)
    elif near is not None:
        view = near_view(*near)
    else:
        view = state.fitted(index, found)
    st.session_state[session.MAP_POSITION] = position
    st.session_state[session.MAP_VIEW] = view
    st.session_state[session.MAP_FIT_VIEW] = view
    # A link's view is a guess at the screen's size; a fit to the results or a circle holds every match.
    st.session_state[session.MAP_HOLDS_ALL] = position is None
    st.session_state[session.MAP_SEEN] = st.session_state.get(session.MAP) or {}


@st.fragment
def show_map(
    index: OpportunityIndex,
    found: Matches,
    params: dict[str, str | list[str]],
    lang: str,
    topics: tuple[str, ...] = (),
    near: tuple[float, float, int] | None = None,
    private: bool = False,
) -> None:
    """The map: a fixed base map and a layer for the visible area, rebuilt when the visitor pans.

    A fragment, so that panning and zooming rerun only the map, not the whole page. Once the
    visitor has moved the map, its centre and zoom go into the URL. ``index`` is the version
    ``found`` was computed on: a newer one may have replaced it since (its rows differ).

    The base map and the layer are rendered once for every visitor (:mod:`ui.map_component`):
    a layer asked for again (the same matches, view, language, topics and circle) costs nothing,
    and its message is the one the browser already holds, so the map does not redraw. A
    ``private`` layer (around the browser's own position) is rendered for this run only.
    """
    settings, engine = state.settings(), access.engine()
    moved = st.session_state.get(session.MAP) or {}
    if moved and moved != st.session_state.get(session.MAP_SEEN):
        st.session_state[session.MAP_SEEN] = moved
        reported = view_from_component(moved)
        if reported is not None:
            # The report that follows our own redraw (or a move within what is drawn) redraws nothing.
            drawn: MapView = st.session_state[session.MAP_VIEW]
            if view_to_draw(reported, drawn, drawn_holds_all=st.session_state[session.MAP_HOLDS_ALL]) != drawn:
                st.session_state[session.MAP_VIEW] = reported
                st.session_state[session.MAP_HOLDS_ALL] = False
            if visitor_moved(reported, st.session_state[session.MAP_FIT_VIEW]):
                lat, lon, zoom = centre_and_zoom(reported)
                position = MapPosition(lat, lon, zoom)
                if position != st.session_state[session.MAP_POSITION]:
                    st.session_state[session.MAP_POSITION] = position
                    write_url({**{k: v for k, v in params.items() if k not in ("lat", "lon", "z")}, **position.to_params()})
    view: MapView = st.session_state[session.MAP_VIEW]
    fit: MapView = st.session_state[session.MAP_FIT_VIEW]

    def build_layer() -> folium.FeatureGroup:
        layer = overview_layer(
            index, found.keep, view, lambda ids: state.opportunities_by_id(engine, ids),
            state.city_labels(engine, settings.database_url), language=lang, highlight=topics,
            credits=lambda ids: credit_lines(ids, lang),
        )  # fmt: skip
        if near is not None:
            near_circle(*near).add_to(layer.group)
        return layer.group

    def build_base() -> folium.Map:
        return base_map(
            tile_url=settings.tile_url,
            tile_attribution=settings.tile_attribution,
            asset_base=state.asset_base(),
            language=lang,
            places=places_by_size(index, state.city_places(engine, settings.database_url)),
        )

    if private:
        layer = render_layer(build_layer())
    else:
        layer = shared_layer((found.digest, view, lang, topics, near), build_layer, owner=index)
    base = shared_map((settings.tile_url, settings.tile_attribution, state.asset_base(), lang), build_base, owner=index)
    show_rendered(
        base,
        key=session.MAP,
        layer=layer,
        center=map_centre(fit),
        zoom=fit.zoom,
        returned_objects=["bounds", "zoom"],
        height=MAP_HEIGHT,
    )


# --- list and detail --------------------------------------------------------------------------------


def card_texts(opp: Opportunity, lang: str) -> tuple[str, tuple[str, ...], str, str]:
    """A result card's texts: its heading (Markdown, escaped), its facts (plain), its button's label and tooltip."""
    _ = translations(lang).gettext
    where = opp.city if opp.mode != Mode.ONLINE else _("Online only")
    heading = f"**{escape_markdown(opp.title)}**  \n{escape_markdown(opp.provider)} · {escape_markdown(where)}"
    facts = (format_dates(opp, lang), _("Ages {ages}").format(ages=format_ages(opp, lang)), format_cost(opp, lang))
    # Each button names its opportunity: a screen reader lists twenty buttons by name, and
    # twenty "Details" could not be told apart. Provider text is escaped in label and tooltip.
    label = _("Details: {title}").format(title=escape_markdown(shorten(opp.title, DETAILS_TITLE_CHARS)))
    return heading, facts, label, escape_markdown(opp.title)


def card_markdown(heading: str, notes: Sequence[str]) -> str:
    """A result card's texts as ONE Markdown element: the heading, then each note (already escaped
    Markdown) on a line of its own in small grey text, as a caption shows it.

    One element rather than a caption per line: every element is a message to the browser on every
    rerun, and the list's elements were most of what a filter change cost the server."""
    if not notes:
        return heading
    return heading + "\n\n" + "  \n".join(f"{SMALL_GREY[0]}{note}{SMALL_GREY[1]}" for note in notes)


def show_list(index: OpportunityIndex, found: Matches, query: SearchQuery, lang: str, private: bool = False) -> None:
    """One page of results as cards, in the search order, each with a "Details" button."""
    _ = translations(lang).gettext
    engine = access.engine()
    near = query.near
    total = found.total
    pages = max(1, -(-total // PAGE_SIZE))
    st.session_state[session.PAGE] = min(max(1, int(st.session_state[session.PAGE])), pages)
    page = st.session_state[session.PAGE]
    page_rows, shown = state.result_page(engine, index, found, query, page, PAGE_SIZE, private=private)
    with engine.connect() as conn:  # harvested from another publisher's feed: credited on its card
        sources = harvesting.attributions(conn, [o.id for o in shown if o.id is not None])
    awarded = state.badges_of_activities(engine)
    distances = index.distances_km(page_rows, near) if near is not None else None
    first = (page - 1) * PAGE_SIZE + 1
    st.caption(
        _("Results {first}–{last} of {total}").format(
            first=format_number(first, lang), last=format_number(first + len(shown) - 1, lang), total=format_number(total, lang)
        )
    )
    for i, opp in enumerate(shown):
        heading, facts, label, tooltip = state.texts(("card", opp.id, opp.updated_at, lang), partial(card_texts, opp, lang))
        if distances is not None and np.isfinite(distances[i]):
            facts = (format_distance_km(float(distances[i]), lang), *facts)
        notes = [escape_markdown(" · ".join(facts))]
        if opp.id in sources:
            notes.append(escape_markdown(source_line(sources[opp.id], lang)))
        badge = badge_name(opp.id, lang, awarded)
        if badge is not None:
            notes.append(":material/workspace_premium: " + escape_markdown(_("Awards a badge: {name}").format(name=badge)))
        # Three messages a card: its box, its texts, its button (the key names the box for app.py's style).
        with st.container(border=True, key=f"card_{opp.id}"):
            st.markdown(card_markdown(heading, notes))
            st.button(label, key=f"details_{opp.id}", on_click=select, args=(opp.id,), help=tooltip)
    if pages > 1:
        st.number_input(_("Page"), min_value=1, max_value=pages, step=1, key=session.PAGE)


def credit_lines(ids: list[int], lang: str) -> dict[int, str]:
    """The credit line of each of ``ids`` harvested from another publisher's feed (one query)."""
    with access.engine().connect() as conn:
        return {oid: source_line(source, lang) for oid, source in harvesting.attributions(conn, ids).items()}


def source_line(source: harvesting.Attribution, lang: str) -> str:
    """ "From <attribution>, <licence>": the credit a harvested opportunity carries wherever it is shown."""
    _ = translations(lang).gettext
    return _("From {source}, {license}").format(source=source.attribution, license=source.license)


def _fields(rows: list[tuple[str, str]]) -> None:
    """Label: value lines in one block (labels and values escaped)."""
    st.markdown("  \n".join(f"**{escape_markdown(label)}:** {escape_markdown(value)}" for label, value in rows if value))


def show_detail(opp: Opportunity, lang: str, timezone: str, link: str) -> None:
    """One opportunity in a dialog, over the list and the map (on a phone too, wherever the visitor scrolled)."""
    _ = translations(lang).gettext

    @st.dialog(_("Details"), width="large", on_dismiss=lambda: select(None))
    def dialog() -> None:
        detail_view(opp, lang, timezone, link)

    dialog()


def detail_view(opp: Opportunity, lang: str, timezone: str, link: str) -> None:
    """Every field of one opportunity, its next sessions, an .ics download and a link to share."""
    _ = translations(lang).gettext
    with st.container():
        st.markdown(f"### {escape_markdown(opp.title)}")
        st.markdown(escape_markdown(opp.provider))
        if opp.description:
            st.text(opp.description)
        rows = [
            (_("Topics"), ", ".join(topic_label(t, lang) for t in opp.topics)),
            (_("Type"), type_label(opp.type, lang)),
            (_("Mode"), mode_label(opp.mode, lang)),
            (_("Dates"), format_dates(opp, lang)),
            (_("Ages"), format_ages(opp, lang)),
            (_("Cost"), format_cost(opp, lang)),
            (_("Languages"), ", ".join(language_name(code, lang) for code in opp.languages)),
        ]
        if opp.mode == Mode.ONLINE:
            rows.append((_("Venue"), _("Online only")))
        else:
            rows.append((_("Venue"), opp.venue))
            # The city only when the address does not already name it ("…, 4000 Kranj").
            named = bool(opp.city) and fold(opp.city) in fold(opp.address)
            rows.append((_("Address"), opp.address if named else ", ".join(p for p in (opp.address, opp.city) if p)))
            if is_approximate(opp) and opp.precision is not None:
                rows.append((_("Approximate location"), precision_label(opp.precision, lang, opp.uncertainty_m)))
        rows.append((_("Accessibility"), opp.accessibility))
        rows.append((_("Contact"), opp.contact_email))
        badge = badge_name(opp.id, lang)
        rows.append((_("Badge"), _("{name}: ask for the claim code at the activity").format(name=badge) if badge else ""))
        _fields(rows)
        with access.engine().connect() as conn:
            source = harvesting.attributions(conn, [opp.id] if opp.id is not None else []).get(opp.id or 0)
        if source is not None:
            st.caption(escape_markdown(source_line(source, lang)))
        if opp.schedule:
            now = local_now(timezone)
            sessions = opp.sessions(now, now + timedelta(days=366), limit=NEXT_SESSIONS)
            if sessions:
                st.markdown(f"**{escape_markdown(_('Next sessions'))}**")
                st.markdown("\n".join(f"- {escape_markdown(format_when(s, lang))}" for s in sessions))
        url = safe_link(opp.url)
        if url is not None:
            st.link_button(_("Register or read more"), url)
        st.download_button(
            _("Add to calendar (.ics)"),
            data=opportunity_ics(opp, timezone=timezone, url=link),
            file_name=f"opportunity-{opp.id}.ics",
            mime="text/calendar",
            key="download_ics",
            on_click="ignore",
        )
        st.caption(_("Copy this link"))
        st.code(link, language=None, wrap_lines=True)
        if st.button(_("Back to the list"), on_click=select, args=(None,), key="back_to_list"):
            st.rerun()  # the whole page, to close the dialog


def filter_label(name: str, lang: str) -> str:
    """The label of a filter, as in the sidebar."""
    _ = translations(lang).gettext
    labels = {
        "city": _("City"), "topic": _("Topics"), "age": _("Age"), "dates": _("Dates"), "mode": _("Mode"), "type": _("Type"),
        "free": _("Free only"), "accessible": _("Accessible only"), "badge": _("Awards a badge"), "playlist": _("Playlist"), "language": _("Language taught in"),
        "q": _("Search in titles and descriptions"), "near": _("Near me"),
    }  # fmt: skip
    return labels[name]


# --- the page --------------------------------------------------------------------------------------


def main() -> None:
    settings = state.settings()
    engine = access.engine()
    cities = state.city_names(engine, settings.database_url)
    index = state.opportunity_index(engine, settings.database_url)
    details = state.city_details(engine, settings.database_url)
    init_page_state(cities, index.language_codes, today_for("", details))

    lang = switcher(session.FILTER_KEYS)
    forget_unknown_playlist(lang)
    _ = translations(lang).gettext

    st.title(_("Learning opportunities"))
    for problem in st.session_state[session.URL_PROBLEMS]:
        # A problem quotes what the link held: shown as text, so no value becomes a live link.
        st.warning(escape_markdown(problem), icon=":material/link_off:")

    search_and_results(lang)

    # Last, so that its (empty) block adds no gap above the page's content.
    set_page_language(lang)


@st.fragment
def search_and_results(lang: str) -> None:
    """The filters (in the sidebar) and what they find: a fragment, so that a filter change reruns
    only this, not the menu, the page's title and the language switch above it, which a filter
    change leaves as they are (each element is a message to the browser on every rerun).

    A language change reruns the whole page, as do links and the menu. Everything read from the
    database or the index is read again here: a fragment's rerun sees this run's data.
    """
    settings = state.settings()
    engine = access.engine()
    cities = state.city_names(engine, settings.database_url)
    index = state.opportunity_index(engine, settings.database_url)
    details = state.city_details(engine, settings.database_url)
    # "Today" is the chosen city's date (the widgets already hold this run's choice of city).
    today = today_for(st.session_state[session.CITY], details)
    follow_today(today)
    _ = translations(lang).gettext
    ngettext = translations(lang).ngettext

    filters = filter_sidebar(cities, index.language_codes, lang, today)
    playlist_notice(filters, lang)
    country = details[filters.city][0] if filters.city in details else None
    near = near_point(
        place=filters.place,
        browser=st.session_state[session.BROWSER_POSITION],
        locate=lambda text: state.geocoder(str(settings.cache_dir), str(settings.address_dir)).geocode_query(text, country),
    )
    if near.place_not_found:
        message = _("Could not find {place}. Try a town name or a postcode.").format(place=f"“{filters.place}”")
        st.warning(escape_markdown(message), icon=":material/wrong_location:")

    if filters.date_to is not None and filters.date_to < (filters.date_from or today):
        st.warning(_("The end date is before the start date, so it is not used."), icon=":material/event_busy:")
    query = filters.to_query(limit=MAX_LIMIT, today=today, near=near.point)

    # The opportunity shown in detail (from a "Details" button or ?id= in a link).
    selected_id = st.session_state[session.SELECTED]
    selected: Opportunity | None = None
    if selected_id is not None:
        chosen = state.opportunities_by_id(engine, [selected_id])
        if chosen and chosen[0].status == Status.PUBLISHED:
            selected = chosen[0]
        else:
            st.info(_("This opportunity is not available (it may have ended or been removed)."), icon=":material/info:")
            st.session_state[session.SELECTED] = None

    # The browser's position stays in this tab: nothing computed from it is kept for other visitors.
    private = near.source == "browser"
    found = with_badge(index, state.matches(engine, index, query, private=private), filters)
    total = found.total
    search_key = repr(query)
    circle = (*near.point, filters.radius_km) if near.point is not None else None
    fit_map(index, search_key, found, circle)
    if st.session_state[session.LIST_FOR] != search_key:
        st.session_state[session.LIST_FOR] = search_key
        st.session_state[session.PAGE] = 1
    params = page_params(filters, lang)
    write_url(params)

    if selected is not None:
        timezone = details.get(selected.city, ("", "UTC"))[1]
        link = share_url(st.context.url or "/", page_params(filters, lang, share=True))
        show_detail(selected, lang, timezone, link)

    online = found.online
    summary = ngettext("{count} opportunity matches your filters.", "{count} opportunities match your filters.", total).format(
        count=f"**{format_number(total, lang)}**"
    )
    if online:
        summary += " " + _("{count} online only, not on the map.").format(count=format_number(online, lang))
    st.markdown(summary)
    if near.point is not None:
        radius = format_number(filters.radius_km, lang)
        # Two whole sentences: "your location" cannot be dropped into the place's slot in every language.
        if near.source == "browser":
            around = _("Showing opportunities within {radius} km of your location.").format(radius=radius)
        else:
            around = _("Showing opportunities within {radius} km of {place}.").format(radius=radius, place=f"“{filters.place}”")
        st.caption(escape_markdown(around))

    subscribe(
        search_links(settings.public_url, filters, lang),
        lang,
        located_by_browser=filters.use_browser_position and not filters.place,
    )

    if total and st.toggle(_("Map"), value=True, key="show_map"):
        show_map(index, found, params, lang, filters.topics, circle, private)

    if total:
        show_list(index, found, query, lang, private)
    else:
        st.info(_("No opportunities match these filters."), icon=":material/search_off:")

        def count_without(relaxed: Filters) -> int:
            point = near.point if (relaxed.place or relaxed.use_browser_position) else None
            relaxed_query = relaxed.to_query(limit=MAX_LIMIT, today=today, near=point)
            return with_badge(
                index, state.matches(engine, index, relaxed_query, private=point is not None and private), relaxed
            ).total

        for name, count in relaxations(filters, count_without):
            st.button(
                ngettext("Try without “{filter}” ({count} result)", "Try without “{filter}” ({count} results)", count).format(
                    filter=filter_label(name, lang), count=format_number(count, lang)
                ),
                on_click=relax,
                args=(name,),
                key=f"relax_{name}",
            )
        st.button(_("Clear filters"), on_click=clear_filters, key="clear_filters_empty")


main()
