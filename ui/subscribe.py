"""The "Subscribe" control of a search: its calendar (``webcal://`` and an https ``.ics`` link to
copy), its Atom feed and its printable list, built from the view's filters
(:func:`opportunities.feeds.subscriptions.links`) at ``PUBLIC_URL``, else the address the visitor
came to, as the page's share link is."""

from __future__ import annotations

import streamlit as st

from opportunities.explore.url_params import Filters
from opportunities.feeds.subscriptions import Links, app_address, links
from ui.language import translations


def search_links(public_url: str, filters: Filters, language: str) -> Links:
    """The links of the search ``filters`` as this visitor reaches the app."""
    return links(app_address(public_url, str(st.context.url or "")), filters, language)


def subscribe(found: Links, language: str, *, located_by_browser: bool = False) -> None:
    """An expander with the search's calendar, feed and printable list, and what subscribing keeps (nothing)."""
    _ = translations(language).gettext
    with st.expander(_("Subscribe or print"), icon=":material/notifications:"):
        st.caption(
            _(
                "Follow this search without an account: its sessions in your calendar app, its new opportunities in "
                "a feed reader. Nothing about you is stored; the link holds only the filters."
            )
        )
        if located_by_browser:
            st.caption(_("Your location is not part of these links; type a place under “Near me” to include one."))
        st.link_button(_("Subscribe in your calendar"), found.webcal, icon=":material/calendar_add_on:")
        st.caption(_("Or copy this calendar link (.ics) into your calendar app:"))
        # Inline code, not st.code: a code block makes every first load of Explore fetch and run
        # Streamlit's syntax highlighter (1.5 MB of JavaScript, 0.3-0.4 s of the browser's time
        # before the map), though the expander is closed. A backtick (from a forged Host) cannot end the code span.
        st.markdown(f"`{found.calendar.replace('`', '%60')}`")
        st.link_button(_("New opportunities as an Atom feed"), found.atom, icon=":material/rss_feed:")
        st.link_button(_("Printable list"), found.printable, icon=":material/print:")
