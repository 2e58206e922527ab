"""The web server: ``streamlit run server.py``. The Streamlit app (``app.py`` and its pages) with,
on the same port, the HTTP routes of ``web/`` (the session cookie) and security headers on every
response."""

import streamlit as st
from starlette.middleware import Middleware

from web.headers import SecurityHeaders
from web.session import ROUTES

app = st.App("app.py", routes=ROUTES, middleware=[Middleware(SecurityHeaders)])
