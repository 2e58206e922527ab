"""Register an organisation: it and its first account are created unverified, and the city's leads are told."""

from __future__ import annotations

from typing import cast

import streamlit as st

from opportunities.accounts import accounts, organisations
from opportunities.db.connection import writing
from opportunities.db.queries import list_cities
from opportunities.errors import AccountExistsError, PasswordPolicyError, RecordError
from opportunities.i18n import N_, explain, explain_error, provider_kind_label
from opportunities.text import escape_markdown
from opportunities.vocabulary import ProviderKind
from ui import access, app_state, widgets

app_state.run_through_app()

_ = access.translations().gettext
REGISTERED = "register_done"  # session state: the address a link was sent to, shown once instead of the form


def _registered(email: str) -> None:
    st.success(_("Almost done: we sent a link to {email}. Open it within {days} days to confirm your address; "
                 "then a city lead verifies your organisation.").format(email=escape_markdown(email),
                                                                       days=accounts.UNCONFIRMED_DAYS))  # fmt: skip


def main() -> None:
    st.header(_("Register an organisation"))
    if access.current_user() is not None:
        st.info(_("You are signed in already. Sign out to register another organisation."))
        return
    sent_to = st.session_state.pop(REGISTERED, None)
    if sent_to is not None:
        # The form is not drawn in this run, so Streamlit forgets what was typed in it (the
        # passwords too); the next visit finds it empty.
        _registered(sent_to)
        return
    st.write(_("Any organisation that offers learning to young people can publish here. A city lead of your "
               "city verifies the organisation before its listings are published."))  # fmt: skip
    with access.engine().connect() as conn:
        places = [c for c in list_cities(conn) if c.id is not None]
    city_names = {c.id: f"{c.name} ({c.country})" for c in places}
    with st.form("register"):
        st.subheader(_("The organisation"))
        name = st.text_input(_("Name"), max_chars=200)
        kind = st.selectbox(_("Kind"), list(ProviderKind), format_func=lambda k: provider_kind_label(k, access.language()))
        city_id = st.selectbox(
            _("City"), list(city_names), format_func=lambda i: city_names[i], index=None, placeholder=_("Choose a city")
        )
        website = st.text_input(_("Website (optional)"), max_chars=2000, placeholder="https://")
        contact = st.text_input(_("Contact email shown with your listings"), max_chars=254)
        st.subheader(_("Your account"))
        user_name = st.text_input(_("Your name (optional)"), max_chars=accounts.MAX_NAME_LENGTH)
        email = st.text_input(_("Your email"), max_chars=accounts.MAX_EMAIL_LENGTH, autocomplete="username")
        password, again = widgets.new_password(N_("Choose a password"), N_("The password again"))
        done = st.form_submit_button(_("Register"), type="primary")
    if not done or not widgets.passwords_match(password, again):
        return
    try:
        with writing(access.engine()) as conn:
            organisations.register_organisation(
                conn, name=name, kind=cast("ProviderKind", kind), city_id=city_id if city_id is not None else -1, website=website,
                contact_email=contact, user_email=email, password=password, settings=access.settings(),
                now=access.now(), user_name=user_name, language=access.language(),
            )  # fmt: skip
    except RecordError as exc:
        for error in exc.errors:
            st.error(escape_markdown(explain_error(error, access.language())))
        return
    except PasswordPolicyError as exc:
        st.error(explain(exc.reason, access.language()))
        return
    except AccountExistsError as exc:
        if exc.taken == "name":
            st.error(_("An organisation with this name exists already."))
            return
        # An address with an account gets the same answer as a new one: the page tells nobody who has one.
    access.deliver_mail()
    st.session_state[REGISTERED] = email.strip()
    st.rerun()


main()
