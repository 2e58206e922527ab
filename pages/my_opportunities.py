"""My opportunities: the organisation's listings with their status; edit, copy for the next term,
withdraw, "still running?", and how many took part.

Providers only (checked first; every action checks again in the domain, on the listing as
stored). Opening the page archives the organisation's activities that have ended (and says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import streamlit as st
from sqlalchemy import Engine

from opportunities.accounts.identity import User
from opportunities.db import connection
from opportunities.errors import ForbiddenError, NotFoundError, RecordError
from opportunities.i18n import age_group_label, explain_errors, format_day, format_number, format_when, translator
from opportunities.listings import drafts, listings
from opportunities.listings.calendar import city_zone
from opportunities.listings.listings import Listing
from opportunities.model import as_datetime
from opportunities.text import escape_markdown
from opportunities.vocabulary import AGE_GROUPS, Status
from ui import access, session
from ui import app_state as state

state.run_through_app()

DATE_FORMAT = "YYYY-MM-DD"


@dataclass(frozen=True)
class Page:
    """What every part of the page needs: who, in which language, when, and the database."""

    user: User
    lang: str
    now: datetime
    engine: Engine

    def _(self, text: str) -> str:
        return translator(self.lang).gettext(text)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return translator(self.lang).ngettext(singular, plural, count)

    def status_labels(self) -> dict[str, str]:
        _ = self._
        return {
            "": _("All"), Status.PENDING.value: _("In review"), Status.PUBLISHED.value: _("Published"),
            Status.DRAFT.value: _("Changes needed"), Status.REJECTED.value: _("Rejected"), Status.ARCHIVED.value: _("Archived"),
        }  # fmt: skip


def init_state() -> None:
    session.start({**session.MINE_DEFAULTS, session.MINE_STATUS: st.query_params.get("status", "") or ""})


def main() -> None:
    user = access.require_member()
    page = Page(user, access.language(), datetime.now(UTC), access.engine())
    init_state()
    header(page)
    draft_links(page)
    chosen = status_filter(page)
    stale_after = state.settings().freshness_months
    with page.engine.connect() as conn:
        found = listings.list_listings(
            conn, user, now=page.now, stale_after_months=stale_after, status=Status(chosen) if chosen else None
        )
    stale = [x for x in found if x.stale]
    if stale:
        st.warning(page.ngettext("{count} listing was not confirmed for {months} months: is it still running?",
                                 "{count} listings were not confirmed for {months} months: are they still running?",
                                 len(stale)).format(count=len(stale), months=stale_after), icon=":material/schedule:")  # fmt: skip
    if not found:
        st.info(page._("No listings here yet."), icon=":material/info:")
    for listing in found:
        card(page, listing)


def header(page: Page) -> None:
    """The title, the activities that ended (archived on opening the page), and the last action's outcome."""
    _ = page._
    with connection.writing(page.engine) as conn:
        ended = listings.archive_ended(conn, now=page.now, organisation_id=page.user.organisation_id)
    st.title(_("My opportunities"))
    st.page_link("pages/submit.py", label=_("Submit an opportunity"))
    if ended:
        st.info(page.ngettext("{count} activity has ended and was archived.", "{count} activities have ended and were archived.",
                              len(ended)).format(count=len(ended)), icon=":material/inventory_2:")  # fmt: skip
    if st.session_state[session.MINE_NOTICE]:
        st.success(st.session_state[session.MINE_NOTICE], icon=":material/check_circle:")
        st.session_state[session.MINE_NOTICE] = ""


def draft_links(page: Page) -> None:
    with page.engine.connect() as conn:
        mine = drafts.list_drafts(conn, page.user)
    if not mine:
        return
    with st.expander(page.ngettext("{count} draft", "{count} drafts", len(mine)).format(count=len(mine)), expanded=True):
        for draft in mine:
            title = draft.values.title or page._("(no title yet)")
            st.page_link("pages/submit.py", label=f"{title} · {format_when(draft.updated_at.replace(tzinfo=None), page.lang)}",
                         query_params={"draft": str(draft.id)})  # fmt: skip


def status_filter(page: Page) -> str:
    """The status shown ("" for all), kept in the URL."""
    labels = page.status_labels()
    if session.MINE_STATUS in st.session_state and st.session_state[session.MINE_STATUS] not in labels:
        st.session_state[session.MINE_STATUS] = ""
    # A radio, not a segmented control: the latter's chosen option is light-theme red on pale red, 3.9:1 (axe-core).
    chosen = str(st.radio(page._("Show"), list(labels), key=session.MINE_STATUS, format_func=labels.get, horizontal=True) or "")
    if chosen:
        st.query_params["status"] = chosen
    elif "status" in st.query_params:
        del st.query_params["status"]
    return chosen


def act(page: Page, action: str, listing_id: int, **kwargs: object) -> None:
    """Run one action on a listing (server-side checks in the domain) and say how it went."""
    _ = page._
    try:
        with connection.writing(page.engine) as conn:
            if action == "confirm":
                listings.confirm_running(conn, page.user, listing_id, now=page.now)
                st.session_state[session.MINE_NOTICE] = _("Thank you: marked as still running.")
            elif action == "withdraw":
                listings.withdraw(conn, page.user, listing_id, now=page.now, note=str(kwargs.get("note", "")))
                st.session_state[session.MINE_NOTICE] = _("Withdrawn: it is no longer shown.")
            elif action == "report":
                listings.report_participation(conn, page.user, listing_id, kwargs["counts"], now=page.now)  # type: ignore[arg-type]
                st.session_state[session.MINE_NOTICE] = _("Thank you: the numbers are saved.")
    except (ForbiddenError, NotFoundError):
        st.session_state[session.MINE_NOTICE] = ""
        st.error(_("You may not change this listing."))
    except RecordError as exc:
        st.error(escape_markdown(explain_errors(exc.errors, page.lang)))


def card(page: Page, listing: Listing) -> None:
    opp = listing.opportunity
    today = page.now.astimezone(city_zone(listing.timezone)).date()
    with st.container(border=True):
        st.markdown(f"**{escape_markdown(opp.title)}**")
        st.caption(
            " · ".join([page.status_labels()[opp.status.value], escape_markdown(opp.city), format_when(opp.start, page.lang)])
        )
        notes(page, listing)
        actions(page, listing, today)
        if as_datetime(opp.start).date() <= today and opp.status in (Status.PUBLISHED, Status.ARCHIVED):
            participation(page, listing)


def notes(page: Page, listing: Listing) -> None:
    """The city lead's note, why it was archived, and whether it needs confirming."""
    _, opp = page._, listing.opportunity
    if opp.status is Status.DRAFT and listing.review_note:
        st.error(_("The city lead asks for changes:") + " " + escape_markdown(listing.review_note), icon=":material/feedback:")
    elif opp.status is Status.REJECTED and listing.review_note:
        st.error(_("Rejected by the city lead:") + " " + escape_markdown(listing.review_note), icon=":material/feedback:")
    elif listing.review_note:
        st.info(_("Note from the city lead:") + " " + escape_markdown(listing.review_note), icon=":material/feedback:")
    if opp.status is Status.ARCHIVED:
        ended = listing.archive_reason == listings.ENDED
        st.caption(_("Ended: archived automatically after its last session.") if ended else _("Withdrawn."))
    if listing.stale:
        since = opp.verified_at or opp.created_at
        st.warning(
            _("Not confirmed since {day}: is it still running?").format(day=format_day(since, page.lang) if since else "—"),
            icon=":material/schedule:",
        )


def actions(page: Page, listing: Listing, today: date) -> None:
    """Edit, still running, copy for next term, withdraw."""
    _, opp = page._, listing.opportunity
    columns = st.columns(4, vertical_alignment="center")  # the Edit link level with the buttons
    if opp.status is not Status.ARCHIVED:
        columns[0].page_link("pages/submit.py", label=_("Edit"), query_params={"edit": str(listing.id)})
        if columns[1].button(_("Still running"), key=f"confirm_{listing.id}", help=_("Confirms the listing is up to date")):
            act(page, "confirm", listing.id)
            st.rerun()
    with columns[2].popover(_("Copy for next term")):
        start = st.date_input(_("New start"), value=today + timedelta(days=1), min_value=today, key=f"copy_start_{listing.id}",
                              format=DATE_FORMAT)  # fmt: skip
        st.page_link(
            "pages/submit.py", label=_("Open the copy"), query_params={"copy": str(listing.id), "start": start.isoformat()}
        )
    if opp.status is not Status.ARCHIVED:
        with columns[3].popover(_("Withdraw")):
            note = st.text_input(_("Why (optional)"), key=f"withdraw_note_{listing.id}", max_chars=500)
            if st.button(_("Withdraw this listing"), key=f"withdraw_{listing.id}", type="primary"):
                act(page, "withdraw", listing.id, note=note)
                st.rerun()


def participation(page: Page, listing: Listing) -> None:
    """How many took part, by age group only."""
    _ = page._
    label = (_("Participants: {count}").format(count=format_number(listing.participants, page.lang))
             if listing.participants is not None else _("How many took part?"))  # fmt: skip
    with st.expander(label):
        st.caption(_("Totals by age group only: no names."))
        with page.engine.connect() as conn:
            reported = listings.participation(conn, page.user, listing.id)
        counts = {}
        for group in AGE_GROUPS:
            counts[group.id] = st.number_input(age_group_label(group.id, page.lang), min_value=0, max_value=listings.MAX_PARTICIPANTS,
                                               value=reported.get(group.id, 0), step=1, key=f"count_{listing.id}_{group.id}")  # fmt: skip
        if st.button(_("Save the numbers"), key=f"report_{listing.id}"):
            act(page, "report", listing.id, counts={k: int(v) for k, v in counts.items()})
            st.rerun()


main()
