"""The session cookie, set and cleared by the server: ``/auth/session`` and ``/auth/sign-out``.

A sign-in on a page gives the browser a one-minute, single-use ticket (never the session's token);
the browser opens ``/auth/session?ticket=…&next=…``, which trades it for the token
(:func:`opportunities.accounts.accounts.redeem_session_ticket`), sets it as an HttpOnly, SameSite=Strict
cookie (Secure when ``PUBLIC_URL`` is https) and sends the browser back to the page. No page
script, nor a map frame of the same origin, can read the cookie.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from opportunities.accounts import accounts
from opportunities.db.connection import create_db_engine, writing
from opportunities.settings import Settings, load_settings

COOKIE = accounts.SESSION_COOKIE


@functools.cache
def _engine(url: str, busy_timeout_s: float) -> Engine:
    return create_db_engine(url, busy_timeout_s=busy_timeout_s)


def safe_next(value: str | None) -> str:
    """Where to send the browser back: a path of this site, never another site (``//evil``, ``https://…``)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or any(ord(c) < 32 for c in value):
        return "/"
    return value


def _back(request: Request) -> RedirectResponse:
    return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303, headers={"Cache-Control": "no-store"})


def session_cookie(response: RedirectResponse, settings: Settings, token: str, max_age: int) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.public_url.startswith("https://"),
    )


async def start_session(request: Request) -> RedirectResponse:
    """Trade the ticket for the HttpOnly cookie and go back; without a valid ticket, just go back."""
    settings = load_settings()
    now = datetime.now(UTC)
    response = _back(request)
    engine = _engine(settings.database_url, settings.database_busy_timeout_s)
    with writing(engine) as conn:
        found = accounts.redeem_session_ticket(conn, request.query_params.get("ticket", ""), now)
    if found is not None:
        token, expires = found
        session_cookie(response, settings, token, max(1, int((expires - now).total_seconds())))
    return response


async def end_session(request: Request) -> RedirectResponse:
    """Clear the cookie and go back (the page has ended the session in the database already)."""
    settings = load_settings()
    response = _back(request)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=settings.public_url.startswith("https://"))
    return response


ROUTES = [Route("/auth/session", start_session, methods=["GET"]), Route("/auth/sign-out", end_session, methods=["GET"])]
