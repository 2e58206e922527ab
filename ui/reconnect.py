"""A visitor whose app process stops is served by another one without reloading the page.

Behind a proxy with several processes (docs/operating/replicas.md), a page whose process stops
reconnects its websocket through the proxy to a living process, which knows nothing of the
visitor's Streamlit session and starts a new, empty one. Streamlit's front end (1.67) asks for a
run of the page after reconnecting only when it has reason to think the server lost its run: a
run under way, a fragment's run last, or an automatic rerun registered
(``handleConnectionStateChanged``: ``!sessionInfo.last || running || rerunRequested ||
fragmentIdsThisRun.length > 0 || autoRerunIntervals.size > 0``). Otherwise it keeps the page as it
was, its widgets greyed, until the visitor reloads.

:func:`follow_reconnects` registers such an automatic rerun: a fragment that draws nothing and
runs by itself once an hour (a few microseconds of server time). With it, a reconnection always
runs the page, with the visitor's widget states and the link's query string (the view), on the
process it reached; the sign-in comes from the cookie the new websocket carries. A reconnection to
the same process (a network blip) runs the page once more, which shows the same view.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

# Long: the interval only has to exist; each time it fires, the empty fragment runs.
_EVERY = timedelta(hours=1)


@st.fragment(run_every=_EVERY)
def follow_reconnects() -> None:
    """Call once per run of every page: keeps the front end's reason to rerun after a reconnection."""
