"""What every public route gets from the server, in one place: a rate limit per client and
conditional GETs (``ETag`` / ``If-None-Match``).

The public routes are the ones other programs call: the OpenActive feeds, the OGC API, search
subscriptions, printable lists, badges. They are listed once, by path prefix, in
:data:`PUBLIC_ROUTES`, each with its rate-limit bucket; a new route family is one line there.
Streamlit's own paths (the pages, ``/_stcore/…``, static files, the component frames) and the
load balancers' ``/health`` and ``/ready`` are never touched.

**Rate limit.** A token bucket per client and bucket: a client holds up to ``per_minute``
tokens, one per request, refilled at ``per_minute`` a minute; an empty bucket is a ``429`` with
``Retry-After`` (whole seconds until a token is back) and a JSON body. The client is the address
uvicorn gives the request, which is the ``X-Forwarded-For`` client when the request comes from
one of ``TRUSTED_PROXIES`` (``server.py`` hands them to uvicorn). A request whose address is still
a trusted proxy's came through a proxy that named no client: it is not limited, as the sign-in
limits do not lump such requests together either (one bucket for everyone behind the proxy
would refuse every visitor at once); limit at the proxy then. Buckets live in the process:
each app process (replica) counts on its own, so behind a balancer spreading clients over ``n``
replicas a client may get up to ``n`` times the limit. At most ``RATE_LIMIT_CLIENTS`` clients are
tracked; past that the one seen longest ago is forgotten (it starts again with a full bucket).

**Conditional GET.** A ``200`` answer to a GET gets a strong ``ETag`` (the hash of its
body, unless the route set an ``ETag`` of its own, a cheaper validator), and a request whose
``If-None-Match`` names it gets a ``304`` without a body, with the headers a cache needs
(``ETag``, ``Cache-Control``, ``Vary``, ``Expires``, ``Content-Location``, ``Date``). Other
statuses pass through unchanged. A body larger than :data:`MAX_HASHED_BODY` is passed on as it
streams, without an ``ETag``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opportunities.settings import Settings, load_settings

PUBLIC = "public"
COSTLY = "costly"
# Every public route family: its path prefix and its rate-limit bucket (a prefix matches the path
# itself and anything below it: "/api" is "/api" and "/api/…", never "/apiary").
PUBLIC_ROUTES: tuple[tuple[str, str], ...] = (
    ("/openactive", PUBLIC),
    ("/api", PUBLIC),
    ("/subscribe", COSTLY),
    ("/print", COSTLY),
    ("/badges", PUBLIC),
)
# Bodies up to this size are hashed for their ETag; larger ones stream through without one.
MAX_HASHED_BODY = 16 * 1024 * 1024
# The headers a 304 keeps (RFC 9110, 15.4.5), beside the server's own.
_NOT_MODIFIED_KEEPS = {b"etag", b"cache-control", b"vary", b"expires", b"content-location", b"date"}


def bucket_of(path: str) -> str | None:
    """The rate-limit bucket of a public route's ``path``; None for any other path."""
    for prefix, bucket in PUBLIC_ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return bucket
    return None


def client_of(scope: Scope) -> str:
    """The client's address as uvicorn gives it (after trusted proxies); "" when unknown."""
    client = scope.get("client")
    return str(client[0]) if client else ""


def proxy_networks(trusted_proxies: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The networks of ``TRUSTED_PROXIES`` (none for ``*``: then every address is a client's own)."""
    parts = [part.strip() for part in trusted_proxies.split(",") if part.strip()]
    if parts == ["*"]:
        return ()
    return tuple(ipaddress.ip_network(part, strict=False) for part in parts)


def is_proxy(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    """Whether ``address`` is one of the trusted proxies (an address that is not an IP counts as none)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


# --- rate limit ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """Token buckets per key, ``per_minute`` tokens each at most, refilled continuously; at most
    ``max_keys`` kept (least recently used forgotten). Safe to share between threads."""

    def __init__(self, per_minute: int, max_keys: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens a second
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0 when there was one, else the seconds until there is."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.pop(key, None)
            if bucket is None:
                bucket = _Bucket(self.capacity, now)
            else:
                bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
                bucket.at = now
            self._buckets[key] = bucket  # now the most recently seen
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)


def too_many_requests(wait_s: float, bucket: str, per_minute: int) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The headers and JSON body of a 429: ``Retry-After`` in whole seconds, at least 1."""
    retry = max(1, math.ceil(wait_s))
    body = json.dumps(
        {
            "error": "too many requests",
            "message": f"at most {per_minute} requests a minute to these routes from one client; try again in {retry} s",
            "retry_after_s": retry,
            "limit": {"bucket": bucket, "per_minute": per_minute},
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry).encode()),
        (b"cache-control", b"no-store"),
    ]
    return headers, body


class RateLimit:
    """ASGI middleware: a per-client token bucket on the :data:`PUBLIC_ROUTES` (see the module)."""

    def __init__(self, app: ASGIApp, settings: Settings | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        settings = settings or load_settings()
        self.per_minute = {PUBLIC: settings.rate_limit_per_minute, COSTLY: settings.rate_limit_costly_per_minute}
        self.buckets = {
            name: TokenBuckets(per_minute, settings.rate_limit_clients, clock) for name, per_minute in self.per_minute.items()
        }
        self.proxies = proxy_networks(settings.trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        bucket = bucket_of(scope["path"]) if scope["type"] == "http" else None
        client = client_of(scope) if bucket is not None else ""
        if bucket is None or is_proxy(client, self.proxies):
            await self.app(scope, receive, send)
            return
        # Kept in memory by a hash, not the address itself (nothing about visitors is stored).
        wait_s = self.buckets[bucket].take(hashlib.blake2b(client.encode(), digest_size=16).hexdigest())
        if wait_s <= 0:
            await self.app(scope, receive, send)
            return
        headers, body = too_many_requests(wait_s, bucket, self.per_minute[bucket])
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})


# --- conditional GET ----------------------------------------------------------------------------


def strong_etag(body: bytes) -> bytes:
    """A strong entity tag of ``body``: a quoted 128-bit BLAKE2b hash."""
    return b'"' + hashlib.blake2b(body, digest_size=16).hexdigest().encode() + b'"'


def matches(if_none_match: bytes, etag: bytes) -> bool:
    """Whether an ``If-None-Match`` value names ``etag`` (weak comparison, as RFC 9110 asks for it)."""
    value = if_none_match.strip()
    if value == b"*":
        return True
    wanted = etag.removeprefix(b"W/")
    return any(tag.strip().removeprefix(b"W/") == wanted for tag in value.split(b","))


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((value for key, value in headers if key.lower() == name), None)


def _not_modified(start: Message, etag: bytes) -> Message:
    kept = [(k, v) for k, v in start.get("headers", []) if k.lower() in _NOT_MODIFIED_KEEPS and k.lower() != b"etag"]
    return {"type": "http.response.start", "status": 304, "headers": [*kept, (b"etag", etag)]}


class ConditionalGet:
    """ASGI middleware: ``ETag`` and ``304 Not Modified`` on the :data:`PUBLIC_ROUTES` (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or bucket_of(scope["path"]) is None:
            await self.app(scope, receive, send)
            return
        request_headers = scope.get("headers", [])
        if_none_match = _header(request_headers, b"if-none-match")
        state = _Exchange(send, if_none_match)
        await self.app(scope, receive, state.send)


class _Exchange:
    """One response on its way out: held until its body is whole (for the hash), then sent as is,
    with its ETag, or as a 304."""

    def __init__(self, send: Send, if_none_match: bytes | None) -> None:
        self._send = send
        self._if_none_match = if_none_match
        self._start: Message | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        self._mode = "hold"  # hold: collecting the body; pass: as it comes; drop: a 304 was sent

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            await self._on_start(message)
        elif message["type"] == "http.response.body":
            await self._on_body(message)
        else:
            await self._send(message)

    async def _on_start(self, message: Message) -> None:
        if message["status"] != 200:
            self._mode = "pass"
            await self._send(message)
            return
        own = _header(message.get("headers", []), b"etag")
        if own is not None:  # the route's own validator: no need to read the body
            if self._if_none_match is not None and matches(self._if_none_match, own):
                self._mode = "drop"
                await self._send(_not_modified(message, own))
                await self._send({"type": "http.response.body", "body": b""})
            else:
                self._mode = "pass"
                await self._send(message)
            return
        self._start = message

    async def _on_body(self, message: Message) -> None:
        if self._mode == "drop":
            return
        if self._mode == "pass":
            await self._send(message)
            return
        chunk = message.get("body", b"")
        self._chunks.append(chunk)
        self._size += len(chunk)
        if message.get("more_body", False):
            if self._size > MAX_HASHED_BODY:  # too large to hold: on its way, without an ETag
                self._mode = "pass"
                assert self._start is not None
                await self._send(self._start)
                await self._send({"type": "http.response.body", "body": b"".join(self._chunks), "more_body": True})
                self._chunks = []
            return
        await self._finish()

    async def _finish(self) -> None:
        assert self._start is not None
        body = b"".join(self._chunks)
        etag = strong_etag(body)
        if self._if_none_match is not None and matches(self._if_none_match, etag):
            await self._send(_not_modified(self._start, etag))
            await self._send({"type": "http.response.body", "body": b""})
            return
        start = dict(self._start)
        start["headers"] = [*self._start.get("headers", []), (b"etag", etag)]
        await self._send(start)
        await self._send({"type": "http.response.body", "body": body})
