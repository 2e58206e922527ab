"""Streamlit's and the map component's static files, compressed and cacheable (issue 16, first load).

Streamlit 1.67 serves its JavaScript and CSS bundle (``/static/…``, about 5 MB on Explore's first
load) uncompressed: its gzip middleware skips that path because it would compress every file again
on every request. The files are named by their content and never change, so here each is compressed
once per process, in a worker thread, and kept in memory (bounded): a visitor whose browser accepts
gzip gets about a quarter of the bytes, and the server spends the compression once, not per visitor.

The map component's build files (``/component/NAME/static/…/main.521860b0.js``) are named by their
content too, but Streamlit sends them with ``Cache-Control: public`` and no lifetime or validator,
so a returning visitor's browser fetched them again; they get a year, ``immutable``, like the bundle.
"""

from __future__ import annotations

import gzip
import re
import threading
from collections import OrderedDict

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUNDLE_PATH = "/static/"
COMPONENT_PATH = "/component/"
# A build file named by its content: a hash of 8 or more hexadecimal digits before the extension.
HASHED_NAME = re.compile(r"/static/.+\.[0-9a-f]{8,}(\.chunk)?\.(js|css|map|woff2?|svg|png)$")
YEAR = b"public, max-age=31536000, immutable"
COMPRESSIBLE = (b"text/", b"application/javascript", b"application/json", b"image/svg+xml")
MIN_BYTES = 1024
LEVEL = 6
# Compressed bytes kept (the whole bundle, every lazy chunk included, is about 7 MB compressed).
CACHE_BYTES = 32 * 1024 * 1024


class CompressedFiles:
    """Compressed bodies by path and validator, least recently used dropped past ``limit`` bytes."""

    def __init__(self, limit: int = CACHE_BYTES) -> None:
        self.limit = limit
        self._bodies: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.compressed = 0  # how many times a file was compressed (once each while it is kept)

    def get(self, key: tuple[str, bytes]) -> bytes | None:
        with self._lock:
            body = self._bodies.get(key)
            if body is not None:
                self._bodies.move_to_end(key)
            return body

    def compress(self, key: tuple[str, bytes], body: bytes) -> bytes:
        packed = gzip.compress(body, LEVEL, mtime=0)
        with self._lock:
            self.compressed += 1
            if key not in self._bodies and len(packed) <= self.limit:
                self._bodies[key] = packed
                self._size += len(packed)
                while self._size > self.limit:
                    _, dropped = self._bodies.popitem(last=False)
                    self._size -= len(dropped)
        return packed


def accepts_gzip(accept_encoding: bytes) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (named, or ``*``, without ``q=0``)."""
    for part in accept_encoding.lower().split(b","):
        coding, *params = (p.strip() for p in part.split(b";"))
        refused = any(p.replace(b" ", b"") in (b"q=0", b"q=0.0", b"q=0.00", b"q=0.000") for p in params)
        if coding in (b"gzip", b"*") and not refused:
            return True
    return False


def _accepts_gzip(scope: Scope) -> bool:
    return any(accepts_gzip(value) for name, value in scope.get("headers", ()) if name == b"accept-encoding")


def _has_range(scope: Scope) -> bool:
    return any(name == b"range" for name, _ in scope.get("headers", ()))


class StaticAssets:
    """ASGI middleware: Streamlit's bundle gzip-compressed once and kept (for browsers that accept
    gzip), and the map component's content-named files cached for a year."""

    def __init__(self, app: ASGIApp, cache: CompressedFiles | None = None) -> None:
        self.app = app
        self.cache = cache if cache is not None else CompressedFiles()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith(COMPONENT_PATH) and HASHED_NAME.search(path):
            await self.app(scope, receive, _cached_for_a_year(send))
        elif path.startswith(BUNDLE_PATH) and scope["method"] == "GET" and not _has_range(scope):
            await self._bundle(scope, receive, send, gzip_ok=_accepts_gzip(scope))
        else:
            await self.app(scope, receive, send)

    async def _bundle(self, scope: Scope, receive: Receive, send: Send, *, gzip_ok: bool) -> None:
        start: Message | None = None
        chunks: list[bytes] = []
        passing = False  # the response is not one to compress: its messages go on as they come

        async def collect(message: Message) -> None:
            nonlocal start, passing
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                kind = headers.get(b"content-type", b"")
                size = int(headers.get(b"content-length", b"0") or 0)
                # Only the files Streamlit marks immutable (named by their content): a path Streamlit answers
                # with its index page instead (no-cache) is not kept once per path asked for.
                if (message["status"] != 200 or b"content-encoding" in headers or size < MIN_BYTES
                        or not kind.startswith(COMPRESSIBLE) or b"immutable" not in headers.get(b"cache-control", b"")):  # fmt: skip
                    passing = True
                    await send(message)
                    return
                if not gzip_ok:  # the same file, uncompressed: caches must tell the two apart
                    passing = True
                    await send({**message, "headers": [*message.get("headers", []), (b"vary", b"Accept-Encoding")]})
                    return
                start = message
            elif passing:
                await send(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, collect)
        if start is None:
            return
        etag = dict(start.get("headers", [])).get(b"etag", b"")
        # The compressed bytes are another representation: their validator is weak (as nginx makes it).
        headers = [(k, v) for k, v in start.get("headers", []) if k not in (b"content-length", b"vary", b"etag")]
        if etag:
            headers.append((b"etag", etag if etag.startswith(b"W/") else b"W/" + etag))
        validator = etag or str(sum(map(len, chunks))).encode()
        key = (scope["path"], validator)
        packed = self.cache.get(key)
        if packed is None:
            packed = await anyio.to_thread.run_sync(self.cache.compress, key, b"".join(chunks))
        headers += [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding"), (b"content-length", str(len(packed)).encode())]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": packed, "more_body": False})


def _cached_for_a_year(send: Send) -> Send:
    async def with_lifetime(message: Message) -> None:
        if message["type"] == "http.response.start" and message.get("status") == 200:
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
            message = {**message, "headers": [*headers, (b"cache-control", YEAR)]}
        await send(message)

    return with_lifetime
