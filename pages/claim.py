"""Claim a badge: the code from the activity (typed, or in the link's ``?code=`` of a QR code), or
a mailed one-time link's ``?token=``; no account and no personal data.

The browser does the claiming (``ui/badge_wallet.js``): it makes a pseudonymous subject id
(``urn:uuid:``) once, keeps it in its own storage, sends the code and that id to
``POST /badges/claim`` and keeps the signed credential it gets back. This page only explains.
"""

from __future__ import annotations

import contextlib

import streamlit as st
from streamlit.errors import StreamlitAPIException

from ui import access, app_state, badge_wallet
from ui.language import switcher

app_state.run_through_app()

# A code is short (letters and digits, maybe dashes); anything longer in a link is not one.
MAX_CODE_LENGTH = 64


def from_link(name: str) -> str:
    """The link's ``?code=`` (a QR code's) or ``?token=`` (a mailed claim link's), when it looks like
    one ("" otherwise): letters, digits, ``-`` and ``_``, at most :data:`MAX_CODE_LENGTH`."""
    value = str(st.query_params.get(name, "") or "").strip()
    return value if len(value) <= MAX_CODE_LENGTH and all(c.isalnum() or c in "-_" for c in value) else ""


def main() -> None:
    lang = switcher(())
    _ = access.translations(lang).gettext
    st.title(_("Claim a badge"))
    st.markdown(_("Type the code the organisers gave you, or scan their QR code with your phone's camera."))
    badge_wallet.claim_form(lang, code=from_link("code"), token=from_link("token"))
    with st.expander(_("What is sent, and what is kept")):
        st.markdown(
            _(
                "No account, no name, no e-mail address. Your browser makes a random number for you the first time "
                "(it is not your name) and sends it with the code; the badge it gets back is signed by the city and "
                "kept in this browser only. The server keeps that a badge was issued, never to whom."
            )
        )
    with contextlib.suppress(StreamlitAPIException):  # a page run on its own has no navigation
        st.page_link("pages/my_badges.py", label=_("My badges"))


main()
