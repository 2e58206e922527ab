"""The signed-in person's account: password, sign-out; colleagues (providers); users, city leads,
the audit log and the mail outbox (admins; the audit log of their cities for city leads)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from opportunities.accounts import accounts, audit, mail, organisations
from opportunities.accounts.identity import Role, User
from opportunities.accounts.permissions import Action, allowed
from opportunities.db.connection import writing
from opportunities.db.queries import list_cities
from opportunities.errors import FieldError, ForbiddenError, PasswordPolicyError, SignInError
from opportunities.i18n import N_, explain, format_when
from opportunities.text import escape_markdown
from ui import access, app_state, session, widgets

app_state.run_through_app()

_ = access.translations().gettext
ROLE_LABELS = {Role.PROVIDER: N_("Provider"), Role.CITY_LEAD: N_("City lead"), Role.ADMIN: N_("Admin")}


def summary(user: User) -> None:
    st.header(_("Your account"))
    lines = [
        _("Email: {email}").format(email=escape_markdown(user.email)),
        _("Role: {role}").format(role=_(ROLE_LABELS[user.role])),
    ]
    with access.engine().connect() as conn:
        if user.organisation_id is not None:
            org = organisations.get_organisation(conn, user.organisation_id)
            state = _("verified") if org.verified else _("waiting for verification")
            lines.append(_("Organisation: {name} ({state})").format(name=escape_markdown(org.name), state=state))
        if user.city_ids:
            names = {c.id: c.name for c in list_cities(conn)}
            cities = ", ".join(escape_markdown(names.get(i, str(i))) for i in user.city_ids)
            lines.append(_("City lead for: {cities}").format(cities=cities))
    st.markdown("  \n".join(lines))
    if st.button(_("Sign out")):
        access.sign_out()
        st.rerun()


def change_password(user: User) -> None:
    with st.expander(_("Change your password")), st.form("password", clear_on_submit=True):
        old = st.text_input(_("Current password"), type="password", max_chars=accounts.MAX_PASSWORD_LENGTH)
        new, again = widgets.new_password()
        done = st.form_submit_button(_("Change the password"))
    if not done or not widgets.passwords_match(new, again):
        return
    try:
        with writing(access.engine()) as conn:
            accounts.change_password(
                conn, user.id, old, new, settings=access.settings(), keep_token=st.session_state.get(session.SESSION_TOKEN)
            )
    except SignInError:
        st.error(_("The current password is wrong."))
    except PasswordPolicyError as exc:
        st.error(explain(exc.reason, access.language()))
    else:
        st.success(_("Your password is changed. Your other sign-ins have ended."))


def colleagues(user: User) -> None:
    if user.organisation_id is None or not allowed(user, Action.INVITE, organisation_id=user.organisation_id):
        return
    st.subheader(_("Colleagues"))
    with access.engine().connect() as conn:
        members = accounts.list_users(conn, organisation_id=user.organisation_id)
        verified = organisations.get_organisation(conn, user.organisation_id).verified
    st.dataframe(pd.DataFrame({_("Email"): [m.email for m in members], _("Name"): [m.name for m in members]}), hide_index=True)
    if not verified and user.role is not Role.ADMIN:
        st.info(_("Once a city lead has verified your organisation, you can invite colleagues here."))
        return
    with st.form("invite", clear_on_submit=True):
        email = st.text_input(_("Invite a colleague by email"), max_chars=accounts.MAX_EMAIL_LENGTH)
        done = st.form_submit_button(_("Create an invitation"))
    if done:
        settings = access.settings()
        try:
            with writing(access.engine()) as conn:
                token = organisations.invite(conn, user, user.organisation_id, email, settings=settings, now=access.now())
        except FieldError:
            st.error(_("Enter a valid email address."))
        except ForbiddenError:
            st.error(_("No invitation was created: your organisation has sent the most invitations for today, "
                       "or your account may not invite. Try again tomorrow."))  # fmt: skip
        else:
            access.deliver_mail()
            st.success(_("Invitation created; it is valid for {days} days. Send your colleague this link (or the code):").format(
                days=settings.invitation_days))  # fmt: skip
            st.code(organisations.invitation_link(settings, token), language=None)
            st.code(token, language=None)


def audit_log(user: User) -> None:
    if not allowed(user, Action.READ_AUDIT):
        return
    with st.expander(_("Audit log")):
        with access.engine().connect() as conn:
            entries = audit.entries(conn, user, limit=200)
        lang = access.language()
        st.dataframe(pd.DataFrame({
            _("When"): [format_when(e.at, lang) for e in entries],
            _("Who"): [e.actor for e in entries],
            _("What"): [e.action for e in entries],
            _("Record"): [f"{e.entity} {e.entity_id or ''}" for e in entries],
            _("Before"): [str(e.before or "") for e in entries],
            _("After"): [str(e.after or "") for e in entries],
            _("Note"): [e.note for e in entries],
        }), hide_index=True)  # fmt: skip


def admin(user: User) -> None:
    if not allowed(user, Action.MANAGE_USERS):
        return
    with access.engine().connect() as conn:
        everyone = accounts.list_users(conn)
        places = {c.id: c.name for c in list_cities(conn) if c.id is not None}
    st.subheader(_("Users"))
    st.dataframe(pd.DataFrame({
        _("Email"): [u.email for u in everyone],
        _("Role"): [_(ROLE_LABELS[u.role]) for u in everyone],
        _("Cities"): [", ".join(places.get(c, str(c)) for c in u.city_ids) for u in everyone],
        _("Disabled"): [u.disabled for u in everyone],
    }), hide_index=True)  # fmt: skip
    others = {u.id: u.email for u in everyone if u.id != user.id and not u.disabled}
    left, right = st.columns(2)
    with left, st.form("appoint"):
        st.markdown("**" + _("Appoint a city lead") + "**")
        who = st.selectbox(_("Account"), list(others), format_func=lambda i: others[i], index=None, key="appoint_who")
        where = st.multiselect(_("Cities"), list(places), format_func=lambda i: places[i], placeholder=_("Choose one or more"))
        appoint = st.form_submit_button(_("Appoint"))
    if appoint and who is not None:
        try:
            with writing(access.engine()) as conn:
                organisations.appoint_city_lead(conn, user, who, tuple(where), now=access.now())
        except FieldError:
            st.error(_("Choose one or more cities."))
        else:
            st.rerun()
    with right, st.form("disable"):
        st.markdown("**" + _("Disable an account") + "**")
        target = st.selectbox(_("Account"), list(others), format_func=lambda i: others[i], index=None, key="disable_who")
        sure = st.checkbox(_("Yes, this account may no longer sign in"))
        disable = st.form_submit_button(_("Disable"))
    if disable and target is not None and sure:
        with writing(access.engine()) as conn:
            accounts.disable_user(conn, target, now=access.now(), actor=user)
        st.rerun()
    outbox(user)


def outbox(user: User) -> None:
    st.subheader(_("Mail outbox"))
    settings = access.settings()
    if not settings.smtp_host:
        st.info(_("No mail server is set (SMTP_HOST): messages wait here. Pass their links on to the people they are for."))
    with access.engine().connect() as conn:
        messages = mail.outbox(conn, user, limit=50)
    if not messages:
        st.caption(_("No messages."))
    lang = access.language()
    for message in messages:
        state = _("sent {when}").format(when=format_when(message.sent_at, lang)) if message.sent_at else _("not sent")
        with st.expander(f"{format_when(message.created_at, lang)} · {escape_markdown(message.recipient)} · {state}"):
            st.text(message.subject)
            st.code(message.body, language=None, wrap_lines=True)
            if message.error:
                st.caption(_("Sending failed: {error}").format(error=message.error))


def main() -> None:
    user = access.require_user()
    summary(user)
    change_password(user)
    colleagues(user)
    audit_log(user)
    admin(user)


main()
