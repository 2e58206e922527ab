"""Sign in; forgotten password (the link's ``?reset=`` token); accepting an invitation (``?invitation=``)."""

from __future__ import annotations

import contextlib

import streamlit as st
from streamlit.errors import StreamlitAPIException

from opportunities.accounts import accounts, identity, mail, organisations
from opportunities.db.connection import writing
from opportunities.errors import (
    AccountExistsError,
    PasswordPolicyError,
    RateLimitError,
    SignInError,
    TokenError,
    UnconfirmedAccountError,
)
from opportunities.i18n import N_, explain
from opportunities.text import escape_markdown
from ui import access, app_state, session, widgets

app_state.run_through_app()

# The URL parameter of the page a confirmed address lands on (a signed-in view with a welcome).
CONFIRMED = "confirmed"

_ = access.translations().gettext


def reset_password(token: str) -> None:
    st.header(_("Choose a new password"))
    with st.form("reset"):
        password, again = widgets.new_password()
        done = st.form_submit_button(_("Save the new password"))
    if not done or not widgets.passwords_match(password, again):
        return
    try:
        with writing(access.engine()) as conn:
            accounts.complete_password_reset(conn, token, password, access.now(), settings=access.settings())
    except TokenError as exc:
        st.error(explain(exc.reason, access.language()))
        return
    except PasswordPolicyError as exc:
        st.error(explain(exc.reason, access.language()))
        return
    st.query_params.clear()
    st.success(_("Your password is changed. Sign in with it now."))


def accept_invitation(token: str) -> None:
    st.header(_("Join your organisation"))
    try:
        with access.engine().connect() as conn:
            invitation = organisations.find_invitation(conn, token, access.now())
    except TokenError as exc:
        st.error(explain(exc.reason, access.language()))
        return
    st.markdown(
        _("You are invited to publish for **{organisation}** as {email}.").format(
            organisation=escape_markdown(invitation.organisation_name), email=escape_markdown(invitation.email)
        )
    )
    with st.form("invitation"):
        name = st.text_input(_("Your name (optional)"), max_chars=accounts.MAX_NAME_LENGTH)
        password, again = widgets.new_password(N_("Choose a password"), N_("The password again"))
        done = st.form_submit_button(_("Create my account"))
    if not done or not widgets.passwords_match(password, again):
        return
    try:
        with writing(access.engine()) as conn:
            user = organisations.accept_invitation(conn, token, password=password, settings=access.settings(),
                                                   now=access.now(), name=name, language=access.language())  # fmt: skip
    except TokenError as exc:
        st.error(explain(exc.reason, access.language()))
        return
    except PasswordPolicyError as exc:
        st.error(explain(exc.reason, access.language()))
        return
    except AccountExistsError:
        st.error(_("An account with this email exists already: sign in instead."))
        return
    # The browser leaves this link for the page without it (the link is spent: opened again, it
    # would say so), with the cookie set on the way.
    access.sign_in(user, next_path="/sign_in")
    access.write_cookie()
    signed_in_view(user)


def sign_in_form() -> None:
    st.header(_("Sign in"))
    st.caption(_("For organisations and city leads. Browsing the map needs no account."))
    if st.session_state.get(session.OIDC_REFUSED):
        st.error(_("There is no account here for the identity you signed in with. Ask an admin or your organisation for one."))
        if st.button(_("Sign out of that identity")):
            st.session_state[session.OIDC_REFUSED] = False
            st.logout()
    with st.form("sign_in"):
        email = st.text_input(_("Email"), max_chars=accounts.MAX_EMAIL_LENGTH, autocomplete="username")
        password = st.text_input(
            _("Password"), type="password", max_chars=accounts.MAX_PASSWORD_LENGTH, autocomplete="current-password"
        )
        done = st.form_submit_button(_("Sign in"), type="primary")
    if done:
        try:
            user = accounts.authenticate(
                access.engine(), email, password, access.client_key(), access.now(), settings=access.settings()
            )
        except RateLimitError as exc:
            st.error(explain(exc.reason, access.language()))
        except UnconfirmedAccountError:
            st.error(_("Confirm your address first: open the link we mailed to it when you registered."))
        except SignInError:
            st.error(_("Wrong email or password."))
        else:
            access.sign_in(user, next_path=st.query_params.get("next", ""))
            access.write_cookie()  # now, in this run: the page shows the signed-in view below
            signed_in_view(user)
            return
    if access.oidc_configured() and st.button(_("Sign in with your organisation's account")):
        st.login()

    with st.expander(_("Forgot your password?")):
        with st.form("forgot"):
            address = st.text_input(_("Your account's email"), max_chars=accounts.MAX_EMAIL_LENGTH)
            asked = st.form_submit_button(_("Send me a link"))
        if asked:
            request_reset(address)
    with st.expander(_("Have an invitation code?")):
        code = st.text_input(_("Invitation code"), max_chars=200)
        if st.button(_("Use the code")) and code.strip():
            st.query_params["invitation"] = code.strip()
            st.rerun()


def confirm_address(token: str) -> None:
    st.header(_("Confirm your address"))
    try:
        with writing(access.engine()) as conn:
            user = organisations.confirm_registration(conn, token, settings=access.settings(), now=access.now())
    except TokenError as exc:
        st.error(explain(exc.reason, access.language()))
        return
    access.deliver_mail()
    # As after an invitation: away from the spent link, to the page that says the address is confirmed.
    access.sign_in(user, next_path=f"/sign_in?{CONFIRMED}=1")
    access.write_cookie()
    confirmed(user)


def confirmed(user: identity.User) -> None:
    st.success(
        _("Your address is confirmed. A city lead will verify your organisation; until then its listings wait unpublished.")
    )
    signed_in_view(user)


def request_reset(address: str) -> None:
    settings = access.settings()
    moment = access.now()
    with writing(access.engine()) as conn:
        found = accounts.request_password_reset(conn, address, moment, settings=settings)
        if found is not None:
            user, token = found
            url = mail.link(settings, "sign_in", reset=token)
            mail.queue(conn, mail.password_reset_message(user.email, user.language, url=url,
                                                         minutes=settings.password_reset_minutes), moment)  # fmt: skip
    access.deliver_mail()
    # The same words whether or not the account exists: the page tells nobody who has one.
    st.info(_("If an account exists for this address, a link to choose a new password is on its way. "
              "Without a mail server an admin sees the message in the outbox and can pass the link on."))  # fmt: skip


def main() -> None:
    params = st.query_params
    if params.get("reset"):
        reset_password(params["reset"])
        return
    if params.get("invitation"):
        accept_invitation(params["invitation"])
        return
    if params.get("confirm"):
        confirm_address(params["confirm"])
        return
    user = access.current_user()
    if user is not None:
        if params.get(CONFIRMED):
            confirmed(user)
        else:
            signed_in_view(user)
        return
    sign_in_form()


def signed_in_view(user: identity.User) -> None:
    st.header(_("Signed in"))
    st.markdown(_("You are signed in as {email}.").format(email=escape_markdown(user.email)))
    with contextlib.suppress(StreamlitAPIException):  # the navigation lists the page from the next run on
        st.page_link("pages/account.py", label=_("Your account"))


main()
