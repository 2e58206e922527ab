"""Submit or edit a listing: every field with its message, the place on a small map, the schedule
builder with the next sessions, and a draft saved as the provider types.

Providers only (checked first; every action checks again in the domain). The form's values are
saved as the provider's draft on every change; the draft's id is in the URL (``?draft=``), so a
reload or a dropped connection brings the form back as it was. ``?edit=ID`` edits a listing,
``?copy=ID&start=YYYY-MM-DD`` copies one for the next term (from My opportunities).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import streamlit as st
from streamlit_folium import st_folium

from maps.pin_map import PIN_MAP_HEIGHT, pin_map
from opportunities.accounts.organisations import get_organisation
from opportunities.db import connection, queries
from opportunities.errors import FieldError, ForbiddenError, GeocodingError, NotFoundError, RecordError
from opportunities.i18n import (
    babel_locale,
    explain,
    explain_error,
    format_when,
    language_name,
    mode_label,
    topic_label,
    translator,
    type_label,
)
from opportunities.listings import drafts, listings
from opportunities.listings.calendar import city_zone
from opportunities.listings.schedules import MONTH_POSITIONS, Ending, Repeat, ScheduleChoice, from_rule, next_sessions, to_rule
from opportunities.listings.submission import FormValues, check_form
from opportunities.places.gazetteer import Location
from opportunities.places.geocoding import Geocoder
from opportunities.places.placement import MAP_SOURCE, Placement, clicked_point, place_from_address, place_from_map
from opportunities.text import escape_markdown
from opportunities.validation import MAX_LENGTHS
from opportunities.vocabulary import COUNTRIES, CURRENCIES, TAUGHT_LANGUAGES, TOPICS, Mode, OpportunityType, Precision, Status
from ui import access
from ui import app_state as state
from ui.language import stop_page

state.run_through_app()

DATE_FORMAT = "YYYY-MM-DD"

# Session-state keys, all set by init_state().
DRAFT_ID = "submit_draft_id"
EDITING = "submit_editing"  # the listing being edited, or None for a new one
LOADED = "submit_loaded"  # the URL parameters the form was filled from
SAVED = "submit_saved"  # the values last saved as the draft (JSON form)
SAVED_AT = "submit_saved_at"
PIN = "submit_pin"  # the provider's own Location from the map, or None
PIN_SEEN = "submit_pin_seen"  # the last click the map reported, already handled
PIN_ERROR = "submit_pin_error"
SHOW_ALL = "submit_show_all"  # after a submit attempt every problem is shown, not only those of filled fields
DONE = "submit_done"  # the listing just submitted (id, status)
FIELD_KEYS = {
    "title": "submit_title", "description": "submit_description", "venue": "submit_venue", "country": "submit_country",
    "city": "submit_city", "address": "submit_address", "topics": "submit_topics", "age_min": "submit_age_min",
    "age_max": "submit_age_max", "mode": "submit_mode", "type": "submit_type", "start_day": "submit_start_day",
    "start_time": "submit_start_time", "end_day": "submit_end_day", "end_time": "submit_end_time", "cost": "submit_cost",
    "currency": "submit_currency", "languages": "submit_languages", "url": "submit_url",
    "contact_email": "submit_contact_email", "accessibility": "submit_accessibility",
}  # fmt: skip
SCHEDULE_KEYS = {
    "repeat": "submit_repeat", "interval": "submit_interval", "weekdays": "submit_weekdays",
    "month_position": "submit_month_position", "month_weekday": "submit_month_weekday", "ending": "submit_ending",
    "until": "submit_until", "count": "submit_count", "rule": "submit_rule",
}  # fmt: skip


def init_state() -> None:
    defaults: dict[str, Any] = {DRAFT_ID: None, EDITING: None, LOADED: None, SAVED: None, SAVED_AT: None, PIN: None,
                                PIN_SEEN: None, PIN_ERROR: "", SHOW_ALL: False, DONE: None}  # fmt: skip
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


def fill_form(values: FormValues) -> None:
    """Put ``values`` into the widgets (a restored draft, a listing to edit or copy)."""
    for name, key in FIELD_KEYS.items():
        value = getattr(values, name)
        st.session_state[key] = list(value) if isinstance(value, tuple) else value
    for name in ("title", "description", "venue", "city", "address", "cost", "url", "contact_email", "accessibility"):
        st.session_state[FIELD_KEYS[name]] = getattr(values, name) or ""
    st.session_state[FIELD_KEYS["mode"]] = values.mode or None
    st.session_state[FIELD_KEYS["type"]] = values.type or None
    st.session_state[FIELD_KEYS["country"]] = values.country or None
    choice = from_rule(values.schedule)
    st.session_state[SCHEDULE_KEYS["rule"]] = values.schedule if choice is None else ""
    choice = choice or ScheduleChoice()
    for name in ("repeat", "interval", "month_position", "month_weekday", "ending", "until", "count"):
        st.session_state[SCHEDULE_KEYS[name]] = getattr(choice, name)
    st.session_state[SCHEDULE_KEYS["weekdays"]] = list(choice.weekdays)
    pinned = values.latitude is not None and values.longitude is not None and values.location_uncertainty_m is not None
    st.session_state[PIN] = (
        Location(values.latitude, values.longitude, Precision.PROVIDED, MAP_SOURCE, values.location_uncertainty_m)  # type: ignore[arg-type]
        if pinned
        else None
    )
    st.session_state[SAVED] = comparable(values)


def comparable(values: FormValues) -> dict[str, Any]:
    """The values as saved in a draft, the organisation left out (the page always fills it in)."""
    return {**values.to_json_dict(), "provider": ""}


def load_from_url(engine: Any, user: Any, organisation_values: FormValues) -> None:
    """Fill the form once per link: a draft, a listing to edit or to copy, or the organisation's defaults."""
    params = {name: st.query_params.get(name, "") for name in ("draft", "edit", "copy", "start")}
    if st.session_state[LOADED] == params:
        return
    st.session_state[LOADED] = params
    st.session_state[DRAFT_ID] = st.session_state[EDITING] = None
    values = organisation_values
    try:
        with engine.connect() as conn:
            if params["draft"].isdigit():
                draft = drafts.get_draft(conn, user, int(params["draft"]))
                values, st.session_state[DRAFT_ID], st.session_state[EDITING] = draft.values, draft.id, draft.opportunity_id
            elif params["edit"].isdigit():
                values = listings.get_listing_values(conn, user, int(params["edit"]))
                st.session_state[EDITING] = int(params["edit"])
            elif params["copy"].isdigit():
                start = date.fromisoformat(params["start"]) if params["start"] else None
                values = listings.get_listing_values(conn, user, int(params["copy"]))
                if start is not None:
                    values = listings.copy_for_next_term(conn, user, int(params["copy"]), start)
    except (NotFoundError, ForbiddenError, ValueError):
        st.warning(_("That draft or listing is not yours, or no longer exists: here is an empty form."))
        values = organisation_values
    fill_form(values)


def show_messages(slot: Any, name: str, messages: dict[str, list[str]], touched: bool) -> None:
    if messages.get(name) and (touched or st.session_state[SHOW_ALL]):
        slot.error("\n\n".join(escape_markdown(m) for m in messages[name]), icon=":material/error:")


@st.cache_data(max_entries=256, show_spinner=False)
def placed(_geocoder: Geocoder, country: str, city: str, address: str, language: str) -> Placement | str:
    """The place of the typed address, or the message saying why there is none."""
    try:
        return place_from_address(_geocoder, country=country, city=city, address=address, language=language)
    except GeocodingError as exc:
        return explain(exc.reason, language)


user = access.require_member()
lang = access.language()
_ = translator(lang).gettext
settings = state.settings()
engine = access.engine()
geocoder = state.geocoder(
    str(settings.cache_dir), str(settings.address_dir), settings.geocoder_online_url, settings.geocoder_user_agent
)
init_state()
now = datetime.now(UTC)

organisation_id = user.organisation_id
assert organisation_id is not None  # require_member() stopped the page for anyone without one
with engine.connect() as conn:
    organisation = get_organisation(conn, organisation_id)
    home = next((c for c in queries.list_cities(conn) if c.id == organisation.city_id), None)
defaults = FormValues(
    city=home.name if home else "", country=home.country if home else "SE", contact_email=organisation.contact_email
)
load_from_url(engine, user, defaults)
zone_name = home.timezone if home else "UTC"

if st.session_state[DONE] is not None:
    done_id, done_status = st.session_state[DONE]
    if done_status == Status.PUBLISHED.value:
        st.success(_("Published: it is on the map now."), icon=":material/check_circle:")
    else:
        st.success(
            _("Sent for review. A city lead will look at it; you will see the outcome in My opportunities."),
            icon=":material/check_circle:",
        )
    st.page_link("pages/my_opportunities.py", label=_("Go to My opportunities"))
    if st.button(_("Submit another opportunity")):
        st.session_state[DONE] = None
        st.query_params.clear()
        st.session_state[LOADED] = None
        st.rerun()
    stop_page(lang)

editing = st.session_state[EDITING]
st.title(_("Edit a listing") if editing else _("Submit an opportunity"))
st.caption(escape_markdown(_("For {organisation}. Fields marked * are required.").format(organisation=organisation.name)))
if not organisation.verified:
    st.info(
        _("Your organisation is not verified yet: you can submit now, and a city lead reviews it with your organisation."),
        icon=":material/info:",
    )

slots: dict[str, Any] = {}
with st.container(border=True):
    st.subheader(_("What"))
    st.text_input(_("Title") + " *", key=FIELD_KEYS["title"], max_chars=MAX_LENGTHS["title"])
    slots["title"] = st.empty()
    st.text_area(_("Description"), key=FIELD_KEYS["description"], max_chars=MAX_LENGTHS["description"], height=120)
    slots["description"] = st.empty()
    st.multiselect(_("Topics") + " *", TOPICS, key=FIELD_KEYS["topics"], format_func=lambda t: topic_label(t, lang),
                   placeholder=_("Choose one or more"))  # fmt: skip
    slots["topics"] = st.empty()
    left, right = st.columns(2)
    left.selectbox(_("Kind of activity") + " *", [t.value for t in OpportunityType], key=FIELD_KEYS["type"],
                   format_func=lambda t: type_label(t, lang), placeholder=_("Choose one"))  # fmt: skip
    slots["type"] = left.empty()
    right.selectbox(_("Where it happens") + " *", [m.value for m in Mode], key=FIELD_KEYS["mode"],
                    format_func=lambda m: mode_label(m, lang), placeholder=_("Choose one"))  # fmt: skip
    slots["mode"] = right.empty()
    left, right = st.columns(2)
    left.number_input(_("Youngest age") + " *", min_value=0, max_value=120, step=1, key=FIELD_KEYS["age_min"])
    slots["age_min"] = left.empty()
    right.number_input(_("Oldest age"), min_value=0, max_value=120, step=1, key=FIELD_KEYS["age_max"])
    slots["age_max"] = right.empty()
    st.multiselect(_("Languages"), TAUGHT_LANGUAGES, key=FIELD_KEYS["languages"], format_func=lambda c: language_name(c, lang),
                   placeholder=_("The languages it is held in"))  # fmt: skip
    slots["languages"] = st.empty()

with st.container(border=True):
    st.subheader(_("When"))
    left, right = st.columns(2)
    left.date_input(_("Start") + " *", key=FIELD_KEYS["start_day"], format=DATE_FORMAT)
    right.time_input(_("Start time"), key=FIELD_KEYS["start_time"], step=900)
    slots["start"] = st.empty()
    left, right = st.columns(2)
    left.date_input(_("End"), key=FIELD_KEYS["end_day"], format=DATE_FORMAT)
    right.time_input(_("End time"), key=FIELD_KEYS["end_time"], step=900)
    slots["end"] = st.empty()
    weekday_names = babel_locale(lang).days["format"]["wide"]
    repeat_labels = {Repeat.ONCE: _("Does not repeat"), Repeat.DAILY: _("Every day"), Repeat.WEEKLY: _("Every week"),
                     Repeat.MONTHLY: _("Every month, on a weekday")}  # fmt: skip
    advanced = st.session_state.get(SCHEDULE_KEYS["rule"], "")
    if advanced:
        st.text_input(_("Repeats (a recurrence rule)"), key=SCHEDULE_KEYS["rule"])
        st.caption(_("This schedule was written as a rule in an import; edit the rule, or empty it to use the simple choices."))
        rule = st.session_state[SCHEDULE_KEYS["rule"]].strip()
    else:
        repeat = st.radio(_("Repeats"), list(Repeat), key=SCHEDULE_KEYS["repeat"], format_func=lambda r: repeat_labels[Repeat(r)],
                          horizontal=True)  # fmt: skip
        rule = ""
        if repeat is not Repeat.ONCE:
            unit = {Repeat.DAILY: _("days"), Repeat.WEEKLY: _("weeks"), Repeat.MONTHLY: _("months")}[
                Repeat(repeat or Repeat.ONCE)
            ]
            st.number_input(_("Every how many {unit}").format(unit=unit), min_value=1, max_value=24 if repeat is Repeat.MONTHLY else 31,
                            step=1, key=SCHEDULE_KEYS["interval"])  # fmt: skip
            if repeat is Repeat.WEEKLY:
                st.pills(_("On"), list(range(7)), selection_mode="multi", key=SCHEDULE_KEYS["weekdays"],
                         format_func=lambda d: weekday_names[d])  # fmt: skip
            if repeat is Repeat.MONTHLY:
                left, right = st.columns(2)
                positions = {1: _("first"), 2: _("second"), 3: _("third"), 4: _("fourth"), -1: _("last")}
                left.selectbox(
                    _("Week of the month"), MONTH_POSITIONS, key=SCHEDULE_KEYS["month_position"], format_func=positions.get
                )
                right.selectbox(
                    _("Weekday"), list(range(7)), key=SCHEDULE_KEYS["month_weekday"], format_func=lambda d: weekday_names[d]
                )
            endings = {
                Ending.END_DATE: _("At the end date (or never)"),
                Ending.UNTIL: _("On a day"),
                Ending.COUNT: _("After a number of sessions"),
            }
            ending = st.radio(
                _("Ends"), list(Ending), key=SCHEDULE_KEYS["ending"], format_func=lambda e: endings[Ending(e)], horizontal=True
            )
            if ending is Ending.UNTIL:
                st.date_input(_("Last day"), key=SCHEDULE_KEYS["until"], format=DATE_FORMAT)
            if ending is Ending.COUNT:
                st.number_input(_("Number of sessions"), min_value=1, max_value=1000, step=1, key=SCHEDULE_KEYS["count"])
            choice = ScheduleChoice(
                repeat=Repeat(repeat or Repeat.ONCE),
                interval=int(st.session_state.get(SCHEDULE_KEYS["interval"]) or 1),
                weekdays=tuple(st.session_state.get(SCHEDULE_KEYS["weekdays"]) or ()),
                month_position=int(st.session_state.get(SCHEDULE_KEYS["month_position"]) or 1),
                month_weekday=int(st.session_state.get(SCHEDULE_KEYS["month_weekday"]) or 0),
                ending=Ending(ending or Ending.END_DATE),
                until=st.session_state.get(SCHEDULE_KEYS["until"]),
                count=st.session_state.get(SCHEDULE_KEYS["count"]),
            )
            try:
                rule = to_rule(choice)
            except FieldError as exc:
                st.error(escape_markdown(explain(exc.reason, lang)))
    slots["schedule"] = st.empty()
    preview = st.empty()

with st.container(border=True):
    st.subheader(_("Where"))
    left, right = st.columns([1, 2])
    left.selectbox(
        _("Country") + " *", COUNTRIES, key=FIELD_KEYS["country"], format_func=lambda c: babel_locale(lang).territories.get(c, c)
    )
    right.text_input(_("City") + " *", key=FIELD_KEYS["city"], max_chars=MAX_LENGTHS["city"])
    slots["city"] = st.empty()
    st.text_input(
        _("Venue"), key=FIELD_KEYS["venue"], max_chars=MAX_LENGTHS["venue"], placeholder=_("e.g. the library's workshop room")
    )
    st.text_input(_("Address"), key=FIELD_KEYS["address"], max_chars=MAX_LENGTHS["address"],
                  placeholder=_("Street, number, postcode and town"))  # fmt: skip
    slots["address"] = st.empty()
    country = st.session_state[FIELD_KEYS["country"]] or ""
    city = st.session_state[FIELD_KEYS["city"]].strip()
    address = st.session_state[FIELD_KEYS["address"]].strip()
    online = st.session_state[FIELD_KEYS["mode"]] == Mode.ONLINE.value
    pin: Location | None = st.session_state[PIN]
    found = placed(geocoder, country, city, address, lang) if country and city and not online else None
    if online and not address:
        st.caption(_("An online activity needs no place on the map."))
    elif pin is not None:
        st.success(
            escape_markdown(_("Placed where you put the pin. Drag it or click the map to move it.")),
            icon=":material/location_on:",
        )
        if st.button(_("Use the address instead of my pin")):
            st.session_state[PIN] = None
            st.rerun()
    elif isinstance(found, Placement):
        st.info(escape_markdown(found.explanation), icon=":material/location_on:")
    elif isinstance(found, str):
        st.warning(escape_markdown(found), icon=":material/wrong_location:")
    if st.session_state[PIN_ERROR]:
        st.error(escape_markdown(st.session_state[PIN_ERROR]), icon=":material/wrong_location:")
    slots["latitude"] = st.empty()
    if country and city and not (online and not address):
        shown = pin or (found.location if isinstance(found, Placement) else None)
        centre = (shown.latitude, shown.longitude) if shown else ((home.latitude, home.longitude) if home else (0.0, 0.0))
        reported = st_folium(
            pin_map(
                shown,
                centre=centre,
                tile_url=settings.tile_url,
                tile_attribution=settings.tile_attribution,
                asset_base=state.asset_base(),
                language=lang,
            ),
            key="submit_map",
            returned_objects=["last_clicked", "zoom"],
            height=PIN_MAP_HEIGHT,
            use_container_width=True,
        )
        point = clicked_point(reported)
        if point is not None and point != st.session_state[PIN_SEEN]:
            st.session_state[PIN_SEEN] = point
            try:
                zoom = reported.get("zoom") if isinstance(reported, dict) else None
                moved = place_from_map(geocoder, *point, country=country, city=city, language=lang, zoom=zoom)
                st.session_state[PIN], st.session_state[PIN_ERROR] = moved.location, ""
            except GeocodingError as exc:
                st.session_state[PIN_ERROR] = explain(exc.reason, lang)
            st.rerun()

with st.container(border=True):
    st.subheader(_("Price and contact"))
    left, right = st.columns(2)
    left.text_input(_("Price"), key=FIELD_KEYS["cost"], placeholder=_("Empty or 0: free"))
    slots["cost"] = left.empty()
    right.selectbox(_("Currency"), ("", *CURRENCIES), key=FIELD_KEYS["currency"], format_func=lambda c: c or "—")
    slots["currency"] = right.empty()
    st.text_input(_("Web page"), key=FIELD_KEYS["url"], max_chars=MAX_LENGTHS["url"], placeholder="https://")
    slots["url"] = st.empty()
    st.text_input(_("Contact email"), key=FIELD_KEYS["contact_email"], max_chars=MAX_LENGTHS["contact_email"])
    slots["contact_email"] = st.empty()
    st.text_area(_("Accessibility"), key=FIELD_KEYS["accessibility"], max_chars=MAX_LENGTHS["accessibility"], height=80,
                 placeholder=_("e.g. step-free entrance, hearing loop"))  # fmt: skip
    slots["accessibility"] = st.empty()

raw = {name: st.session_state[key] for name, key in FIELD_KEYS.items()}
values = FormValues(
    title=raw["title"], description=raw["description"], provider=organisation.name, city=raw["city"], country=raw["country"] or "",
    venue=raw["venue"], address=raw["address"], topics=tuple(raw["topics"] or ()), age_min=raw["age_min"], age_max=raw["age_max"],
    mode=raw["mode"] or "", type=raw["type"] or "", start_day=raw["start_day"], start_time=raw["start_time"], end_day=raw["end_day"],
    end_time=raw["end_time"], schedule=rule, cost=raw["cost"], currency=raw["currency"] or "", languages=tuple(raw["languages"] or ()),
    url=raw["url"], contact_email=raw["contact_email"], accessibility=raw["accessibility"],
).with_pin(st.session_state[PIN])  # fmt: skip
check = check_form(values, language=lang, today=now.date())
record = values.to_record()
for name, slot in slots.items():
    show_messages(slot, name, check.messages, touched=bool(record.get(name)))

if values.start_day is not None and "schedule" not in check.messages and "start" not in check.messages:
    first = datetime.combine(values.start_day, values.start_time) if values.start_time else values.start_day
    upcoming = next_sessions(rule, first, values.end_day, timezone=zone_name, now=now)
    if upcoming:
        preview.markdown(
            _("Next sessions:") + "\n" + "\n".join(f"- {format_when(s.replace(tzinfo=None), lang)}" for s in upcoming)
        )
    else:
        preview.caption(_("No sessions ahead."))

# The draft: saved whenever the values change (each change is a rerun), and named in the URL.
if comparable(values) != st.session_state[SAVED]:
    with connection.writing(engine) as conn:
        try:
            st.session_state[DRAFT_ID] = drafts.save_draft(
                conn, user, values, now=now, draft_id=st.session_state[DRAFT_ID], opportunity_id=st.session_state[EDITING]
            )
        except NotFoundError:
            st.session_state[DRAFT_ID] = drafts.save_draft(conn, user, values, now=now, opportunity_id=st.session_state[EDITING])
    st.session_state[SAVED], st.session_state[SAVED_AT] = comparable(values), now
    loaded = {**st.session_state[LOADED], "draft": str(st.session_state[DRAFT_ID]), "edit": "", "copy": "", "start": ""}
    st.session_state[LOADED] = loaded
    st.query_params.from_dict({"draft": str(st.session_state[DRAFT_ID])})
if st.session_state[SAVED_AT] is not None:
    st.caption(_("Draft saved {when}. Only you can see it; it stays here if the connection drops or you reload the page.").format(
        when=format_when(st.session_state[SAVED_AT].astimezone(city_zone(zone_name)).replace(tzinfo=None), lang)))  # fmt: skip

left, right = st.columns(2)


def show_every_message() -> None:
    st.session_state[SHOW_ALL] = True


if left.button(_("Save changes and send") if editing else _("Submit"), type="primary", on_click=show_every_message):
    if check.valid:
        try:
            with connection.writing(engine) as conn:
                stored = listings.submit(conn, user, values, geocoder=geocoder, now=now, opportunity_id=editing)
                if st.session_state[DRAFT_ID] is not None:
                    drafts.delete_draft(conn, user, st.session_state[DRAFT_ID])
        except RecordError as exc:
            for error in exc.errors:
                st.error(escape_markdown(explain_error(error, lang)))
        except FieldError as exc:
            st.error(escape_markdown(explain_error(exc, lang)))
        except (ForbiddenError, NotFoundError):
            st.error(_("You may not change this listing."))
        else:
            st.session_state[DONE] = (stored.id, stored.status.value)
            st.session_state[LOADED] = None
            for key in (DRAFT_ID, EDITING, SAVED, SAVED_AT, PIN, PIN_SEEN):
                st.session_state[key] = None
            st.session_state[SHOW_ALL] = False
            st.query_params.clear()
            st.rerun()
    else:
        st.error(_("Some fields need your attention: see the messages above."), icon=":material/error:")
if st.session_state[DRAFT_ID] is not None and right.button(_("Discard the draft")):
    with connection.writing(engine) as conn:
        drafts.delete_draft(conn, user, st.session_state[DRAFT_ID])
    st.query_params.clear()
    st.session_state[LOADED] = None
    for key in (DRAFT_ID, SAVED, SAVED_AT, PIN):
        st.session_state[key] = None
    st.rerun()
