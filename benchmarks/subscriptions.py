"""A search subscription's calendar (``/subscribe/calendar.ics``) at 100k and 1M published
opportunities, against a naive build in the same run.

Ours (what the route does once the server holds its index): the filter as vector operations on the
live index, the first opportunities in the Explore list's order read in one query, their sessions
in the next 90 days from the recurrence module, the file written. The Atom feed and the printable
list are timed too. Naive: the matching ids from SQL (the database's indexes), then a query per
item for its record, its sessions checked and expanded, until the calendar is full (the total
counted the same way). The filter is a city and a topic, as a young person subscribes to.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from datetime import time as day_time
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine

from benchmarks.map import bench_database
from opportunities.db import queries
from opportunities.db.schema import opportunities
from opportunities.explore.index import OpportunityIndex
from opportunities.explore.search import filtered_query
from opportunities.explore.url_params import Filters
from opportunities.feeds import printable, subscriptions
from opportunities.feeds.subscriptions import MAX_CALENDAR_OPPORTUNITIES, Subscription
from opportunities.listings.calendar import sessions_ics
from opportunities.model import Opportunity
from opportunities.places.geocoding import Geocoder
from opportunities.settings import load_settings

# The map benchmark's data is generated around this day; the subscription is read a week later.
TODAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BASE = "https://map.example.org"
PUBLISHER = "Cities of Learning"
RUNS = 7


def _median_s(work: Callable[[], object], runs: int = RUNS) -> tuple[float, object]:
    """The median wall time of ``work`` and its result; the median CPU time of this process is kept
    in :data:`CPU_S` (on a shared machine the wall time also counts other processes' turns)."""
    times, cpu, result = [], [], None
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = work()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    CPU_S.append(statistics.median(cpu))
    return statistics.median(times), result


CPU_S: list[float] = []


def _typical_filters(conn: Connection, index: OpportunityIndex) -> Filters:
    """The city with the most opportunities, and one topic: a young person's subscription."""
    cities = {c.id: c.name for c in queries.list_cities(conn)}
    counts: dict[int, int] = {}
    for city_id in index.city_id.tolist()[:200_000]:
        counts[city_id] = counts.get(city_id, 0) + 1
    busiest = max(counts, key=lambda c: counts[c])
    return Filters(city=cities[busiest], topics=("digital-skills",))


def naive_calendar(conn: Connection, subscription: Subscription, zones: dict[tuple[str, str], str]) -> tuple[str, int]:
    """The calendar with a query per item: ids from SQL, then each record read on its own."""
    filters, language = subscription.filters, subscription.language
    days = subscriptions.window(filters, TODAY)
    assert days is not None
    query = replace(filters.to_query(limit=10_000, today=TODAY), date_from=days[0], date_to=days[1])
    stmt = filtered_query(query, [opportunities.c.id]).order_by(opportunities.c.start_date, opportunities.c.id)
    ids = [int(i) for i in conn.execute(stmt).scalars()]
    after, before = datetime.combine(days[0], day_time.min), datetime.combine(days[1], day_time.max)
    shown: list[Opportunity] = []
    total = 0
    for oid in ids:
        opp = queries.get_opportunity(conn, oid)
        if opp.sessions(after, before, limit=1):
            total += 1
            if len(shown) < MAX_CALENDAR_OPPORTUNITIES:
                shown.append(opp)
    events = subscriptions.sessions(shown, days, zones, BASE, language)
    name = subscriptions.title(filters, language, PUBLISHER)
    return sessions_ics(events, name=name, description="", refresh=subscriptions.REFRESH, now=NOW), total


def run_size(engine: Engine, cache_dir: Path, size: int, naive_max: int) -> dict[str, Any]:
    with engine.connect() as conn:
        started = time.perf_counter()
        index = OpportunityIndex.cached(conn, cache_dir)
        index_s = time.perf_counter() - started
        filters = _typical_filters(conn, index)
        subscription = Subscription(filters, "en")
        zones = {(c.name, c.country): c.timezone for c in queries.list_cities(conn)}

        def ours_calendar() -> str:
            return subscriptions.calendar(
                conn, index, subscription, zones=zones, today=TODAY, base_url=BASE, publisher=PUBLISHER, now=NOW
            )

        def ours_atom() -> str:
            return subscriptions.atom(conn, index, subscription, today=TODAY, base_url=BASE, publisher=PUBLISHER, now=NOW)

        def ours_print() -> str:
            found = subscriptions.listed(conn, index, filters, today=TODAY)
            return printable.page(subscription, found, base_url=BASE, publisher=PUBLISHER)

        calendar_s, calendar = _median_s(ours_calendar)
        atom_s, _ = _median_s(ours_atom)
        print_s, _ = _median_s(ours_print)
        matching = subscriptions.in_window(conn, index, filters, today=TODAY).total
        result: dict[str, Any] = {
            "published": len(index),
            "filters": {"city": filters.city, "topic": list(filters.topics)},
            "matching_in_90_days": matching,
            "index_load_s": round(index_s, 2),
            "calendar_ms": round(calendar_s * 1000, 1),
            "calendar_cpu_ms": round(CPU_S[-3] * 1000, 1),
            "calendar_events": str(calendar).count("BEGIN:VEVENT"),
            "calendar_bytes": len(str(calendar).encode()),
            "atom_ms": round(atom_s * 1000, 1),
            "atom_cpu_ms": round(CPU_S[-2] * 1000, 1),
            "print_ms": round(print_s * 1000, 1),
            "print_cpu_ms": round(CPU_S[-1] * 1000, 1),
        }
        if size <= naive_max:
            naive_s, answer = _median_s(lambda: naive_calendar(conn, subscription, zones), runs=1)
            naive, total = cast(tuple[str, int], answer)
            assert total == matching, (total, matching)
            assert str(naive).count("BEGIN:VEVENT") == result["calendar_events"]
            result["naive_calendar_ms"] = round(naive_s * 1000, 1)
            result["naive_calendar_cpu_ms"] = round(CPU_S[-1] * 1000, 1)
            result["naive_over_ours"] = round(naive_s / calendar_s, 1)
    print("subscriptions", size, result, flush=True)
    return result


def run(directory: Path, geocoder: Geocoder, sizes: Sequence[int], naive_max: int = 1_000_000) -> dict[str, Any]:
    cache_dir = load_settings().cache_dir
    return {str(size): run_size(bench_database(directory, size, geocoder), cache_dir, size, naive_max) for size in sizes}
