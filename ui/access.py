"""Who is signed in, for every page: the one place pages ask for the user and for permission.

A sign-in is a random token: its SHA-256 is a row of ``sign_in_sessions`` (with its expiry), the
token itself is in this browser session's state and in a cookie (SameSite=Strict; Secure over
https), so a reload (a new Streamlit session) finds the person again through ``st.context.cookies``.
Signing out deletes the row and the cookie. Tests (AppTest cannot set cookies) put a token from
``accounts.start_session`` into ``st.session_state[session.SESSION_TOKEN]``.

Pages for providers and city leads call :func:`require_user` (or :func:`require`) FIRST.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from datetime import UTC, datetime
from urllib.parse import urlsplit

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from streamlit.errors import StreamlitAPIException

from opportunities.accounts import accounts, mail, permissions
from opportunities.accounts.identity import Role, User
from opportunities.accounts.permissions import Action
from opportunities.db.connection import writing
from opportunities.errors import ForbiddenError, SignInError
from opportunities.settings import Settings
from ui import app_state, session
from ui.language import language as language  # noqa: PLC0414  (pages reach the one language() through access too)
from ui.language import stop_page
from ui.language import translations as translations  # noqa: PLC0414
from web.session import safe_next

_LOG = logging.getLogger(__name__)
# The database cannot be reached, or is too busy (a lock held too long, a full connection pool):
# a visitor gets a calm message, the log the details.
DATABASE_TROUBLE = (OperationalError, InterfaceError, PoolTimeoutError)

COOKIE = accounts.SESSION_COOKIE
# The session cookie is the server's to set (web/session.py: HttpOnly, so no script reads it). After
# a sign-in the page holds a one-minute, single-use ticket, and this sends the browser to trade it
# at /auth/session, which sets the cookie and sends it back to the same page; after a sign-out, to
# /auth/sign-out, which clears it. The paths are relative: behind a proxy's path prefix too.
_COOKIE_JS = """
export default function (component) {
  const { data } = component;
  if (!data || data.id === window.__colCookieDone) return;
  window.__colCookieDone = data.id;
  const next = encodeURIComponent(data.next || window.location.pathname + window.location.search);
  const base = new URL(".", window.location.href);
  const target = data.ticket
    ? new URL(`auth/session?ticket=${encodeURIComponent(data.ticket)}&next=${next}`, base)
    : new URL(`auth/sign-out?next=${next}`, base);
  window.location.replace(target.href);
}
"""
_cookie_writer = st.components.v2.component("col_session_cookie", html="", js=_COOKIE_JS)


def now() -> datetime:
    return datetime.now(UTC)


def settings() -> Settings:
    return app_state.settings()


def engine() -> Engine:
    """The app's database (migrated; the demo data loaded once into an empty one). When it cannot be
    reached, the page says so calmly and stops here (whichever way the page was started)."""
    s = settings()
    try:
        return app_state.database(s.database_url, str(s.cache_dir), s.demo_seed, s.database_busy_timeout_s)
    except DATABASE_TROUBLE as exc:
        database_trouble(exc)
        stop_page(language())


def client_key() -> str:
    """The rate-limit key of this visitor: a hash of their network address as the web server sees it
    (from X-Forwarded-For only when the connection comes from one of TRUSTED_PROXIES), or "" when
    it has none (Streamlit gives none for a loopback connection): then only the account's limit
    counts, rather than one key every visitor behind a proxy would share."""
    address = st.context.ip_address
    return accounts.client_key(address) if isinstance(address, str) and address else ""


def _token() -> str | None:
    token = st.session_state.get(session.SESSION_TOKEN)
    if token:
        return str(token)
    if st.session_state.get(session.SIGNED_OUT):
        return None
    cookie = st.context.cookies.get(COOKIE)
    return str(cookie) if cookie else None


def current_user() -> User | None:
    """The signed-in user, read from the database on every run (so a disabled account or an
    ended session counts at once), or None."""
    token = _token()
    if not token:
        return _adopt_oidc()
    moment = now()
    with engine().connect() as conn:
        user = accounts.user_for_session(conn, token, moment)
    if user is None:
        st.session_state.pop(session.SESSION_TOKEN, None)
        return None
    st.session_state[session.SESSION_TOKEN] = token
    return user


def require_user(*roles: Role) -> User:
    """The signed-in user when they have one of ``roles`` (any role when none is given); otherwise
    a sign-in prompt, or a "not for your account" message, and the page stops here."""
    _ = translations().gettext
    user = current_user()
    if user is None:
        st.warning(_("Sign in to see this page."))
        # After signing in, the browser comes back here (the sign-in page passes ?next= on).
        here = urlsplit(str(st.context.url or ""))
        wanted = safe_next(here.path + (f"?{here.query}" if here.query else ""))
        with contextlib.suppress(StreamlitAPIException):  # a page run on its own has no navigation
            st.page_link("pages/sign_in.py", label=_("Sign in"), query_params={"next": wanted} if wanted != "/" else None)
        stop_page(language())
    if roles and user.role not in roles and user.role is not Role.ADMIN:
        st.error(_("This page is not available to your account."))
        stop_page(language())
    return user


def require_member() -> User:
    """A provider (or an admin) in an organisation, whose listings these are; an admin without one
    is told where their work is, and the page stops."""
    user = require_user(Role.PROVIDER)
    if user.organisation_id is None:  # an admin: listings belong to organisations
        _ = translations().gettext
        st.info(_("Listings are submitted by the members of an organisation; an admin reviews them on the Review page."))
        stop_page(language())
    return user


def require(action: Action, *, organisation_id: int | None = None, city_id: int | None = None) -> User:
    """The signed-in user when they may do ``action`` (see ``opportunities.accounts.permissions``); otherwise
    a message, and the page stops. Pass the organisation and city of the record as stored."""
    _ = translations().gettext
    user = require_user()
    try:
        return permissions.authorise(user, action, organisation_id=organisation_id, city_id=city_id)
    except ForbiddenError:
        st.error(_("Your account may not do this."))
        stop_page(language())


def sign_in(user: User, next_path: str = "") -> None:
    """Start a session for ``user`` (already authenticated) in this browser: the state and the cookie.
    ``next_path``: where the browser goes once the cookie is set (a path of this site; default: here)."""
    s = settings()
    with writing(engine()) as conn:
        token = accounts.start_session(conn, user.id, now(), settings=s)
        accounts.set_language(conn, user.id, language())
        ticket = accounts.issue_session_ticket(conn, token, now())
    st.session_state[session.SESSION_TOKEN] = token
    st.session_state[session.SIGNED_OUT] = False
    target = safe_next(next_path) if next_path else ""
    if target and "lang=" not in target:  # the page the browser goes to opens in the language chosen here
        target += f"{'&' if '?' in target else '?'}lang={language()}"
    st.session_state[session.COOKIE_WRITE] = {"ticket": ticket, "id": ticket[:8], "next": target}


def sign_out() -> None:
    """End the session: its row is deleted, the cookie expired, and an OpenID Connect login ended."""
    token = _token()
    if token:
        with writing(engine()) as conn:
            accounts.end_session(conn, token)
    st.session_state.pop(session.SESSION_TOKEN, None)
    st.session_state[session.SIGNED_OUT] = True
    st.session_state[session.COOKIE_WRITE] = {"ticket": "", "id": f"out-{now().timestamp()}"}
    if _oidc_identity() is not None:
        st.logout()  # the identity provider's login too (a redirect: the session row is gone already)


def write_cookie() -> None:
    """Have the browser fetch a pending cookie change from the server (see ``_COOKIE_JS``); app.py
    calls this on every run."""
    pending = st.session_state.get(session.COOKIE_WRITE)
    if pending:
        _cookie_writer(key="session_cookie", data=json.loads(json.dumps(pending)))


def database_trouble(exc: BaseException) -> None:
    """Say calmly that the map is briefly unavailable; the details go to the log only (a connection
    error names the server, its port and the database user)."""
    _LOG.error("database unavailable: %s", exc, exc_info=exc)
    st.warning(translations().gettext("The map is briefly unavailable; try again in a minute."), icon=":material/cloud_off:")


def deliver_mail() -> None:
    """Send the outbox's new messages when SMTP is set (after a commit), in the background: the page
    answers as fast whether a message was queued or not (a reset request for an address with an
    account takes as long as one without), and never fails for a mail problem."""
    threading.Thread(target=mail.deliver_pending, args=(engine(), settings(), now()), name="deliver-mail", daemon=True).start()


# --- OpenID Connect (st.login), when .streamlit/secrets.toml has an [auth] section ---------------


def oidc_configured() -> bool:
    try:
        return bool(st.secrets.get("auth"))
    except Exception:  # no secrets file, or one that does not parse: no OIDC
        return False


def _oidc_identity() -> tuple[str, str, bool] | None:
    """(email, subject, email verified) of a person signed in with ``st.login``, or None."""
    if not oidc_configured():
        return None
    info = st.user
    if not info.get("is_logged_in"):
        return None
    # Only an explicit true proves the address: a missing claim, "true" as text or 1 do not.
    return str(info.get("email") or ""), str(info.get("sub") or ""), info.get("email_verified") is True


def _adopt_oidc() -> User | None:
    """Sign in the existing account of the ``st.login`` identity (never a new one); None (and
    ``session.OIDC_REFUSED`` set) when no enabled account matches."""
    identity = _oidc_identity()
    if identity is None or st.session_state.get(session.SIGNED_OUT):
        return None
    email, subject, verified = identity
    try:
        with writing(engine()) as conn:
            user = accounts.user_for_oidc(conn, email=email, subject=subject, email_verified=verified, now=now())
    except SignInError:
        st.session_state[session.OIDC_REFUSED] = True
        return None
    sign_in(user)
    return user
