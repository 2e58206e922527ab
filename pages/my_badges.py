"""My badges: the learner's wallet, entirely in this browser (``ui/badge_wallet.js``).

The page sends nothing about the badges to the server: the list, the downloads (the JSON and a PNG
with the credential baked in, made in the browser), the export and the deleting happen in the
browser, from its ``localStorage``. The server sends the playlists (their rules and member badges);
the browser counts which it holds, and presents them (``POST /badges/playlist-claim``) only when
the learner claims a playlist's badge.
"""

from __future__ import annotations

import contextlib

import streamlit as st
from streamlit.errors import StreamlitAPIException

from opportunities.badges import playlists
from ui import access, app_state, badge_wallet
from ui.language import switcher

app_state.run_through_app()


def main() -> None:
    lang = switcher(())
    _ = access.translations(lang).gettext
    st.title(_("My badges"))
    st.markdown(
        _(
            "The badges you claimed in this browser. Download them to keep them safe, to show them anywhere "
            "or to add them to another Open Badges wallet; anyone can check them on the Verify page."
        )
    )
    with access.engine().connect() as conn:
        found = playlists.list_playlists(conn)
    badge_wallet.wallet(lang, badge_wallet.playlist_offers(found, public_url=access.settings().public_url, language=lang))
    columns = st.columns(2)
    with contextlib.suppress(StreamlitAPIException):  # a page run on its own has no navigation
        columns[0].page_link("pages/claim.py", label=_("Claim a badge"))
        columns[1].page_link("pages/verify.py", label=_("Verify a badge"))


main()
