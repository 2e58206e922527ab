"""How soon an approval shows on the Explore map, and how slow a visitor's rerun gets meanwhile.

On a copy of the map benchmark's database (``map-N.db``, N published opportunities), a few rows
are put back to review. A visitor thread reruns the page's query path without pause (the index
of the moment, the filter as a mask, the first list page, the map layer with its pins) while the
main thread approves one row at a time, with an edit, and waits for the live index to show it.
Beside it, in the same run: today's path before this change, a full rebuild of the index on the
first visit after any change, and a full rebuild in the background (the periodic one) with the
slowest rerun during it.
"""

from __future__ import annotations

import shutil
import statistics
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update

from benchmarks.map import EVERYTHING, NARROW, TILES, bench_database
from maps.overview import base_map, fitted_view, overview_layer, places_by_size
from opportunities.db.connection import open_database, writing
from opportunities.db.queries import get_opportunities, list_cities
from opportunities.db.schema import opportunities
from opportunities.explore.index import OpportunityIndex
from opportunities.explore.live_index import LiveIndex
from opportunities.explore.search import SearchQuery
from opportunities.model import Opportunity
from opportunities.places.geocoding import Geocoder
from opportunities.settings import Settings
from opportunities.vocabulary import Status

APPROVALS = 5
VISIBLE_TIMEOUT_S = 60.0


def _copy(source: Engine, target: Path) -> Engine:
    """A private copy of the benchmark database: the approvals must not change the map benchmark's."""
    path = Path(str(source.url.database))
    source.dispose()  # checkpoints the WAL into the file
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(path, target)
    return open_database(f"sqlite:///{target}")


class Visitor(threading.Thread):
    """Reruns the Explore page's query path in a loop, timing each run."""

    def __init__(self, engine: Engine, live: LiveIndex) -> None:
        super().__init__(name="visitor", daemon=True)
        self.engine, self.live = engine, live
        self.runs: list[tuple[float, float]] = []  # (start, seconds)
        self.stop = threading.Event()
        with engine.connect() as conn:
            self.cities = list_cities(conn, status=Status.PUBLISHED)
        self.names = {c.id: c.name for c in self.cities if c.id is not None}

    def load(self, ids: Sequence[int]) -> list[Opportunity]:
        with self.engine.connect() as conn:
            return get_opportunities(conn, ids)

    def rerun(self, query: SearchQuery) -> None:
        index = self.live.current()  # one version for the whole run, as the page takes it
        with self.engine.connect() as conn:
            keep = index.mask(query, conn)
        self.load(index.ids[index.ordered(keep, query, limit=20)].tolist())  # the first list page
        overview_layer(index, keep, fitted_view(index, keep), self.load, self.names)
        base_map(tile_url=TILES, tile_attribution="tiles", asset_base="/app/static", places=places_by_size(index, self.cities))

    def run(self) -> None:
        queries = (EVERYTHING, NARROW, SearchQuery(limit=10_000))
        turn = 0
        while not self.stop.is_set():
            start = time.perf_counter()
            self.rerun(queries[turn % len(queries)])
            self.runs.append((start, time.perf_counter() - start))
            turn += 1

    def slowest_between(self, start: float, end: float) -> float:
        """The slowest run that overlapped ``start``..``end``."""
        return max((s for t, s in self.runs if t < end and t + s > start), default=0.0)


def _approve(engine: Engine, oid: int, age_min: int) -> None:
    """A city lead approves a row and corrects it on the way (status and an edit, one transaction)."""
    with writing(engine) as conn:
        conn.execute(
            update(opportunities)
            .where(opportunities.c.id == oid)
            .values(status=Status.PUBLISHED.value, age_min=age_min, updated_at=datetime.now(UTC))
        )


def _shows(index: OpportunityIndex, oid: int, age_min: int) -> bool:
    row = int(index.ids.searchsorted(oid))
    return row < len(index) and int(index.ids[row]) == oid and int(index.age_min[row]) == age_min


def run_size(directory: Path, geocoder: Geocoder, settings: Settings, size: int) -> dict[str, Any]:
    engine = _copy(bench_database(directory, size, geocoder), directory / f"freshness-{size}.db")
    with writing(engine) as conn:  # rows waiting for review, spread over the table
        chosen = list(conn.execute(select(opportunities.c.id).where(opportunities.c.id % (size // APPROVALS) == 7)).scalars())
        conn.execute(
            update(opportunities)
            .where(opportunities.c.id.in_(chosen))
            .values(status=Status.PENDING.value, updated_at=datetime.now(UTC))
        )
    # Today's path: the first visitor after a change waits for this whole rebuild.
    t0 = time.perf_counter()
    with engine.connect() as conn:
        OpportunityIndex.load(conn)
    full_rebuild_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    live = LiveIndex(engine, directory / "cache", refresh_s=settings.index_refresh_s, overlap_s=settings.index_overlap_s,
                     compact_s=settings.index_rebuild_s)  # fmt: skip
    start_s = time.perf_counter() - t0
    visitor = Visitor(engine, live)
    visitor.start()
    time.sleep(2)  # some runs before the first approval
    visible: list[float] = []
    slowest: list[float] = []
    for n, oid in enumerate(chosen):
        age_min = 40 + n
        t0 = time.perf_counter()
        _approve(engine, oid, age_min)
        while not _shows(live.current(), oid, age_min):
            if time.perf_counter() - t0 > VISIBLE_TIMEOUT_S:
                raise RuntimeError(f"approval of {oid} not visible after {VISIBLE_TIMEOUT_S} s")
            time.sleep(0.005)
        t1 = time.perf_counter()
        visible.append(t1 - t0)
        time.sleep(0.3)  # the rerun in progress when it showed ends
        slowest.append(visitor.slowest_between(t0, t1))
        time.sleep(0.7)
    quiet = [s for _, s in visitor.runs]
    # The periodic full rebuild, in the background while the visitor keeps going.
    t0 = time.perf_counter()
    live.refresh(rebuild=True)
    t1 = time.perf_counter()
    time.sleep(0.3)
    visitor.stop.set()
    visitor.join()
    live.close()
    engine.dispose()
    result = {
        "today_full_rebuild_s": full_rebuild_s,
        "live_index_start_s": start_s,
        "approval_visible_s": visible,
        "approval_visible_max_s": max(visible),
        "slowest_rerun_during_approval_s": max(slowest),
        "rerun_median_s": statistics.median(quiet),
        "reruns": len(quiet),
        "merges": live.refreshes,
        "background_rebuild_s": t1 - t0,
        "slowest_rerun_during_background_rebuild_s": visitor.slowest_between(t0, t1),
        "visible_ratio_vs_full_rebuild": full_rebuild_s / max(visible),
    }
    print(f"freshness {size}", result, flush=True)
    return result


def run(directory: Path, geocoder: Geocoder, settings: Settings, sizes: Sequence[int]) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    return {str(size): run_size(directory, geocoder, settings, size) for size in sizes}
