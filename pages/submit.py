"""Submit or edit a listing: every field with its message, the place on a small map, the schedule
builder with the next sessions, and a draft saved as the provider types.

Providers only (checked first; every action checks again in the domain). The form's values are
saved as the provider's draft on every change; the draft's id is in the URL (``?draft=``), so a
reload or a dropped connection brings the form back as it was. ``?edit=ID`` edits a listing,
``?copy=ID&start=YYYY-MM-DD`` copies one for the next term (from My opportunities).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NoReturn

import streamlit as st
from sqlalchemy import Engine
from streamlit_folium import st_folium

from maps.pin_map import PIN_MAP_HEIGHT, pin_map
from opportunities.accounts.identity import User
from opportunities.accounts.organisations import Organisation, get_organisation
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
from opportunities.listings.schedules import (
    MONTH_POSITIONS,
    Ending,
    Repeat,
    choice_from_widgets,
    next_sessions,
    to_rule,
    widgets_for_rule,
)
from opportunities.listings.submission import FormCheck, FormValues, check_form
from opportunities.model import City
from opportunities.places.gazetteer import Location
from opportunities.places.geocoding import Geocoder
from opportunities.places.placement import MAP_SOURCE, Placement, clicked_point, place_from_address, place_from_map
from opportunities.settings import Settings
from opportunities.text import escape_markdown
from opportunities.validation import MAX_LENGTHS
from opportunities.vocabulary import COUNTRIES, CURRENCIES, TAUGHT_LANGUAGES, TOPICS, Mode, OpportunityType, Precision, Status
from ui import access, session
from ui import app_state as state
from ui.language import stop_page

state.run_through_app()

DATE_FORMAT = "YYYY-MM-DD"


@dataclass(frozen=True)
class Page:
    """What every part of the page needs: who, for which organisation, in which language, when, and where."""

    user: User
    lang: str
    now: datetime
    engine: Engine
    settings: Settings
    geocoder: Geocoder
    organisation: Organisation
    home: City | None  # the organisation's city

    def _(self, text: str) -> str:
        return translator(self.lang).gettext(text)

    @property
    def zone_name(self) -> str:
        return self.home.timezone if self.home else "UTC"

    def defaults(self) -> FormValues:
        """An empty form for the organisation: its city, country and contact address filled in."""
        home = self.home
        return FormValues(
            city=home.name if home else "", country=home.country if home else "SE", contact_email=self.organisation.contact_email
        )


def main() -> None:
    page = open_page()
    session.start(session.SUBMIT_DEFAULTS)
    load_from_url(page)
    if st.session_state[session.SUBMIT_DONE] is not None:
        show_done(page)
    editing: int | None = st.session_state[session.SUBMIT_EDITING]
    header(page, editing)
    slots: dict[str, Any] = {}
    what(page, slots)
    rule, preview = when(page, slots)
    where(page, slots)
    price_and_contact(page, slots)
    widgets = {name: st.session_state[key] for name, key in session.SUBMIT_FIELDS.items()}
    values = FormValues.from_widgets(widgets, provider=page.organisation.name, schedule=rule).with_pin(
        st.session_state[session.SUBMIT_PIN]
    )
    check = check_form(values, language=page.lang, today=page.now.date())
    record = values.to_record()
    for name, slot in slots.items():
        show_messages(slot, name, check.messages, touched=bool(record.get(name)))
    if values.start_day is not None and "schedule" not in check.messages and "start" not in check.messages:
        preview_sessions(page, preview, values)
    save_draft(page, values)
    actions(page, values, check, editing)


def open_page() -> Page:
    """The signed-in provider's page (the page stops for anyone else), with their organisation and its city."""
    user = access.require_member()
    settings = state.settings()
    geocoder = state.geocoder(
        str(settings.cache_dir), str(settings.address_dir), settings.geocoder_online_url, settings.geocoder_user_agent
    )
    organisation_id = user.organisation_id
    assert organisation_id is not None  # require_member() stopped the page for anyone without one
    engine = access.engine()
    with engine.connect() as conn:
        organisation = get_organisation(conn, organisation_id)
        home = next((c for c in queries.list_cities(conn) if c.id == organisation.city_id), None)
    return Page(user, access.language(), datetime.now(UTC), engine, settings, geocoder, organisation, home)


def fill_form(values: FormValues) -> None:
    """Put ``values`` into the widgets (a restored draft, a listing to edit or copy)."""
    for name, value in values.to_widgets().items():
        st.session_state[session.SUBMIT_FIELDS[name]] = value
    for name, value in widgets_for_rule(values.schedule).items():
        st.session_state[session.SUBMIT_SCHEDULE[name]] = value
    pinned = values.latitude is not None and values.longitude is not None and values.location_uncertainty_m is not None
    st.session_state[session.SUBMIT_PIN] = (
        Location(values.latitude, values.longitude, Precision.PROVIDED, MAP_SOURCE, values.location_uncertainty_m)  # type: ignore[arg-type]
        if pinned
        else None
    )
    st.session_state[session.SUBMIT_SAVED] = comparable(values)


def comparable(values: FormValues) -> dict[str, Any]:
    """The values as saved in a draft, the organisation left out (the page always fills it in)."""
    return {**values.to_json_dict(), "provider": ""}


def load_from_url(page: Page) -> None:
    """Fill the form once per link: a draft, a listing to edit or to copy, or the organisation's defaults."""
    params = {name: st.query_params.get(name, "") for name in ("draft", "edit", "copy", "start")}
    if st.session_state[session.SUBMIT_LOADED] == params:
        return
    st.session_state[session.SUBMIT_LOADED] = params
    st.session_state[session.SUBMIT_DRAFT_ID] = st.session_state[session.SUBMIT_EDITING] = None
    values = page.defaults()
    try:
        with page.engine.connect() as conn:
            if params["draft"].isdigit():
                draft = drafts.get_draft(conn, page.user, int(params["draft"]))
                values, st.session_state[session.SUBMIT_DRAFT_ID], st.session_state[session.SUBMIT_EDITING] = (
                    draft.values,
                    draft.id,
                    draft.opportunity_id,
                )
            elif params["edit"].isdigit():
                values = listings.get_listing_values(conn, page.user, int(params["edit"]))
                st.session_state[session.SUBMIT_EDITING] = int(params["edit"])
            elif params["copy"].isdigit():
                start = date.fromisoformat(params["start"]) if params["start"] else None
                values = listings.get_listing_values(conn, page.user, int(params["copy"]))
                if start is not None:
                    values = listings.copy_for_next_term(conn, page.user, int(params["copy"]), start)
    except (NotFoundError, ForbiddenError, ValueError):
        st.warning(page._("That draft or listing is not yours, or no longer exists: here is an empty form."))
        values = page.defaults()
    fill_form(values)


def show_done(page: Page) -> NoReturn:
    """The listing just submitted: where it went, and a way to submit another."""
    _ = page._
    _stored_id, done_status = st.session_state[session.SUBMIT_DONE]
    if done_status == Status.PUBLISHED.value:
        st.success(_("Published: it is on the map now."), icon=":material/check_circle:")
    else:
        st.success(
            _("Sent for review. A city lead will look at it; you will see the outcome in My opportunities."),
            icon=":material/check_circle:",
        )
    st.page_link("pages/my_opportunities.py", label=_("Go to My opportunities"))
    if st.button(_("Submit another opportunity")):
        st.session_state[session.SUBMIT_DONE] = None
        st.query_params.clear()
        st.session_state[session.SUBMIT_LOADED] = None
        st.rerun()
    stop_page(page.lang)


def header(page: Page, editing: int | None) -> None:
    _ = page._
    st.title(_("Edit a listing") if editing else _("Submit an opportunity"))
    st.caption(
        escape_markdown(_("For {organisation}. Fields marked * are required.").format(organisation=page.organisation.name))
    )
    if not page.organisation.verified:
        st.info(
            _("Your organisation is not verified yet: you can submit now, and a city lead reviews it with your organisation."),
            icon=":material/info:",
        )


def show_messages(slot: Any, name: str, messages: dict[str, list[str]], touched: bool) -> None:
    if messages.get(name) and (touched or st.session_state[session.SUBMIT_SHOW_ALL]):
        slot.error("\n\n".join(escape_markdown(m) for m in messages[name]), icon=":material/error:")


def what(page: Page, slots: dict[str, Any]) -> None:
    """Title, description, topics, kind, mode, ages and languages; each field's message slot into ``slots``."""
    _, lang = page._, page.lang
    with st.container(border=True):
        st.subheader(_("What"))
        st.text_input(_("Title") + " *", key=session.SUBMIT_FIELDS["title"], max_chars=MAX_LENGTHS["title"])
        slots["title"] = st.empty()
        st.text_area(_("Description"), key=session.SUBMIT_FIELDS["description"], max_chars=MAX_LENGTHS["description"], height=120)
        slots["description"] = st.empty()
        st.multiselect(_("Topics") + " *", TOPICS, key=session.SUBMIT_FIELDS["topics"], format_func=lambda t: topic_label(t, lang),
                       placeholder=_("Choose one or more"))  # fmt: skip
        slots["topics"] = st.empty()
        left, right = st.columns(2)
        left.selectbox(_("Kind of activity") + " *", [t.value for t in OpportunityType], key=session.SUBMIT_FIELDS["type"],
                       format_func=lambda t: type_label(t, lang), placeholder=_("Choose one"))  # fmt: skip
        slots["type"] = left.empty()
        right.selectbox(_("Where it happens") + " *", [m.value for m in Mode], key=session.SUBMIT_FIELDS["mode"],
                        format_func=lambda m: mode_label(m, lang), placeholder=_("Choose one"))  # fmt: skip
        slots["mode"] = right.empty()
        left, right = st.columns(2)
        left.number_input(_("Youngest age") + " *", min_value=0, max_value=120, step=1, key=session.SUBMIT_FIELDS["age_min"])
        slots["age_min"] = left.empty()
        right.number_input(_("Oldest age"), min_value=0, max_value=120, step=1, key=session.SUBMIT_FIELDS["age_max"])
        slots["age_max"] = right.empty()
        st.multiselect(_("Languages"), TAUGHT_LANGUAGES, key=session.SUBMIT_FIELDS["languages"], format_func=lambda c: language_name(c, lang),
                       placeholder=_("The languages it is held in"))  # fmt: skip
        slots["languages"] = st.empty()


def when(page: Page, slots: dict[str, Any]) -> tuple[str, Any]:
    """Start, end and the schedule builder; returns the rule chosen and the slot for the next sessions."""
    _ = page._
    with st.container(border=True):
        st.subheader(_("When"))
        left, right = st.columns(2)
        left.date_input(_("Start") + " *", key=session.SUBMIT_FIELDS["start_day"], format=DATE_FORMAT)
        right.time_input(_("Start time"), key=session.SUBMIT_FIELDS["start_time"], step=900)
        slots["start"] = st.empty()
        left, right = st.columns(2)
        left.date_input(_("End"), key=session.SUBMIT_FIELDS["end_day"], format=DATE_FORMAT)
        right.time_input(_("End time"), key=session.SUBMIT_FIELDS["end_time"], step=900)
        slots["end"] = st.empty()
        if st.session_state.get(session.SUBMIT_SCHEDULE["rule"], ""):
            st.text_input(_("Repeats (a recurrence rule)"), key=session.SUBMIT_SCHEDULE["rule"])
            st.caption(
                _("This schedule was written as a rule in an import; edit the rule, or empty it to use the simple choices.")
            )
            rule = st.session_state[session.SUBMIT_SCHEDULE["rule"]].strip()
        else:
            rule = schedule_builder(page)
        slots["schedule"] = st.empty()
        preview = st.empty()
    return rule, preview


def schedule_builder(page: Page) -> str:
    """The simple choices: how often, on which days, until when; returns their rule ("" when it does not repeat)."""
    _ = page._
    repeat_labels = {Repeat.ONCE: _("Does not repeat"), Repeat.DAILY: _("Every day"), Repeat.WEEKLY: _("Every week"),
                     Repeat.MONTHLY: _("Every month, on a weekday")}  # fmt: skip
    repeat = st.radio(_("Repeats"), list(Repeat), key=session.SUBMIT_SCHEDULE["repeat"], format_func=lambda r: repeat_labels[Repeat(r)],
                      horizontal=True)  # fmt: skip
    if repeat is Repeat.ONCE:
        return ""
    unit = {Repeat.DAILY: _("days"), Repeat.WEEKLY: _("weeks"), Repeat.MONTHLY: _("months")}[Repeat(repeat or Repeat.ONCE)]
    st.number_input(_("Every how many {unit}").format(unit=unit), min_value=1, max_value=24 if repeat is Repeat.MONTHLY else 31,
                    step=1, key=session.SUBMIT_SCHEDULE["interval"])  # fmt: skip
    weekday_names = babel_locale(page.lang).days["format"]["wide"]
    if repeat is Repeat.WEEKLY:
        st.pills(_("On"), list(range(7)), selection_mode="multi", key=session.SUBMIT_SCHEDULE["weekdays"],
                 format_func=lambda d: weekday_names[d])  # fmt: skip
    if repeat is Repeat.MONTHLY:
        left, right = st.columns(2)
        positions = {1: _("first"), 2: _("second"), 3: _("third"), 4: _("fourth"), -1: _("last")}
        left.selectbox(
            _("Week of the month"), MONTH_POSITIONS, key=session.SUBMIT_SCHEDULE["month_position"], format_func=positions.get
        )
        right.selectbox(
            _("Weekday"), list(range(7)), key=session.SUBMIT_SCHEDULE["month_weekday"], format_func=lambda d: weekday_names[d]
        )
    schedule_ending(page)
    choice = choice_from_widgets({name: st.session_state.get(key) for name, key in session.SUBMIT_SCHEDULE.items()})
    try:
        return to_rule(choice)
    except FieldError as exc:
        st.error(escape_markdown(explain(exc.reason, page.lang)))
        return ""


def schedule_ending(page: Page) -> None:
    """When a repeating schedule ends: at the end date, on a day, or after a number of sessions."""
    _ = page._
    endings = {
        Ending.END_DATE: _("At the end date (or never)"),
        Ending.UNTIL: _("On a day"),
        Ending.COUNT: _("After a number of sessions"),
    }
    ending = st.radio(
        _("Ends"), list(Ending), key=session.SUBMIT_SCHEDULE["ending"], format_func=lambda e: endings[Ending(e)], horizontal=True
    )
    if ending is Ending.UNTIL:
        st.date_input(_("Last day"), key=session.SUBMIT_SCHEDULE["until"], format=DATE_FORMAT)
    if ending is Ending.COUNT:
        st.number_input(_("Number of sessions"), min_value=1, max_value=1000, step=1, key=session.SUBMIT_SCHEDULE["count"])


@st.cache_data(max_entries=256, show_spinner=False)
def placed(_geocoder: Geocoder, country: str, city: str, address: str, language: str) -> Placement | str:
    """The place of the typed address, or the message saying why there is none."""
    try:
        return place_from_address(_geocoder, country=country, city=city, address=address, language=language)
    except GeocodingError as exc:
        return explain(exc.reason, language)


def where(page: Page, slots: dict[str, Any]) -> None:
    """Country, city, venue and address; where they place the listing, and the map to put a pin on."""
    _, lang = page._, page.lang
    with st.container(border=True):
        st.subheader(_("Where"))
        left, right = st.columns([1, 2])
        left.selectbox(
            _("Country") + " *",
            COUNTRIES,
            key=session.SUBMIT_FIELDS["country"],
            format_func=lambda c: babel_locale(lang).territories.get(c, c),
        )
        right.text_input(_("City") + " *", key=session.SUBMIT_FIELDS["city"], max_chars=MAX_LENGTHS["city"])
        slots["city"] = st.empty()
        st.text_input(
            _("Venue"),
            key=session.SUBMIT_FIELDS["venue"],
            max_chars=MAX_LENGTHS["venue"],
            placeholder=_("e.g. the library's workshop room"),
        )
        st.text_input(_("Address"), key=session.SUBMIT_FIELDS["address"], max_chars=MAX_LENGTHS["address"],
                      placeholder=_("Street, number, postcode and town"))  # fmt: skip
        slots["address"] = st.empty()
        country = st.session_state[session.SUBMIT_FIELDS["country"]] or ""
        city = st.session_state[session.SUBMIT_FIELDS["city"]].strip()
        address = st.session_state[session.SUBMIT_FIELDS["address"]].strip()
        online = st.session_state[session.SUBMIT_FIELDS["mode"]] == Mode.ONLINE.value
        found = placed(page.geocoder, country, city, address, lang) if country and city and not online else None
        show_placement(page, found, online=online, address=address)
        slots["latitude"] = st.empty()
        if country and city and not (online and not address):
            pin_on_map(page, found, country=country, city=city)


def show_placement(page: Page, found: Placement | str | None, *, online: bool, address: str) -> None:
    """Say where the listing will be: the provider's pin, the address's place, or why there is none."""
    _ = page._
    pin: Location | None = st.session_state[session.SUBMIT_PIN]
    if online and not address:
        st.caption(_("An online activity needs no place on the map."))
    elif pin is not None:
        st.success(
            escape_markdown(_("Placed where you put the pin. Drag it or click the map to move it.")),
            icon=":material/location_on:",
        )
        if st.button(_("Use the address instead of my pin")):
            st.session_state[session.SUBMIT_PIN] = None
            st.rerun()
    elif isinstance(found, Placement):
        st.info(escape_markdown(found.explanation), icon=":material/location_on:")
    elif isinstance(found, str):
        st.warning(escape_markdown(found), icon=":material/wrong_location:")
    if st.session_state[session.SUBMIT_PIN_ERROR]:
        st.error(escape_markdown(st.session_state[session.SUBMIT_PIN_ERROR]), icon=":material/wrong_location:")


def pin_on_map(page: Page, found: Placement | str | None, *, country: str, city: str) -> None:
    """The small map with the pin (the provider's, else the address's); a click there moves the pin."""
    pin: Location | None = st.session_state[session.SUBMIT_PIN]
    shown = pin or (found.location if isinstance(found, Placement) else None)
    home = page.home
    centre = (shown.latitude, shown.longitude) if shown else ((home.latitude, home.longitude) if home else (0.0, 0.0))
    reported = st_folium(
        pin_map(
            shown,
            centre=centre,
            tile_url=page.settings.tile_url,
            tile_attribution=page.settings.tile_attribution,
            asset_base=state.asset_base(),
            language=page.lang,
        ),
        key="submit_map",
        returned_objects=["last_clicked", "zoom"],
        height=PIN_MAP_HEIGHT,
        use_container_width=True,
    )
    point = clicked_point(reported)
    if point is not None and point != st.session_state[session.SUBMIT_PIN_SEEN]:
        st.session_state[session.SUBMIT_PIN_SEEN] = point
        try:
            zoom = reported.get("zoom") if isinstance(reported, dict) else None
            moved = place_from_map(page.geocoder, *point, country=country, city=city, language=page.lang, zoom=zoom)
            st.session_state[session.SUBMIT_PIN], st.session_state[session.SUBMIT_PIN_ERROR] = moved.location, ""
        except GeocodingError as exc:
            st.session_state[session.SUBMIT_PIN_ERROR] = explain(exc.reason, page.lang)
        st.rerun()


def price_and_contact(page: Page, slots: dict[str, Any]) -> None:
    _ = page._
    with st.container(border=True):
        st.subheader(_("Price and contact"))
        left, right = st.columns(2)
        left.text_input(_("Price"), key=session.SUBMIT_FIELDS["cost"], placeholder=_("Empty or 0: free"))
        slots["cost"] = left.empty()
        right.selectbox(_("Currency"), ("", *CURRENCIES), key=session.SUBMIT_FIELDS["currency"], format_func=lambda c: c or "—")
        slots["currency"] = right.empty()
        st.text_input(_("Web page"), key=session.SUBMIT_FIELDS["url"], max_chars=MAX_LENGTHS["url"], placeholder="https://")
        slots["url"] = st.empty()
        st.text_input(_("Contact email"), key=session.SUBMIT_FIELDS["contact_email"], max_chars=MAX_LENGTHS["contact_email"])
        slots["contact_email"] = st.empty()
        st.text_area(_("Accessibility"), key=session.SUBMIT_FIELDS["accessibility"], max_chars=MAX_LENGTHS["accessibility"], height=80,
                     placeholder=_("e.g. step-free entrance, hearing loop"))  # fmt: skip
        slots["accessibility"] = st.empty()


def preview_sessions(page: Page, preview: Any, values: FormValues) -> None:
    """The next sessions of the schedule, in the city's time, into ``preview``."""
    _ = page._
    assert values.start_day is not None
    first = datetime.combine(values.start_day, values.start_time) if values.start_time else values.start_day
    upcoming = next_sessions(values.schedule, first, values.end_day, timezone=page.zone_name, now=page.now)
    if upcoming:
        preview.markdown(
            _("Next sessions:") + "\n" + "\n".join(f"- {format_when(s.replace(tzinfo=None), page.lang)}" for s in upcoming)
        )
    else:
        preview.caption(_("No sessions ahead."))


def save_draft(page: Page, values: FormValues) -> None:
    """The draft: saved whenever the values change (each change is a rerun), and named in the URL."""
    _ = page._
    if comparable(values) != st.session_state[session.SUBMIT_SAVED]:
        with connection.writing(page.engine) as conn:
            st.session_state[session.SUBMIT_DRAFT_ID] = drafts.autosave(conn, page.user, values, now=page.now, draft_id=st.session_state[session.SUBMIT_DRAFT_ID],
                                                         opportunity_id=st.session_state[session.SUBMIT_EDITING])  # fmt: skip
        st.session_state[session.SUBMIT_SAVED], st.session_state[session.SUBMIT_SAVED_AT] = comparable(values), page.now
        loaded = {
            **st.session_state[session.SUBMIT_LOADED],
            "draft": str(st.session_state[session.SUBMIT_DRAFT_ID]),
            "edit": "",
            "copy": "",
            "start": "",
        }
        st.session_state[session.SUBMIT_LOADED] = loaded
        st.query_params.from_dict({"draft": str(st.session_state[session.SUBMIT_DRAFT_ID])})
    if st.session_state[session.SUBMIT_SAVED_AT] is not None:
        st.caption(_("Draft saved {when}. Only you can see it; it stays here if the connection drops or you reload the page.").format(
            when=format_when(st.session_state[session.SUBMIT_SAVED_AT].astimezone(city_zone(page.zone_name)).replace(tzinfo=None), page.lang)))  # fmt: skip


def show_every_message() -> None:
    st.session_state[session.SUBMIT_SHOW_ALL] = True


def actions(page: Page, values: FormValues, check: FormCheck, editing: int | None) -> None:
    """Submit (or save the changes and send), and discard the draft."""
    _ = page._
    left, right = st.columns(2)
    if left.button(_("Save changes and send") if editing else _("Submit"), type="primary", on_click=show_every_message):
        if check.valid:
            submit(page, values, editing)
        else:
            st.error(_("Some fields need your attention: see the messages above."), icon=":material/error:")
    if st.session_state[session.SUBMIT_DRAFT_ID] is not None and right.button(_("Discard the draft")):
        with connection.writing(page.engine) as conn:
            drafts.delete_draft(conn, page.user, st.session_state[session.SUBMIT_DRAFT_ID])
        st.query_params.clear()
        st.session_state[session.SUBMIT_LOADED] = None
        for key in (session.SUBMIT_DRAFT_ID, session.SUBMIT_SAVED, session.SUBMIT_SAVED_AT, session.SUBMIT_PIN):
            st.session_state[key] = None
        st.rerun()


def submit(page: Page, values: FormValues, editing: int | None) -> None:
    """Store the listing and delete its draft, in one transaction; say why when it cannot be."""
    try:
        with connection.writing(page.engine) as conn:
            stored = listings.submit(conn, page.user, values, geocoder=page.geocoder, now=page.now, opportunity_id=editing)
            if st.session_state[session.SUBMIT_DRAFT_ID] is not None:
                drafts.delete_draft(conn, page.user, st.session_state[session.SUBMIT_DRAFT_ID])
    except RecordError as exc:
        for error in exc.errors:
            st.error(escape_markdown(explain_error(error, page.lang)))
    except FieldError as exc:
        st.error(escape_markdown(explain_error(exc, page.lang)))
    except (ForbiddenError, NotFoundError):
        st.error(page._("You may not change this listing."))
    else:
        st.session_state[session.SUBMIT_DONE] = (stored.id, stored.status.value)
        st.session_state[session.SUBMIT_LOADED] = None
        for key in (
            session.SUBMIT_DRAFT_ID,
            session.SUBMIT_EDITING,
            session.SUBMIT_SAVED,
            session.SUBMIT_SAVED_AT,
            session.SUBMIT_PIN,
            session.SUBMIT_PIN_SEEN,
        ):
            st.session_state[key] = None
        st.session_state[session.SUBMIT_SHOW_ALL] = False
        st.query_params.clear()
        st.rerun()


main()
