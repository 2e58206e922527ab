"""The web server: ``streamlit run server.py``. The Streamlit app (``app.py`` and its pages) with,
on the same port, the HTTP routes of ``web/`` (the session cookie, ``/ready``, ``/health``, the OpenActive feeds and
dataset site under ``/openactive/``, OGC API – Features under ``/api/``, a search's calendar and Atom
feeds under ``/subscribe/``, its printable list at ``/print``, the badges' claims, status lists
and verification under ``/badges/``), security headers on every
response, a rate limit per client and ETags on the public routes (``web/public.py``), and the warm-up that readies the index and the gazetteer as it starts."""

import os
import sys

import streamlit as st
from starlette.middleware import Middleware

from opportunities.errors import SettingsError
from opportunities.settings import load_settings
from web.badges import ROUTES as BADGE_ROUTES
from web.features import ROUTES as FEATURES_ROUTES
from web.headers import SecurityHeaders
from web.openactive import ROUTES as OPENACTIVE_ROUTES
from web.public import ConditionalGet, RateLimit
from web.readiness import ROUTES as READINESS_ROUTES
from web.readiness import lifespan
from web.session import ROUTES
from web.subscriptions import ROUTES as SUBSCRIPTION_ROUTES

try:
    settings = load_settings()
except SettingsError as exc:
    sys.exit(f"error: {exc}")
# uvicorn reads the proxies it takes X-Forwarded-For from when it starts, after this module is read.
os.environ["FORWARDED_ALLOW_IPS"] = settings.trusted_proxies

# The lifespan starts the warm-up (the search index, the gazetteer, the geocoder) as the server starts.
# The first middleware is the outermost: a 429 or a 304 gets the security headers too.
app = st.App(
    "app.py",
    routes=[*ROUTES, *READINESS_ROUTES, *OPENACTIVE_ROUTES, *FEATURES_ROUTES, *SUBSCRIPTION_ROUTES, *BADGE_ROUTES],
    middleware=[Middleware(SecurityHeaders), Middleware(RateLimit), Middleware(ConditionalGet)],
    lifespan=lifespan,
)
