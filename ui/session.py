"""Every ``st.session_state`` key the app keeps, declared once: its name, what it holds, and where
it starts.

A key holds what one browser session carries from run to run (who is signed in, the language, a
page's filters and half-typed form). Pages read and write ``st.session_state[session.KEY]``, never a
string of their own; a page whose keys start from fixed values sets them with :func:`start`, and
the Explore and Indicators pages set theirs from the link (their ``init_page_state``). A widget
whose value is only read from its return value keeps its ``key=`` beside it, as its identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from opportunities.listings.submission import WIDGET_FIELDS

# --- every page ------------------------------------------------------------------------------------
THROUGH_APP = "_through_app"  # app.py has run in this session (see app_state.run_through_app)
LANGUAGE = "ui_language"  # the interface language; also the language menu's widget
LANGUAGE_TOLD = "_page_language_told"  # this run has told the browser the page's language (ui.language)
SESSION_TOKEN = "signed_in_token"  # the token of this browser session's sign-in
SIGNED_OUT = "signed_out"  # signed out in this session: ignore a stale cookie
OIDC_REFUSED = "oidc_refused"  # an st.login identity without an account here
COOKIE_WRITE = "_cookie_write"  # a cookie change the browser is to fetch from the server (ui.access)

# --- Explore (set from the link by the page's init_page_state) ------------------------------------
CITY = "filter_city"
TOPICS = "filter_topics"
AGE_KIND = "filter_age_kind"  # "" any age, an age group id, or EXACT_AGE
EXACT_AGE = "exact"
AGE = "filter_age"
FREE = "filter_free"
DATE_FROM = "filter_from"
DATE_TO = "filter_to"
MODES = "filter_modes"
TYPES = "filter_types"
TAUGHT_IN = "filter_language"
ACCESSIBLE = "filter_accessible"
BADGE_ONLY = "filter_badge"  # only activities that award a badge
PLAYLIST = "filter_playlist"  # the activities of one playlist (its id), or None
TEXT = "filter_text"
PLACE = "filter_place"
RADIUS = "filter_radius"
BROWSER_POSITION = "browser_position"  # (lat, lon) from "Use my location": this session only, never in a link
LOCATION_ERROR = "browser_location_error"
LOCATE = "locate_me"  # what the "Use my location" component reported
SELECTED = "selected_id"
MAP = "map"  # what the map component reported (its view, a click)
MAP_POSITION = "map_position"  # the MapPosition for the link, once the visitor moved the map
FILTERS_READY = "filters_ready"
URL_PROBLEMS = "url_problems"
TODAY = "today_shown"  # the date "today" meant on the last run (the chosen city's, see the explore page)
MAP_VIEW = "map_view"  # the MapView the layer is built for
MAP_FIT_VIEW = "map_fit_view"  # the view fitted to the current results
MAP_FIT_FOR = "map_fit_for"  # the filters that view was fitted to
MAP_SEEN = "map_seen"  # the last value the map component reported, already applied
MAP_HOLDS_ALL = "map_holds_all"  # whether the layer drawn was fitted to every match (see maps.position.view_to_draw)
PAGE = "list_page"
LIST_FOR = "list_for"  # the search the list page number belongs to (a new search starts on page 1)
# The filter widgets' keys: re-set together when the interface language changes (see the explore page).
FILTER_KEYS: tuple[str, ...] = (
    CITY, TOPICS, AGE_KIND, AGE, FREE, DATE_FROM, DATE_TO, MODES, TYPES, TAUGHT_IN, ACCESSIBLE, BADGE_ONLY, PLAYLIST, TEXT, PLACE, RADIUS,
)  # fmt: skip

# --- Submit ----------------------------------------------------------------------------------------
SUBMIT_DRAFT_ID = "submit_draft_id"
SUBMIT_EDITING = "submit_editing"  # the listing being edited, or None for a new one
SUBMIT_LOADED = "submit_loaded"  # the URL parameters the form was filled from
SUBMIT_SAVED = "submit_saved"  # the values last saved as the draft (JSON form)
SUBMIT_SAVED_AT = "submit_saved_at"
SUBMIT_PIN = "submit_pin"  # the provider's own Location from the map, or None
SUBMIT_PIN_SEEN = "submit_pin_seen"  # the last click the map reported, already handled
SUBMIT_PIN_ERROR = "submit_pin_error"
SUBMIT_SHOW_ALL = "submit_show_all"  # after a submit attempt every problem is shown, not only those of filled fields
SUBMIT_DONE = "submit_done"  # the listing just submitted (id, status)
SUBMIT_DEFAULTS: dict[str, Any] = {
    SUBMIT_DRAFT_ID: None, SUBMIT_EDITING: None, SUBMIT_LOADED: None, SUBMIT_SAVED: None, SUBMIT_SAVED_AT: None,
    SUBMIT_PIN: None, SUBMIT_PIN_SEEN: None, SUBMIT_PIN_ERROR: "", SUBMIT_SHOW_ALL: False, SUBMIT_DONE: None,
}  # fmt: skip
# The form's widgets, by field (filled from a draft or a listing, read back as FormValues).
SUBMIT_FIELDS = {name: f"submit_{name}" for name in WIDGET_FIELDS}
# The schedule builder's widgets, by choice (see opportunities.listings.schedules).
SUBMIT_SCHEDULE = {
    name: f"submit_{name}"
    for name in ("repeat", "interval", "weekdays", "month_position", "month_weekday", "ending", "until", "count", "rule")
}

# --- My opportunities ------------------------------------------------------------------------------
MINE_STATUS = "mine_status"  # the status shown ("" all); its radio's widget, started from ?status=
MINE_NOTICE = "mine_notice"  # the outcome of the last action, shown once
MINE_DEFAULTS: dict[str, Any] = {MINE_NOTICE: ""}

# --- Upload ----------------------------------------------------------------------------------------
UPLOAD_PREVIEW = "upload_preview"  # (file key, table, preview) of the file on screen
UPLOAD_DONE = "upload_done"  # (file key, report, rejected rows file) once stored

# --- Review ----------------------------------------------------------------------------------------
REVIEW_SELECTED = "review_selected"  # the "Review one" widget: the id of the submission open in detail
REVIEW_ORDER = "review_order"  # the queue's ids as last shown, to open the next one after a decision
REVIEW_TAB = "review_tab"  # the tabs: the tab open, kept across decisions
REVIEW_DONE = "review_done"  # the decision just saved, shown once

# --- Badges (providers and city leads) ---------------------------------------------------------------
BADGES_NOTICE = "badges_notice"  # the outcome of the last action, shown once
BADGES_NEW_CODE = "badges_new_code"  # the claim code just made (badge, code, expiry, uses): shown once, only its hash is stored
BADGES_DEFAULTS: dict[str, Any] = {BADGES_NOTICE: "", BADGES_NEW_CODE: None}

# --- Verify ----------------------------------------------------------------------------------------
VERIFY_FILE = "verify_file"  # the uploaded badge file
VERIFY_TEXT = "verify_text"  # a pasted badge

# --- Indicators (set from the link by the page's init_page_state) ----------------------------------
INDICATORS_SCOPE_KIND = "indicators_scope_kind"
INDICATORS_SCOPE_NAME = "indicators_scope_name"
INDICATORS_FROM = "indicators_from"
INDICATORS_TO = "indicators_to"
INDICATORS_READY = "indicators_ready"

# --- Coverage: a city lead's uploads ("coverage_boundaries", "coverage_population") ----------------


def upload_round(name: str) -> str:
    """How many files the uploader ``name`` has stored in this session (its widget gets a new key after each)."""
    return f"{name}_round"


def upload_done(name: str) -> str:
    """The message saying the uploader ``name``'s file was stored, shown once."""
    return f"{name}_done"


def start(defaults: Mapping[str, Any]) -> None:
    """Give every key of ``defaults`` its first value, keeping those it already has."""
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)
