"""The session cookie is the server's: a sign-in's single-use ticket is traded at /auth/session for
an HttpOnly, SameSite=Strict cookie; /auth/sign-out clears it; every response carries the
security headers (issue 15 item 3). The routes are called as the ASGI server calls them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import Receive, Scope, Send

from opportunities.accounts import accounts
from opportunities.accounts.identity import Role
from opportunities.db.connection import writing
from opportunities.settings import load_settings
from tests.web import asgi
from web.headers import SecurityHeaders, content_security_policy, tile_source
from web.session import ROUTES, safe_next

PASSWORD = "correct horse battery staple"


def get(app: Starlette, path: str, query: str = "") -> tuple[int, dict[str, list[str]]]:
    """GET ``path`` from the ASGI app: the status and the headers (each name's values)."""
    answer = asgi.get(app, path, query)
    return answer.status, answer.headers


@pytest.fixture
def app(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Starlette:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return Starlette(routes=ROUTES, middleware=[Middleware(SecurityHeaders)])


@pytest.fixture
def ticket(engine: Engine) -> tuple[str, str]:
    """(the token a page holds after a sign-in, the ticket it hands the browser)."""
    settings, now = load_settings({}), datetime.now(UTC)
    with writing(engine) as conn:
        user = accounts.add_user(conn, "ola@example.pl", role=Role.ADMIN, password=PASSWORD, settings=settings, now=now)
        token = accounts.start_session(conn, user.id, now, settings=settings)
        return token, accounts.issue_session_ticket(conn, token, now)


def test_a_ticket_becomes_an_httponly_cookie_once(app: Starlette, engine: Engine, ticket: tuple[str, str]) -> None:
    page_token, given = ticket
    status, headers = get(app, "/auth/session", f"ticket={given}&next=/sign_in%3Flang%3Dpl")
    assert status == 303 and headers["location"] == ["/sign_in?lang=pl"]
    [cookie_header] = headers["set-cookie"]
    cookie = SimpleCookie(cookie_header)["col_session"]
    assert cookie["httponly"] and cookie["samesite"] == "strict" and cookie["path"] == "/" and not cookie["secure"]
    assert 23 * 3600 < int(cookie["max-age"]) <= 24 * 3600
    now = datetime.now(UTC)
    with engine.connect() as conn:
        assert accounts.user_for_session(conn, cookie.value, now) is not None
        assert accounts.user_for_session(conn, page_token, now) is None  # the token the page knew is void
    again_status, again = get(app, "/auth/session", f"ticket={given}&next=/")
    assert again_status == 303 and "set-cookie" not in again  # spent


def test_an_expired_ticket_sets_no_cookie(app: Starlette, engine: Engine) -> None:
    settings, then = load_settings({}), datetime.now(UTC) - timedelta(seconds=accounts.SESSION_TICKET_SECONDS + 1)
    with writing(engine) as conn:
        user = accounts.add_user(conn, "late@example.pl", role=Role.ADMIN, password=PASSWORD, settings=settings, now=then)
        late = accounts.issue_session_ticket(conn, accounts.start_session(conn, user.id, then, settings=settings), then)
    _status, headers = get(app, "/auth/session", f"ticket={late}")
    assert "set-cookie" not in headers


def test_the_cookie_is_secure_behind_https(app: Starlette, ticket: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_URL", "https://map.example.org")
    _status, headers = get(app, "/auth/session", f"ticket={ticket[1]}")
    assert SimpleCookie(headers["set-cookie"][0])["col_session"]["secure"]


def test_sign_out_clears_the_cookie(app: Starlette) -> None:
    status, headers = get(app, "/auth/sign-out", "next=/explore")
    cookie = SimpleCookie(headers["set-cookie"][0])["col_session"]
    assert status == 303 and headers["location"] == ["/explore"] and cookie.value in ("", '""') and cookie["max-age"] == "0"


@pytest.mark.parametrize(
    ("given", "safe"),
    [("/sign_in?lang=pl", "/sign_in?lang=pl"), ("//evil.example/x", "/"), ("https://evil.example", "/"), ("/\\evil.example", "/"),
     ("", "/"), (None, "/"), ("/a\r\nSet-Cookie: x=1", "/"), ("javascript:alert(1)", "/")],
)  # fmt: skip
def test_the_way_back_stays_on_this_site(given: str | None, safe: str) -> None:
    assert safe_next(given) == safe


def test_every_response_carries_the_security_headers(app: Starlette) -> None:
    _status, headers = get(app, "/auth/sign-out")
    policy = headers["content-security-policy"][0]
    assert "frame-ancestors 'self'" in policy and "object-src 'none'" in policy and "default-src 'self'" in policy
    assert "https://*.tile.openstreetmap.org" in policy.split("img-src", 1)[1].split(";", 1)[0]
    assert headers["x-content-type-options"] == ["nosniff"]
    assert headers["referrer-policy"] == ["strict-origin-when-cross-origin"]


def test_the_vendored_map_libraries_are_cached_for_a_year_and_nothing_else_is() -> None:
    async def files(scope: Scope, receive: Receive, send: Send) -> None:
        status = 200 if scope["path"].endswith(".js") else 404
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/javascript")]})
        await send({"type": "http.response.body", "body": b""})

    app = SecurityHeaders(files)  # type: ignore[arg-type]
    _status, headers = get(app, "/app/static/vendor/leaflet-1.9.4/leaflet.js")  # type: ignore[arg-type]
    assert headers["cache-control"] == ["public, max-age=31536000, immutable"]
    assert "content-security-policy" in headers
    for path in ("/app/static/vendor/leaflet-1.9.4/missing.css", "/auth/sign-out.js", "/app/static/other.js"):
        _status, headers = get(app, path)  # type: ignore[arg-type]
        assert "cache-control" not in headers, path


@pytest.mark.parametrize(
    ("tile_url", "source"),
    [("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", "https://*.tile.openstreetmap.org"),
     ("https://tiles.example.org:8443/osm/{z}/{x}/{y}.png", "https://tiles.example.org:8443"),
     ("http://127.0.0.1:9/{z}/{x}/{y}.png", "http://127.0.0.1:9")],
)  # fmt: skip
def test_the_tile_host_is_allowed_for_images(tile_url: str, source: str) -> None:
    assert tile_source(tile_url) == source
    assert source in content_security_policy(load_settings({"TILE_URL": tile_url}))
