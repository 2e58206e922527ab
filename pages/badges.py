"""Badges, for providers and city leads: define the badge of an activity (in the four languages,
with one of the bundled pictures), make claim codes with their QR code, award by e-mail, revoke an
issued badge; city leads review badges and make playlists.

Signed in as a provider, a city lead or an admin (checked first). What a person sees is scoped by
the domain's own checks (``opportunities.badges``: the organisation's badges for a provider, the
city's for a lead); every action checks again there, on the badge as stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import streamlit as st
from sqlalchemy import Connection, Engine

from opportunities.accounts.identity import Role, User
from opportunities.badges import achievements, awarding, claims, issuance, playlists
from opportunities.badges.achievements import Achievement
from opportunities.db import connection, queries
from opportunities.errors import ForbiddenError, NotFoundError, ReasonedError
from opportunities.i18n import LANGUAGE_NAMES, LANGUAGES, explain, format_moment, topic_label, translator
from opportunities.listings import listings
from opportunities.text import escape_markdown
from opportunities.vocabulary import TOPICS, Status
from ui import access, app_state, badge_images, badge_wallet, session

app_state.run_through_app()

# How long a new claim code stays valid: the choices offered (the domain allows 1 minute to 90 days).
VALIDITY_CHOICES = (timedelta(hours=3), timedelta(days=1), timedelta(days=7), timedelta(days=30))
QR_WIDTH = 360  # pixels on screen


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
        return translator(self.lang).ngettext(singular, plural, count).format(count=count)

    @property
    def providing(self) -> bool:
        return self.user.organisation_id is not None

    @property
    def leading(self) -> bool:
        return self.user.role in (Role.CITY_LEAD, Role.ADMIN)

    def city_ids(self) -> tuple[int, ...] | None:
        """The cities a lead works in (None: all, for an admin)."""
        return None if self.user.role is Role.ADMIN else self.user.city_ids


def main() -> None:
    user = access.require_user(Role.PROVIDER, Role.CITY_LEAD)
    page = Page(user, access.language(), access.now(), access.engine())
    session.start(session.BADGES_DEFAULTS)
    _ = page._
    st.title(_("Badges"))
    if st.session_state[session.BADGES_NOTICE]:
        st.success(st.session_state[session.BADGES_NOTICE], icon=":material/check_circle:")
        st.session_state[session.BADGES_NOTICE] = ""
    parts: list[tuple[str, Callable[[Page], None]]] = []
    if page.providing:
        parts += [(_("Our badges"), our_badges), (_("Define a badge"), define)]
    if page.leading:
        parts += [(_("Badges in the city"), city_badges), (_("To review"), review), (_("Playlists"), playlist_part)]
    parts.append((_("Revoke"), revoke))
    for tab, (_label, build) in zip(st.tabs([label for label, _build in parts]), parts, strict=True):
        with tab:
            build(page)


def act(page: Page, action: Callable[[Connection], object], done: str) -> object | None:
    """Run ``action`` in one transaction; on success keep ``done`` to show after the rerun, else say why."""
    _ = page._
    try:
        with connection.writing(page.engine) as conn:
            result = action(conn)
    except ReasonedError as exc:  # a badge refused for a reason (BadgeError): said in the reader's language
        st.error(escape_markdown(explain(exc.reason, page.lang)))
        return None
    except (ForbiddenError, NotFoundError):
        st.error(_("Your account may not do this."))
        return None
    st.session_state[session.BADGES_NOTICE] = done
    return result


# --- a provider's badges -------------------------------------------------------------------------


def status_label(page: Page, status: Status) -> str:
    _ = page._
    return {Status.PUBLISHED: _("Published"), Status.PENDING: _("In review"), Status.REJECTED: _("Rejected"),
            Status.ARCHIVED: _("Archived"), Status.DRAFT: _("Changes needed")}.get(status, status.value)  # fmt: skip


def our_badges(page: Page) -> None:
    with page.engine.connect() as conn:
        found = achievements.list_achievements(conn, organisation_id=page.user.organisation_id)
        titles = activity_titles(conn, found)
    if not found:
        st.info(page._("No badges yet: define one for an activity."), icon=":material/info:")
    for badge in found:
        badge_card(page, badge, titles.get(badge.opportunity_id or 0, ""))


def activity_titles(conn: Connection, found: Sequence[Achievement]) -> dict[int, str]:
    """The titles of the badges' activities, by id."""
    ids = {a.opportunity_id for a in found if a.opportunity_id is not None}
    return {i: queries.get_opportunity(conn, i).title for i in ids}


def badge_card(page: Page, badge: Achievement, activity: str) -> None:
    """One badge: its picture, words and status; claim codes and mailed awards once published."""
    _ = page._
    text = badge.text(page.lang)
    with st.container(border=True):
        columns = st.columns([1, 5])
        picture = badge_images.name_of(badge.image_url)
        if picture:
            columns[0].image(str(badge_images.FOLDER / f"{picture}.svg"), width=72)
        columns[1].markdown(f"**{escape_markdown(text.name)}**")
        columns[1].caption(" · ".join(p for p in (status_label(page, badge.status), escape_markdown(activity)) if p))
        if badge.review_note:
            columns[1].info(_("Note from the city lead:") + " " + escape_markdown(badge.review_note), icon=":material/feedback:")
        if badge.status is Status.PUBLISHED:
            claim_code_part(page, badge)
            award_part(page, badge)
        if badge.organisation_id is not None and badge.organisation_id == page.user.organisation_id:
            edit_part(page, badge)


def claim_code_part(page: Page, badge: Achievement) -> None:
    _ = page._
    shown = st.session_state[session.BADGES_NEW_CODE]
    with st.expander(_("Claim code and QR code"), expanded=bool(shown and shown["badge"] == badge.id)):
        with st.form(f"code_{badge.id}"):
            uses = st.number_input(_("How many people may use it"), min_value=1, max_value=claims.MAX_USES, value=1, step=1,
                                   help=_("1: one code per participant. More: one code for a whole session."))  # fmt: skip
            valid = st.selectbox(_("Valid for"), VALIDITY_CHOICES, index=1, format_func=lambda d: validity_label(page, d))
            label = st.text_input(_("Label (a session or a number, never a name)"), max_chars=claims.MAX_LABEL_LENGTH)
            made = st.form_submit_button(_("Make a claim code"), type="primary")
        if made:
            code = act(page, lambda conn: claims.create_code(conn, page.user, badge.id, valid_for=valid, max_uses=int(uses),
                                                             label=label, now=page.now), _("The claim code is ready."))  # fmt: skip
            if isinstance(code, claims.ClaimCode):
                st.session_state[session.BADGES_NEW_CODE] = {"badge": badge.id, "code": code.code,
                                                             "expires": code.expires_at, "uses": code.max_uses}  # fmt: skip
                st.rerun()
        if shown and shown["badge"] == badge.id:
            show_code(page, shown)


def validity_label(page: Page, valid: timedelta) -> str:
    if valid < timedelta(days=1):
        return page.ngettext("{count} hour", "{count} hours", int(valid.total_seconds() // 3600))
    return page.ngettext("{count} day", "{count} days", valid.days)


def claim_url(code: str) -> str:
    """The claim page's address with the code, for the QR code and to share."""
    return f"{access.settings().public_url.rstrip('/')}/claim?code={code}"


def show_code(page: Page, shown: dict[str, Any]) -> None:
    """The new code, large, with its QR code: shown once (only its hash is stored)."""
    _ = page._
    url = claim_url(str(shown["code"]))
    st.markdown(_("Show this to the participants, or print it. It is shown only now."))
    # segno's SVG (nothing of anyone's in it but the code), large enough to scan across a room; printable with the page.
    st.image(claims.qr_svg(url), width=QR_WIDTH, caption=_("QR code of the claim link"))
    st.markdown(f"## `{shown['code']}`")
    st.caption(_("Valid until {moment}; uses: {uses}.").format(moment=format_moment(shown["expires"], None, page.lang),
                                                               uses=shown["uses"]))  # fmt: skip
    st.code(url, language=None)
    st.download_button(_("Download the QR code (PNG)"), claims.qr_png(url), file_name=f"claim-{shown['code']}.png",
                       mime="image/png", key=f"qr_png_{shown['badge']}")  # fmt: skip


def award_part(page: Page, badge: Achievement) -> None:
    """Mail one-time claim links to participants, each in their language (a CSV's second column, else
    the page's); the outbox forgets each address once its message is sent."""
    _ = page._
    with st.expander(_("Award by e-mail")):
        st.caption(_("Each address gets a one-time claim link in its language; the addresses are forgotten once sent."))
        with st.form(f"award_{badge.id}"):
            emails = st.text_area(_("E-mail addresses, one a line (or a CSV: address, language)"), max_chars=50_000)
            send = st.form_submit_button(_("Send the claim links"))
    if not send:
        return
    try:
        recipients = awarding.read_recipients(emails, default_language=page.lang)
        sent, failed = awarding.award_by_email(page.engine, page.user, badge.id, recipients, now=page.now,
                                               settings=access.settings())  # fmt: skip
    except ReasonedError as exc:
        st.error(escape_markdown(explain(exc.reason, page.lang)))
        return
    except (ForbiddenError, NotFoundError):
        st.error(_("Your account may not do this."))
        return
    notice = _("Claim links sent: {sent}.").format(sent=sent)
    if failed:
        notice += " " + _("Not sent (the mail server refused them): {failed}.").format(failed=failed)
    st.session_state[session.BADGES_NOTICE] = notice
    st.rerun()


def define(page: Page) -> None:
    """A badge for one of the organisation's activities that has none yet."""
    _ = page._
    with page.engine.connect() as conn:
        mine = listings.list_listings(conn, page.user, now=page.now, stale_after_months=access.settings().freshness_months)
        taken = {a.opportunity_id for a in achievements.list_achievements(conn, organisation_id=page.user.organisation_id)}
    open_ones = {x.id: x.opportunity.title for x in mine if x.id not in taken and x.opportunity.status is not Status.ARCHIVED}
    if not open_ones:
        st.info(_("Every activity of yours has a badge already, or there are none yet."), icon=":material/info:")
        return
    with st.form("define_badge"):
        activity = st.selectbox(_("Activity"), list(open_ones), format_func=lambda i: open_ones[i])
        texts = text_fields(page, "define")
        picture = picture_choice(page, "define")
        made = st.form_submit_button(_("Save the badge"), type="primary")
    if made and activity is not None:
        done = act(page, lambda conn: achievements.define_badge(conn, page.user, int(activity), texts=texts,
                                                               image_url=badge_images.data_url(picture), now=page.now),
                   _("The badge is saved. A city lead reviews it unless your organisation publishes directly."))  # fmt: skip
        if done is not None:
            st.rerun()


def text_fields(page: Page, prefix: str, badge: Achievement | None = None) -> dict[str, dict[str, str]]:
    """Name, description and criteria in each language (English required), inside the caller's form;
    filled from ``badge`` when it is being changed."""
    _ = page._
    texts: dict[str, dict[str, str]] = {}
    for tab, code in zip(st.tabs([LANGUAGE_NAMES[c] for c in LANGUAGES]), LANGUAGES, strict=True):
        now = badge.texts.get(code) if badge is not None else None
        with tab:
            name = st.text_input(_("Name"), key=f"{prefix}_name_{code}", max_chars=achievements.MAX_NAME_LENGTH,
                                 value=now.name if now else "")  # fmt: skip
            description = st.text_area(_("Description"), key=f"{prefix}_description_{code}",
                                       max_chars=achievements.MAX_TEXT_LENGTH, value=now.description if now else "")  # fmt: skip
            criteria = st.text_area(_("What earns it (criteria)"), key=f"{prefix}_criteria_{code}",
                                    max_chars=achievements.MAX_TEXT_LENGTH, value=now.criteria if now else "")  # fmt: skip
            if code == "en" or name or description or criteria:
                texts[code] = {"name": name, "description": description, "criteria": criteria}
    st.caption(_("English is needed; the other languages are shown to those who read them."))
    return texts


def picture_choice(page: Page, prefix: str, now: str | None = None) -> str:
    _ = page._
    names = list(badge_images.IMAGES)
    columns = st.columns(len(names))
    for column, name in zip(columns, names, strict=True):
        column.image(str(badge_images.FOLDER / f"{name}.svg"), width=64, caption=_(badge_images.IMAGES[name]))
    return str(st.radio(_("Picture"), names, key=f"{prefix}_picture", horizontal=True, index=names.index(now) if now in names else 0,
                        format_func=lambda n: _(badge_images.IMAGES[n])))  # fmt: skip


def edit_part(page: Page, badge: Achievement) -> None:
    """Change a badge of the organisation's (back to review unless it publishes directly)."""
    _ = page._
    with st.expander(_("Change the badge")), st.form(f"edit_{badge.id}"):
        texts = text_fields(page, f"edit_{badge.id}", badge)
        picture = picture_choice(page, f"edit_{badge.id}", badge_images.name_of(badge.image_url))
        save = st.form_submit_button(_("Save the changes"))
    if save:
        done = act(page, lambda conn: achievements.update_badge(conn, page.user, badge.id, texts=texts,
                                                               image_url=badge_images.data_url(picture), tags=badge.tags,
                                                               topics=badge.topics, now=page.now),
                   _("The badge is saved. A city lead reviews it unless your organisation publishes directly."))  # fmt: skip
        if done is not None:
            st.rerun()


# --- a city lead's part ----------------------------------------------------------------------------


def city_badges(page: Page) -> None:
    with page.engine.connect() as conn:
        found = achievements.list_achievements(conn, city_ids=page.city_ids(), kind=achievements.Kind.ACTIVITY)
        titles = activity_titles(conn, found)
    if not found:
        st.info(page._("No badges in your city yet."), icon=":material/info:")
    for badge in found:
        badge_card(page, badge, titles.get(badge.opportunity_id or 0, ""))


def review(page: Page) -> None:
    _ = page._
    with page.engine.connect() as conn:
        pending = achievements.list_achievements(conn, city_ids=page.city_ids(), statuses=[Status.PENDING])
        titles = activity_titles(conn, pending)
    if not pending:
        st.info(_("No badges are waiting for review."), icon=":material/task_alt:")
    for badge in pending:
        with st.container(border=True):
            for code, text in badge.texts.items():
                st.markdown(f"**{escape_markdown(text.name)}** ({LANGUAGE_NAMES.get(code, code)})")
                st.markdown(escape_markdown(text.description))
                st.caption(_("What earns it (criteria)") + ": " + escape_markdown(text.criteria))
            st.caption(escape_markdown(titles.get(badge.opportunity_id or 0, "")))
            note = st.text_input(_("Note for the provider (optional)"), key=f"badge_note_{badge.id}", max_chars=500)
            columns = st.columns(2)
            for column, approve, label in ((columns[0], True, _("Publish")), (columns[1], False, _("Reject"))):
                if column.button(label, key=f"badge_{'approve' if approve else 'reject'}_{badge.id}",
                                 type="primary" if approve else "secondary"):  # fmt: skip
                    decide(page, badge.id, approve=approve, note=note)


def decide(page: Page, badge_id: int, *, approve: bool, note: str) -> None:
    """Publish or reject a pending badge (the domain checks the lead's city)."""
    decided = act(page, lambda conn: achievements.review_badge(conn, page.user, badge_id, approve=approve, note=note,
                                                               now=page.now), page._("Saved."))  # fmt: skip
    if decided is not None:
        st.rerun()


def playlist_part(page: Page) -> None:
    _ = page._
    with page.engine.connect() as conn:
        found = playlists.list_playlists(conn, city_ids=page.city_ids())
        published = achievements.list_achievements(conn, city_ids=page.city_ids(), statuses=[Status.PUBLISHED],
                                                   kind=achievements.Kind.ACTIVITY)  # fmt: skip
    for playlist in found:
        with st.container(border=True):
            st.markdown(f"**{escape_markdown(playlist.achievement.text(page.lang).name)}**")
            st.caption(
                badge_wallet.rule_text(playlist.rule, page.lang)
                + " · "
                + page.ngettext("{count} badge", "{count} badges", len(playlist.members))
            )
    cities = sorted({a.city_id for a in published})
    if len(published) < 2:
        st.info(_("A playlist needs at least two published badges in the city."), icon=":material/info:")
        return
    names = {a.id: a.text(page.lang).name for a in published}
    with st.form("new_playlist"):
        st.subheader(_("New playlist"))
        members = st.multiselect(_("Badges in the playlist"), list(names), format_func=lambda i: names[i])
        kind = st.radio(_("Rule"), [playlists.RuleKind.ANY_N.value, playlists.RuleKind.PER_TOPIC.value], horizontal=True,
                        format_func=lambda k: _("Any number of them") if k == "any_n" else _("One from each topic"))  # fmt: skip
        count = st.number_input(_("How many (for “any”)"), min_value=1, max_value=playlists.MAX_MEMBERS, value=3, step=1)
        topics = st.multiselect(_("Topics (for “one from each”)"), list(TOPICS),
                                format_func=lambda t: topic_label(t, page.lang))  # fmt: skip
        texts = text_fields(page, "playlist")
        picture = picture_choice(page, "playlist")
        made = st.form_submit_button(_("Save the playlist"), type="primary")
    if made:
        rule = playlists.Rule.any_n(int(count)) if kind == "any_n" else playlists.Rule.per_topic(topics)
        city = next((a.city_id for a in published if a.id in members), cities[0])
        done = act(page, lambda conn: playlists.create_playlist(conn, page.user, city_id=city, texts=texts, members=members,
                                                                rule=rule, image_url=badge_images.data_url(picture),
                                                                now=page.now), _("The playlist is saved."))  # fmt: skip
        if done is not None:
            st.rerun()


def revoke(page: Page) -> None:
    """Revoke one issued badge by its id (from the learner, or a report), with a reason (audited)."""
    _ = page._
    st.caption(_("The badge's id is in the badge file and on the Verify page. Anyone checking it then sees it revoked."))
    with st.form("revoke"):
        credential_id = st.text_input(_("Badge id"), placeholder="urn:uuid:…", max_chars=100)
        reason = st.text_area(_("Why it is revoked"), max_chars=issuance.MAX_REASON_LENGTH)
        go = st.form_submit_button(_("Revoke the badge"), type="primary")
    if go:
        done = act(page, lambda conn: issuance.revoke(conn, page.user, credential_id, reason, now=page.now),
                   _("The badge is revoked."))  # fmt: skip
        if done is not None:
            st.rerun()


main()
