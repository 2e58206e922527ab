"""Fetching one page of an external feed over HTTP, safely: the one way the harvester reads the network.

A feed is someone else's server, so every answer is untrusted and bounded:

- only ``http://`` and ``https://`` URLs, and only to public addresses: a host that resolves to a
  private, loopback, link-local, multicast or reserved address is refused (unless
  ``allow_private``, which the tests set to serve a feed on 127.0.0.1). The address checked is the
  address connected to (the connection is pinned to it), so a second DNS answer cannot slip a
  private address in between;
- a connect and read ``timeout`` per socket operation, and an overall ``deadline`` for the whole
  page: a server that drips a byte a second (slow loris) is cut off at the deadline;
- at most ``max_bytes`` read (a declared ``Content-Length`` above it is refused before reading; a
  page of 1 GB stops at the cap);
- at most :data:`MAX_REDIRECTS` redirects, each checked like the first URL, and none back to a URL
  already visited (a loop);
- ``Content-Type`` must be JSON (``application/json`` or a ``+json`` type);
- 503 and 429 carry their ``Retry-After`` (seconds or an HTTP date) back to the harvester; 410 says
  the feed is gone.

Every refusal is a :class:`~opportunities.errors.FeedError` with a reason worded once.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

from opportunities.errors import N_, FeedError, because

MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_USER_AGENT = "cities-of-learning-map harvester (RPDE consumer)"
_SCHEMES = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """How much one page may cost: seconds per socket operation, seconds for the whole page
    (redirects included), bytes of its body; and whether private addresses are allowed."""

    timeout_s: float = 10.0
    deadline_s: float = 30.0
    max_bytes: int = 10 * 1024 * 1024
    allow_private: bool = False


@dataclass(frozen=True, slots=True)
class Fetched:
    """A page's body and the URL it was finally read from (after redirects)."""

    url: str
    body: bytes


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an ``http(s)://`` URL; :class:`FeedError` otherwise."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    if scheme not in _SCHEMES or not parts.hostname or port == -1 or any(c.isspace() or ord(c) < 32 for c in url.strip()):
        raise FeedError(because(N_("{value} is not a web address starting with http:// or https://"), value=repr(url)))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, parts.hostname, port or _SCHEMES[scheme], path


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to for ``host``: every address it resolves to must be public unless
    ``allow_private``. Raises :class:`FeedError` saying which address was refused."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FeedError(because(N_("{host} cannot be found ({detail})"), host=host, detail=str(exc))) from None
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise FeedError(because(N_("{host} cannot be found ({detail})"), host=host, detail="no address"))
    if not allow_private:
        for address in addresses:
            if not _public(address):
                raise FeedError(
                    because(
                        N_("{host} is at {address}, a private, loopback or link-local address; feeds there are refused"),
                        host=host,
                        address=address,
                    )
                )
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to an address already checked (the Host header still names the host)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to an address already checked; the certificate is checked for the host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` in seconds from ``now``: a whole number of seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _read_body(response: http.client.HTTPResponse, limits: FetchLimits, deadline: float) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.strip().isdigit() and int(declared) > limits.max_bytes:
        raise FeedError(because(N_("the page is larger than {limit} bytes"), limit=limits.max_bytes))
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise FeedError(because(N_("the page took longer than {limit} seconds"), limit=int(limits.deadline_s)))
        chunk = response.read1(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limits.max_bytes:
            raise FeedError(because(N_("the page is larger than {limit} bytes"), limit=limits.max_bytes))
        chunks.append(chunk)


def _status_error(status: int, response: http.client.HTTPResponse, url: str) -> FeedError:
    if status == 410:
        return FeedError(because(N_("the feed is gone (HTTP 410); it is no longer harvested")), gone=True)
    if status in (503, 429):
        wait = retry_after_s(response.getheader("Retry-After"), datetime.now(UTC))
        return FeedError(
            because(N_("the feed asks to come back later (HTTP {status})"), status=status),
            retry_after_s=wait if wait is not None else 60.0,
        )
    return FeedError(because(N_("the feed answered HTTP {status} for {url}"), status=status, url=url))


def _one_request(url: str, limits: FetchLimits, deadline: float) -> tuple[int, str, bytes]:
    """(status, Location, body of a 200) of one GET of ``url``, cut off at ``deadline``."""
    scheme, host, port, path = check_url(url)
    address = resolve(host, port, allow_private=limits.allow_private)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FeedError(because(N_("the page took longer than {limit} seconds"), limit=int(limits.deadline_s)))
    kind = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    conn = kind(host, port, address, min(limits.timeout_s, remaining))
    # The watchdog: at the deadline the socket is shut, so a server dripping its headers or body
    # a byte at a time is cut off then, whatever each read's timeout.
    watchdog = threading.Timer(remaining, _cut, args=(conn,))
    watchdog.daemon = True
    watchdog.start()
    try:
        return _exchange(conn, url, path, limits, deadline)
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        if time.monotonic() >= deadline or isinstance(exc, TimeoutError):
            raise FeedError(because(N_("the page took longer than {limit} seconds"), limit=int(limits.deadline_s))) from None
        raise FeedError(because(N_("the feed did not answer ({detail})"), detail=str(exc) or type(exc).__name__)) from None
    finally:
        watchdog.cancel()
        conn.close()


def _cut(conn: http.client.HTTPConnection) -> None:
    with suppress(OSError):
        if conn.sock is not None:
            conn.sock.shutdown(socket.SHUT_RDWR)


def _exchange(
    conn: http.client.HTTPConnection, url: str, path: str, limits: FetchLimits, deadline: float
) -> tuple[int, str, bytes]:
    """(status, Location, body of a 200) of one exchange on ``conn``."""
    conn.request("GET", path, headers={"Accept": "application/json", "User-Agent": _USER_AGENT, "Accept-Encoding": "identity"})
    response = conn.getresponse()
    try:
        return _answer(response, url, limits, deadline)
    finally:
        response.close()  # its socket too: with HTTP/1.0 the connection no longer holds it


def _answer(response: http.client.HTTPResponse, url: str, limits: FetchLimits, deadline: float) -> tuple[int, str, bytes]:
    status = response.status
    if status in (301, 302, 303, 307, 308):
        return status, response.getheader("Location") or "", b""
    if status != 200:
        raise _status_error(status, response, url)
    content_type = response.getheader("Content-Type") or ""
    if not _is_json(content_type):
        raise FeedError(because(N_("the page is {value}, not JSON"), value=repr(content_type or "untyped")))
    body = _read_body(response, limits, deadline)
    if time.monotonic() >= deadline:  # cut off by the watchdog: what was read is not the page
        raise FeedError(because(N_("the page took longer than {limit} seconds"), limit=int(limits.deadline_s)))
    return status, "", body


def fetch(url: str, limits: FetchLimits) -> Fetched:
    """The JSON body of ``url`` (following redirects), within ``limits``; :class:`FeedError` otherwise."""
    deadline = time.monotonic() + limits.deadline_s
    visited = {url}
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        status, location, body = _one_request(current, limits, deadline)
        if status == 200:
            return Fetched(current, body)
        if not location:
            raise FeedError(because(N_("the feed answered HTTP {status} for {url}"), status=status, url=current))
        target = urljoin(current, location)
        if target in visited:
            raise FeedError(because(N_("the feed's redirects go round in a loop at {url}"), url=target))
        visited.add(target)
        current = target
    raise FeedError(because(N_("the feed redirects more than {limit} times"), limit=MAX_REDIRECTS))
