"""Sign-in latency while a provider uploads a large file: does one upload hold everyone's writes?

A background thread previews and then confirms an upload of ``rows`` rows (the upload page's two
steps); meanwhile the main thread signs in (a write transaction: the attempt is recorded) every
``interval`` seconds. Baselines, in the same run: the same sign-in with nothing else running, and
during a preview that holds the write lock while it checks the rows (as every preview and import
did before the rows were staged).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine

from opportunities.accounts.accounts import add_user, authenticate
from opportunities.accounts.identity import Role
from opportunities.db import connection
from opportunities.db.connection import open_database, reset_database
from opportunities.demo.generator import synthetic_records
from opportunities.listings import importing
from opportunities.listings.importing import confirm_import, preview_import
from opportunities.listings.spreadsheets import Table
from opportunities.places.geocoding import Geocoder
from opportunities.settings import load_settings

TODAY = date(2026, 11, 23)
PASSWORD = "a long benchmark passphrase"


def _sign_in_times(engine: Engine, count: int, interval: float, until: threading.Event | None = None) -> list[float]:
    settings = load_settings({})
    times = []
    while len(times) < count or (until is not None and not until.is_set()):
        t0 = time.perf_counter()
        authenticate(engine, "lead@example.org", PASSWORD, "bench", datetime.now(UTC), settings=settings)
        times.append(time.perf_counter() - t0)
        if until is not None and until.is_set():
            break
        time.sleep(interval)
    return times


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "sign_ins": len(times),
        "median_s": statistics.median(ordered),
        "p95_s": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max_s": ordered[-1],
    }


def run_on(url: str, geocoder: Geocoder, rows: int, interval: float = 0.25) -> dict[str, object]:
    engine = open_database(url)
    reset_database(engine)
    with connection.writing(engine) as conn:
        add_user(conn, "lead@example.org", role=Role.ADMIN, password=PASSWORD, settings=load_settings({}), now=datetime.now(UTC))
    records = synthetic_records(rows, seed=11, today=TODAY)
    table = Table(header=tuple(records[0]), rows=records, row_numbers=list(range(2, rows + 2)))

    quiet = _sign_in_times(engine, 20, interval)
    phases: dict[str, float] = {}
    done = threading.Event()

    def upload() -> None:
        try:
            t0 = time.perf_counter()
            preview = preview_import(engine, table, geocoder, filename="bench.csv", publish=True)
            phases["preview_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            report = confirm_import(engine, table, geocoder, preview)
            phases["confirm_s"] = time.perf_counter() - t0
            phases["stored"] = report.stored
        finally:
            done.set()

    worker = threading.Thread(target=upload)
    worker.start()
    busy = _sign_in_times(engine, 1, interval, until=done)
    worker.join()

    held = threading.Event()

    def preview_holding_the_lock() -> None:
        try:
            t0 = time.perf_counter()
            with connection.rolled_back(engine) as conn:
                importing._plan(conn, table.rows, geocoder, publish=True, row_numbers=table.row_numbers)
            phases["locked_preview_s"] = time.perf_counter() - t0
        finally:
            held.set()

    worker = threading.Thread(target=preview_holding_the_lock)
    worker.start()
    locked = _sign_in_times(engine, 1, interval, until=held)
    worker.join()
    engine.dispose()
    return {
        "rows": rows,
        **phases,
        "quiet": _summary(quiet),
        "during_upload": _summary(busy),
        "during_locked_preview": _summary(locked),
        "slowdown_median": statistics.median(busy) / statistics.median(quiet),
        "slowdown_max": max(busy) / statistics.median(quiet),
        "locked_slowdown_max": max(locked) / statistics.median(quiet),
    }


def run(geocoder: Geocoder, rows: int = 50_000, database_url: str | None = None) -> dict[str, object]:
    """On SQLite (a file in a temporary folder) and, with ``database_url``, on that database too
    (PostgreSQL: every table in it is dropped first)."""
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run_on(f"sqlite:///{Path(tmp) / 'bench.db'}", geocoder, rows)
    if database_url:
        results["postgresql"] = run_on(database_url, geocoder, rows)
    return results


if __name__ == "__main__":
    import argparse
    import json

    from opportunities.places.geocoding import open_geocoder

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    print(json.dumps(run(open_geocoder(load_settings().cache_dir), args.rows, args.database_url), indent=1))
