"""The web server: ``streamlit run server.py``. The Streamlit app (``app.py`` and its pages) with,
on the same port, the HTTP routes of ``web/`` (the session cookie, ``/ready``, ``/health``, the OpenActive feeds and
dataset site under ``/openactive/``, the badges' claims, status lists and verification under ``/badges/``), security headers on every
response, and the warm-up that readies the index and the gazetteer as it starts."""

import os
import sys

import streamlit as st
from starlette.middleware import Middleware

from opportunities.errors import SettingsError
from opportunities.settings import load_settings
from web.badges import ROUTES as BADGE_ROUTES
from web.headers import SecurityHeaders
from web.openactive import ROUTES as OPENACTIVE_ROUTES
from web.readiness import ROUTES as READINESS_ROUTES
from web.readiness import lifespan
from web.session import ROUTES

try:
    settings = load_settings()
except SettingsError as exc:
    sys.exit(f"error: {exc}")
# uvicorn reads the proxies it takes X-Forwarded-For from when it starts, after this module is read.
os.environ["FORWARDED_ALLOW_IPS"] = settings.trusted_proxies

# The lifespan starts the warm-up (the search index, the gazetteer, the geocoder) as the server starts.
app = st.App(
    "app.py",
    routes=[*ROUTES, *READINESS_ROUTES, *OPENACTIVE_ROUTES, *BADGE_ROUTES],
    middleware=[Middleware(SecurityHeaders)],
    lifespan=lifespan,
)
