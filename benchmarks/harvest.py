"""Harvest throughput: items per second from a local RPDE feed, against applying them one by one.

The feed is our own (a database of synthetic opportunities of one country, its OpenActive feeds
rendered page by page and served by a threaded HTTP server on 127.0.0.1); the harvester follows
it into a second, empty database, as a city would follow another publisher's feed. The baseline
reads the same pages but applies each item in its own transaction (a query and a commit per item)
into a third database, over its first ``naive_items`` items. For scale, the import of the same
rows into the source database is timed too: each harvested item goes through the same checks.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine

from opportunities.db import connection, queries
from opportunities.db.connection import open_database
from opportunities.demo.generator import synthetic_records
from opportunities.feeds import harvesting, rpde
from opportunities.feeds.fetching import FetchLimits, fetch
from opportunities.feeds.openactive import EVENT, SESSION_SERIES
from opportunities.listings.importing import import_records
from opportunities.model import Provider
from opportunities.places.geocoding import Geocoder

TODAY = date(2026, 11, 23)
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
LIMITS = FetchLimits(timeout_s=30, deadline_s=60, max_bytes=50 * 1024 * 1024, allow_private=True)


def _serve(pages: dict[str, bytes]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _render(source: Engine, base: str, kind: str, pages: dict[str, bytes]) -> str:
    """Every page of ``kind``'s feed from ``source`` into ``pages`` (path -> body); the first URL."""
    after = None
    while True:
        with source.connect() as conn:
            page = rpde.page(
                conn, kind, after, public_url=base, license_url=LICENSE, now=datetime.now(UTC) + timedelta(seconds=1)
            )
        parts = urlsplit(rpde.feed_url(base, kind, after))
        pages[parts.path + (f"?{parts.query}" if parts.query else "")] = json.dumps(page.body).encode()
        if page.last:
            return rpde.feed_url(base, kind)
        last = page.body["items"][-1]
        after = rpde.Position(last["modified"], last["id"])


def _target(folder: Path, name: str, source: Engine, country: str, urls: list[str]) -> tuple[Engine, list[int]]:
    """A new database with the country's cities and one organisation, the feeds registered."""
    engine = open_database(f"sqlite:///{folder / name}")
    with source.connect() as conn:
        cities = [c for c in queries.list_cities(conn) if c.country == country]
    with connection.writing(engine) as conn:
        ids = [queries.ensure_city(conn, c.__class__(c.name, c.country, c.latitude, c.longitude, c.timezone)) for c in cities]
        organisation = queries.ensure_provider(conn, Provider("Regional sports federation"), ids[0])
        feeds = [harvesting.register_feed(conn, None, url=url, organisation_id=organisation, city_id=ids[0], license=LICENSE,
                                          attribution="Federation", now=datetime.now(UTC)).id for url in urls]  # fmt: skip
    return engine, feeds


def _naive(engine: Engine, feed_ids: list[int], geocoder: Geocoder, limit: int) -> int:
    """Each item in its own read and write transaction: the page fetched, then a query and a commit per item."""
    done = 0
    for feed_id in feed_ids:
        with engine.connect() as conn:
            feed = harvesting.get_feed(conn, feed_id)
        url = feed.next_url
        while done < limit:
            items, next_url = harvesting.parse_page(fetch(url, LIMITS).body, url)
            for item in items[: limit - done]:
                now = datetime.now(UTC)
                with engine.connect() as conn, conn.begin():
                    planned, known, context = harvesting.plan_page(conn, feed, [item], geocoder, now)
                with connection.writing(engine) as conn:
                    harvesting.store_page(conn, feed, planned, known, context, next_url=next_url, now=now)
                done += 1
            if not items and next_url == url:
                break
            url = next_url
    return done


def run(geocoder: Geocoder, items: int = 20_000, naive_items: int = 2_000) -> dict[str, Any]:
    records = synthetic_records(items * 3, seed=11, today=TODAY)
    country = Counter(r["country"] for r in records).most_common(1)[0][0]
    records = [r for r in records if r["country"] == country][:items]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = open_database(f"sqlite:///{folder / 'source.db'}")
        t0 = time.perf_counter()
        report = import_records(source, records, geocoder, publish=True)
        imported = time.perf_counter() - t0
        pages: dict[str, bytes] = {}
        server = _serve(pages)
        try:
            host, port = server.server_address[:2]
            base = f"http://{host!s}:{port}"
            urls = [_render(source, base, kind, pages) for kind in (SESSION_SERIES, EVENT)]
            target, feeds = _target(folder, "target.db", source, country, urls)
            t0 = time.perf_counter()
            reports = [harvesting.harvest_feed(target, f, geocoder, limits=LIMITS, max_pages=10_000) for f in feeds]
            ours = time.perf_counter() - t0
            seen = sum(r.seen for r in reports)
            stored = sum(r.stored for r in reports)
            refused = Counter(e.reason.text for r in reports for e in r.rejected.values())
            assert all(r.caught_up and r.error is None for r in reports), reports

            naive_target, naive_feeds = _target(folder, "naive.db", source, country, urls)
            t0 = time.perf_counter()
            naive_done = _naive(naive_target, naive_feeds, geocoder, naive_items)
            naive = time.perf_counter() - t0
        finally:
            server.shutdown()
            server.server_close()
        for engine in (source, target, naive_target):
            engine.dispose()
    result = {
        "items": seen,
        "stored": stored,
        "source_rows": report.stored,
        "refused": dict(refused),
        "pages": sum(r.pages for r in reports),
        "seconds": ours,
        "items_per_s": seen / ours,
        "opportunities_per_s": stored / ours,
        "import_rows_per_s": report.stored / imported,  # the same rows imported, timed in the same run
        "naive_items": naive_done,
        "naive_items_per_s": naive_done / naive,
        "speedup": (seen / ours) / (naive_done / naive),
    }
    print("harvest", json.dumps(result), flush=True)
    return result
