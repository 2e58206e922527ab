"""Security headers on every HTTP response of the app (pages, assets, component frames, routes).

The Content-Security-Policy lets a page load only the app's own scripts, styles, frames and images,
plus the map tiles of the configured ``TILE_URL`` host. Two allowances are Streamlit's and
streamlit-folium's, not ours: inline styles (Streamlit styles its elements at run time) and
``eval`` (streamlit-folium runs the map's script that way). ``frame-ancestors 'self'`` keeps other
sites from framing the app (the embeddable map is a standalone HTML file, see ``python -m
opportunities map``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opportunities.settings import Settings, load_settings


def tile_source(tile_url: str) -> str:
    """The CSP source of a tile URL template: ``https://*.tile.openstreetmap.org`` for OSM's."""
    parts = urlsplit(tile_url.replace("{s}", "a"))
    host = parts.hostname or ""
    if "{s}" in tile_url.split("//", 1)[-1].split("/", 1)[0]:
        host = "*." + host.split(".", 1)[1] if "." in host else host
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}" if parts.scheme and host else ""


def content_security_policy(settings: Settings) -> str:
    tiles = tile_source(settings.tile_url)
    directives = {
        "default-src": "'self'",
        "script-src": "'self' 'unsafe-inline' 'unsafe-eval' blob:",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": f"'self' data: blob: {tiles}".strip(),
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "frame-src": "'self' blob: data:",
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'self'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    headers = {
        "content-security-policy": content_security_policy(settings),
        "x-content-type-options": "nosniff",
        "referrer-policy": "strict-origin-when-cross-origin",  # the tile servers see the origin, as their policies ask
        "permissions-policy": "geolocation=(self), camera=(), microphone=(), payment=()",
        "x-frame-options": "SAMEORIGIN",
    }
    if settings.public_url.startswith("https://"):
        headers["strict-transport-security"] = "max-age=31536000"
    return [(name.encode(), value.encode()) for name, value in headers.items()]


# The vendored map libraries (static/vendor/NAME-VERSION/…): a new version is a new folder, so a
# browser may keep a file for a year without asking again.
VENDOR_PATH = "/app/static/vendor/"
VENDOR_CACHE = (b"cache-control", b"public, max-age=31536000, immutable")


class SecurityHeaders:
    """ASGI middleware adding :func:`security_headers` to every HTTP response (a header the
    response set itself is kept), and a long cache lifetime to the vendored map libraries."""

    def __init__(self, app: ASGIApp, settings: Settings | None = None) -> None:
        self.app = app
        self.headers = security_headers(settings or load_settings())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        extra = [*self.headers, VENDOR_CACHE] if scope["path"].startswith(VENDOR_PATH) else self.headers

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _value in message.get("headers", [])}
                if message.get("status") != 200:
                    present.add(VENDOR_CACHE[0])  # an error is not kept for a year
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)
