"""Review: a city lead's queue of submissions and organisations, and the audit log of their cities.

Thin: the queue, the decisions and every permission check are in :mod:`opportunities.listings.review`
and :mod:`opportunities.accounts.organisations`; this page shows them and passes on what the lead chose.
Provider text is shown escaped (Markdown) or in tables (plain text).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import partial
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st
from sqlalchemy import Connection
from streamlit_folium import st_folium

from maps.opportunity_map import build_map
from opportunities.accounts import audit, organisations
from opportunities.accounts.identity import Role, User
from opportunities.db.connection import writing
from opportunities.db.queries import list_cities, list_providers
from opportunities.errors import FieldError, ForbiddenError, NotFoundError, RecordError, ReviewStateError
from opportunities.feeds import harvesting
from opportunities.i18n import (
    N_,
    explain,
    explain_error,
    explain_errors,
    format_moment,
    format_number,
    format_when,
    precision_label,
    provider_kind_label,
)
from opportunities.listings import listings, review
from opportunities.listings.calendar import city_zone
from opportunities.listings.duplicates import DuplicateKind
from opportunities.text import escape_markdown, has_hidden_controls
from ui import access, app_state, session

app_state.run_through_app()

# Audit actions as a lead reads them; an action not listed (a newer one) shows its id.
ACTION_LABELS = {
    "approve": N_("listing approved"), "reject": N_("listing rejected"), "request_changes": N_("listing: changes requested"),
    "upload": N_("listing uploaded"), "submit": N_("listing submitted"), "edit": N_("listing edited"), "withdraw": N_("listing withdrawn"),
    "verify_organisation": N_("organisation verified"), "set_trusted": N_("trust changed"),
    "register_organisation": N_("organisation registered"), "add_user": N_("account added"),
    "disable_user": N_("account disabled"), "set_role": N_("role changed"), "set_password": N_("password set"),
    "invite": N_("colleague invited"), "archive": N_("listing archived"), "confirm": N_("listing confirmed as running"),
    "report_participation": N_("participants reported"), "replace_districts": N_("districts replaced"),
    "replace_population": N_("residents replaced"), "register_feed": N_("external feed registered"),
    "remove_feed": N_("external feed removed"),
}  # fmt: skip
# The record an entry is about: "listing 401", "organisation 12".
ENTITY_LABELS = {"opportunity": N_("listing {id}"), "organisation": N_("organisation {id}"), "user": N_("account {id}"),
                 "city": N_("city {id}"), "feed": N_("external feed {id}")}  # fmt: skip
QUEUE_SHOWN = 200
AUDIT_SHOWN = 200


def _zones() -> dict[int, ZoneInfo]:
    """Each city's time zone, by id: times of day are shown in the city's local time."""
    with access.engine().connect() as conn:
        return {c.id: city_zone(c.timezone) for c in list_cities(conn) if c.id is not None}


def _next_after_decision(ids: list[int]) -> int | None:
    """The submission to open: the one chosen if still waiting, else the first still waiting after it
    in the queue as last shown (a decision takes it out of the queue), else the first."""
    current = st.session_state.get(session.REVIEW_SELECTED)
    if current in ids:
        return int(current)
    before: list[int] = st.session_state.get(session.REVIEW_ORDER, [])
    if current in before:
        later = [i for i in before[before.index(current) + 1 :] if i in ids]
        if later:
            return later[0]
        earlier = [i for i in reversed(before[: before.index(current)]) if i in ids]
        if earlier:
            return earlier[0]
    return ids[0] if ids else None


def _city_names(user: User) -> dict[int, str]:
    with access.engine().connect() as conn:
        cities = list_cities(conn)
    return {c.id: c.name for c in cities if c.id is not None and (user.role is Role.ADMIN or c.id in user.city_ids)}


def _act(action: str, run: Callable[[Connection], object]) -> None:
    """Run a decision in one transaction; a refusal is shown and changes nothing."""
    _ = access.translations().gettext
    try:
        with writing(access.engine()) as conn:
            run(conn)
    except ForbiddenError:
        st.error(_("Your account may not make this decision."))
        return
    except ReviewStateError as exc:
        st.error(_("Nothing was changed: {reason}").format(reason=escape_markdown(explain(exc.reason, access.language()))))
        return
    except NotFoundError:
        st.error(_("This listing no longer exists."))
        return
    except FieldError:
        st.error(_("Write a reason: the provider receives it."))
        return
    access.deliver_mail()
    st.session_state[session.REVIEW_DONE] = action
    st.rerun()


def _submissions(user: User, city_id: int | None, language: str) -> None:
    _ = access.translations().gettext
    settings = access.settings()
    with access.engine().connect() as conn:
        items = review.queue(conn, user, city_id=city_id, limit=QUEUE_SHOWN)
    if not items:
        st.info(_("No submissions are waiting for review."))
        return
    zones = _zones()
    rows = [
        {
            _("Listing no."): i.opportunity.id,
            _("Submitted on"): format_moment(i.opportunity.created_at, zones.get(i.city_id), language)
            if i.opportunity.created_at
            else "",
            _("City"): i.opportunity.city,
            _("Provider organisation"): i.organisation.name + ("" if i.organisation.verified else " ⚠ " + _("not verified")),
            _("Title"): i.opportunity.title,
            _("Map position"): precision_label(i.opportunity.precision, language, i.opportunity.uncertainty_m)
            if i.opportunity.precision
            else _("Online"),
            _("Likely duplicates"): len(i.duplicates),
        }
        for i in items
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

    labels = {i.opportunity.id: f"{i.opportunity.id} – {i.opportunity.title}" for i in items}
    with st.form("bulk_approve"):
        chosen = st.multiselect(
            _("Approve several at once"), list(labels), format_func=lambda oid: labels[oid], placeholder=_("Choose listings")
        )
        if st.form_submit_button(_("Approve selected")) and chosen:
            ids = [int(i) for i in chosen if i is not None]
            _act("approved", lambda conn: review.approve_many(conn, user, ids, now=access.now(), settings=settings))

    ids = [i.opportunity.id for i in items if i.opportunity.id is not None]
    # The choice lives in the session state under the widget's key: a choice made is kept, and
    # after a decision the next submission opens (an ``index=`` computed per run would make a new
    # widget each time, and lose the choice).
    st.session_state[session.REVIEW_SELECTED] = _next_after_decision(ids)
    st.session_state[session.REVIEW_ORDER] = ids
    selected = st.selectbox(_("Review one"), ids, key=session.REVIEW_SELECTED, format_func=lambda oid: labels[oid])
    item = next(i for i in items if i.opportunity.id == selected)
    _detail(user, item, language)


def _detail(user: User, item: review.QueueItem, language: str) -> None:
    _ = access.translations().gettext
    settings = access.settings()
    opp = item.opportunity
    assert opp.id is not None
    oid = opp.id
    st.subheader(escape_markdown(opp.title))
    st.write(f"{escape_markdown(item.organisation.name)} · {escape_markdown(opp.city)} · {format_when(opp.start, language)}")
    if not item.organisation.verified:
        st.warning(
            _("This organisation is not verified yet: verify it (Provider organisations tab) before approving its listings.")
        )
    if any(has_hidden_controls(text) for text in (opp.title, opp.description, opp.venue, opp.address, item.organisation.name)):
        st.warning(
            _("This listing holds invisible characters that change the direction of its text, and so how it reads. "
              "Check the title, description and address as the provider typed them before approving."),
            icon=":material/visibility_off:",
        )  # fmt: skip
    if opp.description:
        st.markdown(escape_markdown(opp.description))
    if opp.address:
        st.write(_("Address: {address}").format(address=escape_markdown(opp.address)))
    if opp.precision is not None:
        st.write(_("Placed by: {precision}").format(precision=precision_label(opp.precision, language, opp.uncertainty_m)))
    if opp.has_location:
        figure = build_map([opp], tile_url=settings.tile_url, tile_attribution=settings.tile_attribution,
                           asset_base=app_state.asset_base(), language=language)  # fmt: skip
        if opp.latitude is not None and opp.longitude is not None and opp.uncertainty_m:
            # The whole area it may be in, not the closest zoom on its centre.
            dlat = opp.uncertainty_m / 111_320
            dlon = dlat / max(0.1, math.cos(math.radians(opp.latitude)))
            figure.fit_bounds([[opp.latitude - dlat, opp.longitude - dlon], [opp.latitude + dlat, opp.longitude + dlon]])
        st_folium(figure, key=f"review_map_{oid}", height=300, returned_objects=[], use_container_width=True)
    else:
        st.caption(_("Online: no place on the map."))
    if item.duplicates:
        st.markdown("**" + _("Likely duplicates") + "**")
        for dup in item.duplicates:
            why = (
                _("same organisation") if dup.kind is DuplicateKind.SAME_PROVIDER else _("similar title, close in time and place")
            )
            st.write(
                f"- {dup.opportunity.id} · {escape_markdown(dup.opportunity.title)} · "
                f"{escape_markdown(dup.opportunity.provider)} · {format_when(dup.opportunity.start, language)} ({why})"
            )
    approve, reject, changes = st.columns(3)
    if approve.button(_("Approve"), type="primary", key=f"approve_{oid}"):
        _act("approved", lambda conn: review.approve(conn, user, oid, now=access.now(), settings=settings))
    with reject.form(f"reject_{oid}"):
        reason = st.text_area(_("Reason for rejecting (the provider sees it)"), max_chars=review.MAX_NOTE_LENGTH)
        if st.form_submit_button(_("Reject")):
            _act("rejected", lambda conn: review.reject(conn, user, oid, reason, now=access.now(), settings=settings))
    with changes.form(f"changes_{oid}"):
        note = st.text_area(_("What should change (the provider sees it)"), max_chars=review.MAX_NOTE_LENGTH)
        if st.form_submit_button(_("Request changes")):
            _act("sent back", lambda conn: review.request_changes(conn, user, oid, note, now=access.now(), settings=settings))


def _organisations(user: User, city_id: int | None, city_names: dict[int, str]) -> None:
    _ = access.translations().gettext
    with access.engine().connect() as conn:
        waiting = review.unverified_organisations(conn, user, city_id=city_id)
        # Trust is set per city: the chosen one, else each of the lead's cities (an admin's "all": each
        # organisation's own city).
        scope = (city_id,) if city_id is not None else (tuple(city_names) if user.role is Role.ADMIN else user.city_ids)
        verified = organisations.organisations_active_in(conn, scope)
    st.subheader(_("Waiting for verification"))
    if not waiting:
        st.info(_("No organisations are waiting for verification."))
    for org in waiting:
        with st.container(border=True):
            st.write(f"**{escape_markdown(org.name)}** · {escape_markdown(city_names.get(org.city_id or -1, ''))}")
            kind = provider_kind_label(org.kind, access.language())
            st.write(" · ".join(escape_markdown(x) for x in (kind, org.website, org.contact_email) if x))
            if st.button(_("Verify organisation"), key=f"verify_{org.id}"):
                _act("verified", partial(organisations.verify_organisation, actor=user, organisation_id=org.id, now=access.now()))
    st.subheader(_("Verified organisations"))
    st.caption(_("An organisation trusted in a city publishes its listings there without review; elsewhere they are reviewed."))
    for org in verified:
        trust_cities = scope if city_id is not None or user.role is not Role.ADMIN else (org.city_id,) if org.city_id else ()
        for trust_city in trust_cities:
            label = _("Trusted in {city}: {name}").format(
                city=escape_markdown(city_names.get(trust_city, "")), name=escape_markdown(org.name)
            )
            was = trust_city in org.trusted_in
            trusted = st.checkbox(label, value=was, key=f"trusted_{org.id}_{trust_city}")
            if trusted != was:
                _act(
                    "trust changed",
                    partial(organisations.set_trusted, actor=user, organisation_id=org.id, trusted=trusted,
                            city_id=trust_city, now=access.now()),
                )  # fmt: skip


def _audit_log(user: User, city_id: int | None, city_names: dict[int, str], language: str) -> None:
    _ = access.translations().gettext
    with access.engine().connect() as conn:
        entries = audit.entries(conn, user, city_id=city_id, limit=AUDIT_SHOWN)
    if not entries:
        st.info(_("Nothing has been recorded yet."))
        return
    zones = _zones()
    rows = [
        {
            _("Changed at"): format_moment(e.at, zones.get(e.city_id or -1), language),
            _("Changed by"): e.actor,
            _("Kind of change"): _(ACTION_LABELS[e.action]) if e.action in ACTION_LABELS else e.action,
            _("Changed record"): (
                _(ENTITY_LABELS[e.entity]).format(id=e.entity_id or "").strip() if e.entity in ENTITY_LABELS else e.entity
            ),
            _("City"): city_names.get(e.city_id or -1, ""),
            _("Before the change"): json.dumps(e.before, ensure_ascii=False) if e.before else "",
            _("After the change"): json.dumps(e.after, ensure_ascii=False) if e.after else "",
            _("Remark"): e.note,
        }
        for e in entries
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _stale(user: User, city_id: int | None, city_names: dict[int, str], language: str) -> None:
    """Live listings not confirmed as still running for FRESHNESS_MONTHS: the lead follows them up.
    Ended one-off events are archived first (they say so to their provider)."""
    _ = access.translations().gettext
    months = app_state.settings().freshness_months
    now = access.now()
    with writing(access.engine()) as conn:
        listings.archive_ended(conn, now=now)
    with access.engine().connect() as conn:
        found = listings.stale_in_cities(conn, user, now=now, months=months, city_id=city_id)
    st.caption(_("Live listings whose provider has not confirmed them as still running for {months} months, the longest first.")
               .format(months=months))  # fmt: skip
    if not found:
        st.info(_("Every live listing was confirmed lately."))
        return
    zones = _zones()
    rows = [
        {_("Title"): s.title, _("Organisation"): s.organisation, _("City"): city_names.get(s.city_id, ""),
         _("Last confirmed"): format_moment(s.last_confirmed, zones.get(s.city_id), language)}
        for s in found
    ]  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _feed_rows(feeds: list[harvesting.Feed], zones: dict[int, ZoneInfo], language: str) -> list[dict[str, object]]:
    _ = access.translations().gettext
    rows: list[dict[str, object]] = []
    for f in feeds:
        zone = zones.get(f.city_id)
        if f.gone_at is not None:
            state = _("gone (HTTP 410): no longer harvested")
        elif f.retry_after is not None and f.retry_after > access.now():
            state = _("asked to wait until {moment}").format(moment=format_moment(f.retry_after, zone, language))
        elif f.last_error is not None:
            state = _("error: {reason}").format(reason=explain(f.last_error, language))
        elif f.last_success_at is None:
            state = _("not harvested yet")
        else:
            state = _("working")
        behind = "" if f.lag_s is None else _("up to date") if f.lag_s == 0 else _("{minutes} min behind").format(
            minutes=format_number(round(f.lag_s / 60), language))  # fmt: skip
        rows.append({
            _("Feed no."): f.id, _("Organisation"): f.organisation, _("City"): f.city, _("Address"): f.url, _("State"): state,
            _("Last success"): format_moment(f.last_success_at, zone, language) if f.last_success_at else "",
            _("Items read last time"): f.items_seen, _("Stored"): f.items_stored, _("Refused"): f.items_rejected,
            _("Errors in a row"): f.errors, _("Behind the feed"): behind,
        })  # fmt: skip
    return rows


def _feeds(user: User, city_id: int | None, city_names: dict[int, str], language: str) -> None:
    """The external OpenActive feeds of the lead's cities: their health, their refused items, a new one."""
    _ = access.translations().gettext
    with access.engine().connect() as conn:
        feeds = [f for f in harvesting.list_feeds(conn, user) if city_id is None or f.city_id == city_id]
        problems = {f.id: harvesting.item_problems(conn, f.id, limit=50) for f in feeds}
        organisation_names = {p.id: p.name for p in list_providers(conn) if p.id is not None}
    st.caption(_("Other publishers' OpenActive feeds that this city shows on Explore, with their attribution; "
                 "they are harvested in the background and what each harvest found is shown here."))  # fmt: skip
    if feeds:
        st.dataframe(pd.DataFrame(_feed_rows(feeds, _zones(), language)), hide_index=True, width="stretch")
    else:
        st.info(_("No external feeds are registered."))
    for f in feeds:
        if problems[f.id]:
            with st.expander(_("Refused items of feed {id}").format(id=f.id)):
                st.dataframe(pd.DataFrame([
                    {_("Item"): item_id, _("Address"): upstream_id, _("Why"): explain_error(problem, language)}
                    for item_id, upstream_id, problem in problems[f.id]
                ]), hide_index=True, width="stretch")  # fmt: skip
    choices = [c for c in city_names if city_id is None or c == city_id]
    if not choices:
        return
    st.subheader(_("Register a feed"))
    with st.form("register_feed"):
        url = st.text_input(_("Address of the feed (RPDE)"), max_chars=2000, key="feed_url")
        organisation_ids: list[int] = sorted(organisation_names, key=lambda i: organisation_names[i])
        organisation = st.selectbox(_("Organisation its items belong to"), organisation_ids,
                                    format_func=lambda i: organisation_names[i])  # fmt: skip
        city = st.selectbox(_("City"), choices, format_func=lambda c: city_names[c])
        license = st.text_input(
            _("Address of its licence"), value="https://creativecommons.org/licenses/by/4.0/", max_chars=2000, key="feed_license"
        )
        attribution = st.text_input(
            _("Attribution (shown as: From …, licence)"), max_chars=harvesting.MAX_ATTRIBUTION, key="feed_attribution"
        )
        if st.form_submit_button(_("Register")) and organisation is not None and city is not None:
            try:
                _act("feed registered", partial(harvesting.register_feed, actor=user, url=url, organisation_id=organisation,
                                                city_id=city, license=license, attribution=attribution, now=access.now()))  # fmt: skip
            except RecordError as exc:
                st.error(explain_errors(exc.errors, language))
    if feeds:
        st.subheader(_("Remove a feed"))
        st.caption(_("The opportunities harvested from it are archived: they leave Explore."))
        gone = st.selectbox(
            _("Feed"), [f.id for f in feeds], format_func=lambda i: f"{i} · {next(f.url for f in feeds if f.id == i)}"
        )
        if st.button(_("Remove the feed"), key="remove_feed"):
            _act("feed removed", partial(harvesting.remove_feed, actor=user, feed_id=gone, now=access.now()))


def main() -> None:
    user = access.require_user(Role.CITY_LEAD)
    _ = access.translations().gettext
    language = access.language()
    st.title(_("Review submissions"))
    done = st.session_state.pop(session.REVIEW_DONE, None)
    if done:
        st.success(_("Saved."))
    city_names = _city_names(user)
    options: list[int | None] = [None, *sorted(city_names, key=lambda c: city_names[c])]
    city_id = st.selectbox(_("City"), options, format_func=lambda c: _("All my cities") if c is None else city_names[c])
    try:
        # Keyed and tracked on the server, the tab chosen stays open across a decision's rerun
        # (the frontend alone would reopen the first when "Saved." is shown above it).
        submissions, orgs, stale, feeds, log = st.tabs(
            [_("Submissions"), _("Provider organisations"), _("Not confirmed lately"), _("External feeds"), _("Audit log")],
            key=session.REVIEW_TAB,
            on_change="rerun",
        )
        with submissions:
            _submissions(user, city_id, language)
        with stale:
            _stale(user, city_id, city_names, language)
        with orgs:
            _organisations(user, city_id, city_names)
        with feeds:
            _feeds(user, city_id, city_names, language)
        with log:
            _audit_log(user, city_id, city_names, language)
    except ForbiddenError:
        st.error(_("Your account may not review."))


main()
