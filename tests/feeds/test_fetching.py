"""The harvester's one way to the network: public addresses only, bounded in time, bytes and
redirects, JSON only (issue 17's bad input). Against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from opportunities.errors import FeedError
from opportunities.feeds import fetching
from opportunities.feeds.fetching import FetchLimits, fetch
from tests.feeds.rpde_server import Answer, FeedServer, serve

LOCAL = FetchLimits(timeout_s=2, deadline_s=2, max_bytes=1000, allow_private=True)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    yield from serve()


def refusal(url: str, limits: FetchLimits = LOCAL) -> FeedError:
    with pytest.raises(FeedError) as refused:
        fetch(url, limits)
    return refused.value


def test_a_json_page_is_read(server: FeedServer) -> None:
    server.answers["/feed"] = Answer(body=b'{"items": []}', headers={"Content-Type": "application/json; charset=utf-8"})
    assert fetch(server.url("/feed"), LOCAL) == fetching.Fetched(server.url("/feed"), b'{"items": []}')


def test_redirects_are_followed_a_few_times_but_never_round_in_a_loop(server: FeedServer) -> None:
    server.answers["/a"] = Answer(302, headers={"Location": "/b"})
    server.answers["/b"] = Answer(301, headers={"Location": server.url("/feed")})
    server.answers["/feed"] = Answer(body=b"{}", headers={"Content-Type": "application/ld+json"})
    assert fetch(server.url("/a"), LOCAL).url == server.url("/feed")

    server.answers["/loop1"] = Answer(302, headers={"Location": "/loop2"})
    server.answers["/loop2"] = Answer(302, headers={"Location": "/loop1"})
    assert refusal(server.url("/loop1")).reason.text == "the feed's redirects go round in a loop at {url}"

    for n in range(10):
        server.answers[f"/hop{n}"] = Answer(302, headers={"Location": f"/hop{n + 1}"})
    assert refusal(server.url("/hop0")).reason.text == "the feed redirects more than {limit} times"


def test_a_redirect_to_another_scheme_is_refused(server: FeedServer) -> None:
    server.answers["/a"] = Answer(302, headers={"Location": "file:///etc/passwd"})
    assert refusal(server.url("/a")).reason.text == "{value} is not a web address starting with http:// or https://"


def test_a_page_larger_than_the_cap_stops_there(server: FeedServer) -> None:
    server.answers["/declared"] = Answer(body=b"{" + b" " * 5000 + b"}")  # Content-Length says so
    assert refusal(server.url("/declared")).reason.text == "the page is larger than {limit} bytes"
    server.answers["/endless"] = Answer(endless=True)  # no Content-Length: counted while read
    started = time.monotonic()
    assert refusal(server.url("/endless")).reason.text == "the page is larger than {limit} bytes"
    assert time.monotonic() - started < 2


def test_a_slow_loris_is_cut_off_at_the_deadline(server: FeedServer) -> None:
    # A byte every 50 ms never trips the per-read timeout, but the whole page would take 10 s.
    server.answers["/slow"] = Answer(body=b"{" + b" " * 200 + b"}", drip_s=0.05)
    started = time.monotonic()
    error = refusal(server.url("/slow"), FetchLimits(timeout_s=1, deadline_s=1, max_bytes=1000, allow_private=True))
    assert error.reason.text == "the page took longer than {limit} seconds"
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("status", "headers", "retry", "gone"),
    [
        (503, {"Retry-After": "30"}, 30.0, False),
        (503, {}, 60.0, False),  # no Retry-After: a minute
        (429, {"Retry-After": "5"}, 5.0, False),
        (410, {}, None, True),
    ],
)
def test_busy_and_gone_are_told_apart(
    server: FeedServer, status: int, headers: dict[str, str], retry: float | None, gone: bool
) -> None:
    server.answers["/feed"] = Answer(status, b"{}", {"Content-Type": "application/json", **headers})
    error = refusal(server.url("/feed"))
    assert (error.retry_after_s, error.gone) == (retry, gone)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("Sun, 06 Dec 2026 12:02:00 GMT", 120.0),
        ("Sun, 06 Dec 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_in_seconds_or_as_a_date(value: str | None, seconds: float | None) -> None:
    assert fetching.retry_after_s(value, datetime(2026, 12, 6, 12, 0, tzinfo=UTC)) == seconds


def test_only_json_is_read(server: FeedServer) -> None:
    server.answers["/page"] = Answer(body=b"<html></html>", headers={"Content-Type": "text/html"})
    assert refusal(server.url("/page")).reason.values["value"] == "'text/html'"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://example.org/feed",
        "file:///etc/passwd",
        "http://",
        "https://exa mple.org/",
        "http://example.org:99999/",
    ],
)
def test_only_http_urls_are_fetched(url: str) -> None:
    assert refusal(url).reason.text == "{value} is not a web address starting with http:// or https://"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False), ("169.254.169.254", False),
        ("0.0.0.0", False), ("100.64.0.1", False), ("224.0.0.1", False), ("::1", False), ("fe80::1", False), ("fd00::1", False),
        ("::ffff:127.0.0.1", False), ("93.184.216.34", True), ("2606:2800:220:1::1", True),
    ],
)  # fmt: skip
def test_private_loopback_and_link_local_addresses_are_not_public(address: str, public: bool) -> None:
    assert fetching._public(address) is public


def test_a_host_resolving_to_loopback_is_refused_unless_allowed(server: FeedServer) -> None:
    server.answers["/feed"] = Answer(body=b"{}")
    url = server.url("/feed").replace("127.0.0.1", "localhost")
    error = refusal(url, FetchLimits())
    assert error.reason.text == "{host} is at {address}, a private, loopback or link-local address; feeds there are refused"
    assert server.requests == []
    assert fetch(server.url("/feed"), LOCAL).body == b"{}"
