"""The OpenActive RPDE feeds at 100k and 1M published opportunities, against naive paging.

Ours (``opportunities.feeds.rpde``): a page is one query on the index of the feed's order,
(``updated_at``, ``id``) after the previous page's last item, with the multi-valued fields as
scalar subqueries; its items built and the page encoded as JSON. Timed:

- **a page of 500, server time**: through the route and the middleware (``web.openactive`` with
  ``ConditionalGet`` and ``RateLimit``, as ``server.py`` mounts them), in-process, without the
  network: the first page, a page at the middle of the feed and the last page (median of
  several);
- **the full walk**: every page of the feed from the first to the last, as a consumer follows
  ``next`` (the domain call and the JSON encoding: what a page costs the server).

Each twice: on the synthetic offer (where most opportunities name no OpenActive activity, so are
``deleted`` items: cheap), and with every row made an item with its data (the worst case, as if
every opportunity were in OpenActive's scope).

Naive, in the same run: **offset pagination** (``ORDER BY updated_at, id LIMIT 500 OFFSET k``:
the database reads and skips ``k`` rows, so a page in the middle of 1M reads 500k; the full walk
is estimated from pages timed at ten offsets, as it would take hours), and **a query per item**
(the page's ids, then each opportunity loaded on its own).

The database: the synthetic offer, imported (100k rows), then copied with new ids up to the size
(an import of 1M rows would take most of an hour; the copies are the same rows to the feed).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from sqlalchemy import Engine, func, select
from starlette.applications import Starlette
from starlette.middleware import Middleware

from benchmarks.map import fill
from opportunities.db import queries
from opportunities.db.connection import open_database, writing
from opportunities.db.schema import cities, opportunities, opportunity_languages, opportunity_topics, providers
from opportunities.feeds import rpde
from opportunities.feeds.openactive import EVENT, SESSION_SERIES
from opportunities.places.geocoding import Geocoder
from opportunities.settings import load_settings
from web.openactive import ROUTES
from web.public import ConditionalGet, RateLimit

BASE = 100_000  # rows imported; the rest are copies
PUBLIC = "http://127.0.0.1:8640"
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
REPEATS = 7


def bench_database(directory: Path, size: int, geocoder: Geocoder) -> Engine:
    """A database of ``size`` published synthetic opportunities, built once and kept."""
    path = directory / f"rpde-{size}.db"
    ready = directory / f"rpde-{size}.ready"
    directory.mkdir(parents=True, exist_ok=True)
    if ready.exists():
        return open_database(f"sqlite:///{path}")
    path.unlink(missing_ok=True)
    engine = open_database(f"sqlite:///{path}")
    base = min(size, BASE)
    fill(engine, base, geocoder)
    _copy_up_to(engine, size)
    ready.touch()
    return engine


def _copy_up_to(engine: Engine, size: int) -> None:
    """Copies of the imported rows, with new ids (and their topics and languages), up to ``size`` rows."""
    columns = [c.name for c in opportunities.c]
    with writing(engine) as conn:
        top = int(conn.execute(select(func.max(opportunities.c.id))).scalar_one())
        have = int(conn.execute(select(func.count()).select_from(opportunities)).scalar_one())
        copy = 1
        while have < size:
            shift = copy * top
            take = min(top, size - have)
            chosen = f"(SELECT id FROM opportunities WHERE id <= {top} ORDER BY id LIMIT {take})"
            values = ", ".join(
                f"id + {shift}" if c == "id" else f"dedup_key || ':{copy}'" if c == "dedup_key" else c for c in columns
            )
            conn.exec_driver_sql(
                f"INSERT INTO opportunities ({', '.join(columns)}) SELECT {values} FROM opportunities WHERE id IN {chosen}"
            )
            for table, column in ((opportunity_topics, "topic"), (opportunity_languages, "language")):
                conn.exec_driver_sql(
                    f"INSERT INTO {table.name} (opportunity_id, {column}) SELECT opportunity_id + {shift}, {column} "
                    f"FROM {table.name} WHERE opportunity_id IN {chosen}"
                )
            have += take
            copy += 1


def _timed(run: Callable[[], Any], repeats: int = REPEATS) -> float:
    """The median seconds of ``run`` (wall clock)."""
    return _timed_both(run, repeats)[0]


def _timed_both(run: Callable[[], Any], repeats: int = REPEATS) -> tuple[float, float]:
    """The median seconds of ``run``: wall clock, and this process's CPU time (what it costs the
    server, unlike the wall clock, whatever else the machine runs meanwhile)."""
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _page(engine: Engine, kind: str, after: rpde.Position | None) -> rpde.Page:
    with engine.connect() as conn:
        return rpde.page(conn, kind, after, public_url=PUBLIC, license_url=LICENSE, now=datetime.now(UTC) + timedelta(1))


def _encoded_page(engine: Engine, kind: str, after: rpde.Position | None) -> tuple[rpde.Page, int]:
    found = _page(engine, kind, after)
    return found, len(json.dumps(found.body, separators=(",", ":")).encode())


def walk(engine: Engine, kind: str) -> dict[str, Any]:
    """Every page of ``kind``'s feed from the first, as a consumer follows ``next``."""
    start, cpu = time.perf_counter(), time.process_time()
    after: rpde.Position | None = None
    items = updated = pages = size = 0
    positions: list[rpde.Position | None] = [None]
    while True:
        found, encoded = _encoded_page(engine, kind, after)
        pages += 1
        size += encoded
        if found.last:
            break
        page_items = found.body["items"]
        items += len(page_items)
        updated += sum(1 for i in page_items if i["state"] == "updated")
        after = rpde.Position(page_items[-1]["modified"], page_items[-1]["id"])
        positions.append(after)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return {
        "items": items,
        "updated": updated,
        "pages": pages,
        "seconds": seconds,
        "items_per_s": items / seconds,
        "cpu_seconds": cpu_seconds,
        "items_per_cpu_s": items / cpu_seconds,
        "mb": size / 1e6,
        "middle": positions[len(positions) // 2],
        "last": positions[-1],
    }


def _get(app: Starlette, path: str, query: str) -> tuple[int, int]:
    """One GET through the ASGI app, in-process: its status and body size."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8640)}  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, sum(len(m.get("body", b"")) for m in sent if m["type"] == "http.response.body")


def route_pages(engine: Engine, kind: str, middle: rpde.Position | None, last: rpde.Position | None) -> dict[str, float]:
    """Median server time of a page through the route and the middleware: first, middle, last."""
    settings = load_settings({"RATE_LIMIT_PER_MINUTE": "1000000"})
    app = Starlette(routes=ROUTES, middleware=[Middleware(RateLimit, settings=settings), Middleware(ConditionalGet)])
    path = f"/openactive/{'session-series' if kind == SESSION_SERIES else 'events'}"
    result = {}
    environment = {"DATABASE_URL": str(engine.url), "PUBLIC_URL": PUBLIC, "INDEX_OVERLAP_S": "0"}
    with mock.patch.dict(os.environ, environment):
        for name, position in (("first", None), ("middle", middle), ("last", last)):
            query = "" if position is None else f"afterTimestamp={position.modified}&afterId={position.id}"
            status, _size = _get(app, path, query)
            assert status == 200, status
            wall, cpu = _timed_both(lambda q=query: _get(app, path, q))  # type: ignore[misc]
            result[f"{name}_page_ms"], result[f"{name}_page_cpu_ms"] = wall * 1000, cpu * 1000
    return result


def _naive_rows(engine: Engine, offset: int) -> int:
    """A page by offset: the same rows and columns as ours, the database skipping ``offset`` rows."""
    with engine.connect() as conn:
        query = (
            select(
                *queries.opportunity_columns(),
                providers.c.website.label("provider_website"),
                cities.c.timezone.label("city_timezone"),
            )
            .select_from(queries.joined_opportunities())
            .order_by(opportunities.c.updated_at, opportunities.c.id)
            .limit(rpde.PAGE_SIZE)
            .offset(offset)
        )
        rows = list(conn.execute(query))
        for table in (opportunity_topics, opportunity_languages):  # the multi-valued fields, per page
            list(conn.execute(select(table).where(table.c.opportunity_id.in_([r.id for r in rows]))))
        return len(rows)


def _query_per_item(engine: Engine, offset: int) -> int:
    """The page's ids, then each opportunity on its own query."""
    with engine.connect() as conn:
        ids = conn.execute(
            select(opportunities.c.id)
            .order_by(opportunities.c.updated_at, opportunities.c.id)
            .limit(rpde.PAGE_SIZE)
            .offset(offset)
        ).scalars()
        return sum(len(queries.get_opportunities(conn, [i])) for i in list(ids))


def naive(engine: Engine, size: int) -> dict[str, float]:
    """Offset pages at the start, the middle and the end; the full walk estimated from ten offsets."""
    result: dict[str, float] = {}
    for name, offset in (("first", 0), ("middle", size // 2), ("last", max(0, size - rpde.PAGE_SIZE))):
        wall, cpu = _timed_both(lambda o=offset: _naive_rows(engine, o), 3)  # type: ignore[misc]
        result[f"offset_{name}_page_ms"], result[f"offset_{name}_page_cpu_ms"] = wall * 1000, cpu * 1000
    samples = [_timed_both(lambda o=size * k // 10: _naive_rows(engine, o), 1) for k in range(10)]  # type: ignore[misc]
    pages = -(-size // rpde.PAGE_SIZE)
    result["offset_walk_s_estimated"] = statistics.mean(wall for wall, _cpu in samples) * pages
    result["offset_walk_cpu_s_estimated"] = statistics.mean(cpu for _wall, cpu in samples) * pages
    result["offset_walk_items_per_cpu_s_estimated"] = size / result["offset_walk_cpu_s_estimated"]
    wall, cpu = _timed_both(lambda: _query_per_item(engine, size // 2), 3)
    result["query_per_item_middle_page_ms"], result["query_per_item_middle_page_cpu_ms"] = wall * 1000, cpu * 1000
    return result


@contextmanager
def every_row_in_scope() -> Iterator[None]:
    """Every published row an item with its data, as if each named an OpenActive activity."""
    with mock.patch.object(rpde, "names_activity", return_value=True):
        yield


def measure(engine: Engine, size: int) -> dict[str, Any]:
    result: dict[str, Any] = {"size": size}
    # Above BASE only the series feed: a page's cost does not grow with the feed (one seek), and a
    # walk of both feeds twice at 1M would take most of an hour on a busy machine.
    kinds = (SESSION_SERIES, EVENT) if size <= BASE else (SESSION_SERIES,)
    for case, scope in (("synthetic", None), ("every_item_with_data", every_row_in_scope)):
        figures: dict[str, Any] = {}
        with scope() if scope else _nothing():
            for kind in kinds:
                walked = walk(engine, kind)
                pages = route_pages(engine, kind, walked.pop("middle"), walked.pop("last"))
                figures[kind] = {**walked, **pages}
                print("rpde", size, case, kind, json.dumps(figures[kind]), flush=True)
        result[case] = figures
    result["naive"] = naive(engine, size)
    print("rpde", size, "naive", json.dumps(result["naive"]), flush=True)
    ours = result["every_item_with_data"][SESSION_SERIES]
    bad = result["naive"]
    result["ratios"] = {  # CPU time: the machine's other work left out
        "middle_page_vs_offset": bad["offset_middle_page_cpu_ms"] / ours["middle_page_cpu_ms"],
        "last_page_vs_offset": bad["offset_last_page_cpu_ms"] / ours["last_page_cpu_ms"],
        "middle_page_vs_query_per_item": bad["query_per_item_middle_page_cpu_ms"] / ours["middle_page_cpu_ms"],
        "walk_vs_offset_walk": ours["items_per_cpu_s"] / bad["offset_walk_items_per_cpu_s_estimated"],
    }
    print("rpde", size, "ratios", json.dumps(result["ratios"]), flush=True)
    return result


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def run(directory: Path, geocoder: Geocoder, sizes: list[int]) -> dict[str, Any]:
    return {str(size): measure(bench_database(directory, size, geocoder), size) for size in sizes}
