"""OGC API – Features: a ``bbox`` page of 1,000 features at 10k to 1M published opportunities.

Ours (``/api/collections/opportunities/items?bbox=…&limit=1000``, server time without HTTP): the
page selected on the search index (the box as a test on its coordinate columns, paging by id
after the previous page's last id), its records read by primary key in a few queries, encoded as
JSON. Beside it, in the same run, the naive server: the box as an SQL range on the coordinates,
``ORDER BY id LIMIT 1000 OFFSET k`` for page k, and the topics and languages read with a query per
feature. Each is timed on the first page and on a deep page (the 20th, or the last when there
are fewer), where an offset makes the database walk past every row before it.

The databases: ``map-N.db`` of the map benchmark (synthetic opportunities through the real import)
up to 100,000; at 1,000,000, ``features-1000000.db``, ten copies of the 100,000 (each copy's
points moved by a few hundred metres, every row its own id and key) written by SQL, as an import
of a million rows takes most of an hour here.
"""

from __future__ import annotations

import json
import shutil
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, select, text

from benchmarks.map import bench_database
from opportunities.db import queries
from opportunities.db.connection import open_database
from opportunities.db.schema import opportunities, opportunity_languages, opportunity_topics
from opportunities.explore.index import OpportunityIndex
from opportunities.explore.search import SearchQuery
from opportunities.feeds import features
from opportunities.listings.exporting import feature
from opportunities.places.geocoding import Geocoder
from opportunities.vocabulary import Status

PAGE = 1000
DEEP_PAGE = 20
REPEATS = 5
PUBLIC = "http://127.0.0.1:8501"
COPIES = 10


def database(directory: Path, size: int, geocoder: Geocoder) -> Engine:
    """``size`` published opportunities: the map benchmark's up to 100,000, ten copies of those at 1,000,000."""
    if size <= 100_000:
        return bench_database(directory, size, geocoder)
    if size != 100_000 * COPIES:
        raise ValueError(f"above 100,000 only {100_000 * COPIES:,} is built")
    path, ready = directory / f"features-{size}.db", directory / f"features-{size}.ready"
    if ready.exists():
        return open_database(f"sqlite:///{path}")
    source = bench_database(directory, 100_000, geocoder)
    source_path = Path(str(source.url.database))
    source.dispose()  # checkpoints the WAL into the file
    path.unlink(missing_ok=True)
    shutil.copyfile(source_path, path)
    engine = open_database(f"sqlite:///{path}")
    with engine.begin() as conn:
        _copy_rows(conn)
    ready.touch()
    return engine


def _copy_rows(conn: Connection) -> None:
    """Nine more copies of every opportunity, its topics and languages, by SQL (ids shifted by a multiple of the largest)."""
    largest = int(conn.execute(text("SELECT max(id) FROM opportunities")).scalar_one())
    columns = [c.name for c in opportunities.c if c.name not in ("id", "latitude", "longitude", "dedup_key")]
    listed = ", ".join(columns)
    for copy in range(1, COPIES):
        shift = copy * largest
        # Each copy a few hundred metres to the north-east of the last: denser cities, no two points alike.
        conn.execute(
            text(
                f"INSERT INTO opportunities (id, latitude, longitude, dedup_key, {listed}) "
                f"SELECT id + {shift}, latitude + {0.003 * copy}, longitude + {0.004 * copy}, "
                f"substr(dedup_key, 1, 34) || '-{copy}', {listed} FROM opportunities WHERE id <= {largest}"
            )
        )
        for table, column in (("opportunity_topics", "topic"), ("opportunity_languages", "language")):
            conn.execute(
                text(
                    f"INSERT INTO {table} (opportunity_id, {column}) "
                    f"SELECT opportunity_id + {shift}, {column} FROM {table} WHERE opportunity_id <= {largest}"
                )
            )


def busiest_box(index: OpportunityIndex, half_deg: float = 0.15) -> features.Bbox:
    """A box around the centre of the city with the most located opportunities."""
    located = np.isfinite(index.latitude)
    city = int(np.bincount(index.city_id[located]).argmax())
    rows = located & (index.city_id == city)
    lat, lon = float(np.median(index.latitude[rows])), float(np.median(index.longitude[rows]))
    return features.Bbox(lon - half_deg, lat - half_deg, lon + half_deg, lat + half_deg)


def ours(conn: Connection, index: OpportunityIndex, box: features.Bbox, after: int | None) -> str:
    """The API's page (server time without HTTP), as JSON."""
    query = features.ItemsQuery(search=SearchQuery(), bbox=box, limit=PAGE, after=after)
    body = features.opportunity_items(conn, index, query, public_url=PUBLIC, now=datetime.now(UTC))
    assert body["numberReturned"] == PAGE, body["numberReturned"]
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def naive(conn: Connection, box: features.Bbox, page: int) -> str:
    """Offset pagination on an SQL range, and a query per feature for its topics and languages."""
    query = (
        select(*queries.opportunity_columns())
        .select_from(queries.joined_opportunities())
        .where(
            opportunities.c.status == Status.PUBLISHED.value,
            opportunities.c.latitude.between(box.south, box.north),
            opportunities.c.longitude.between(box.west, box.east),
        )
        .order_by(opportunities.c.id)
        .limit(PAGE)
        .offset(page * PAGE)
    )
    found = []
    for row in conn.execute(query).all():
        topics = conn.execute(select(opportunity_topics.c.topic).where(opportunity_topics.c.opportunity_id == row.id)).scalars()
        languages = conn.execute(
            select(opportunity_languages.c.language).where(opportunity_languages.c.opportunity_id == row.id)
        ).scalars()
        found.append(feature(queries.opportunity_from_row(row, tuple(sorted(topics)), tuple(sorted(languages)))))
    assert len(found) == PAGE, len(found)
    body = {"type": "FeatureCollection", "numberReturned": len(found), "features": found}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _median_ms(run: Callable[[], Any], repeats: int = REPEATS) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``run`` (CPU: this process's, SQLite's included; on a
    machine shared with other work the wall time also counts the waits for a core)."""
    run()  # warm: the database's pages in its cache, as on a busy server
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return round(statistics.median(wall) * 1000, 1), round(statistics.median(cpu) * 1000, 1)


def run_size(engine: Engine, cache_dir: Path) -> dict[str, Any]:
    with engine.connect() as conn:
        index = OpportunityIndex.cached(conn, cache_dir)
        box = busiest_box(index)
        keep = box.contains(index.longitude, index.latitude)
        in_box = np.flatnonzero(keep)
        deep = min(DEEP_PAGE, len(in_box) // PAGE - 1)
        after = int(index.ids[in_box[deep * PAGE - 1]]) if deep > 0 else None
        result: dict[str, Any] = {"published": len(index), "in_box": len(in_box), "deep_page": deep + 1}
        timed = {
            "ours_first": _median_ms(lambda: ours(conn, index, box, None)),
            "ours_deep": _median_ms(lambda: ours(conn, index, box, after)),
            "naive_first": _median_ms(lambda: naive(conn, box, 0), repeats=3),
            "naive_deep": _median_ms(lambda: naive(conn, box, deep), repeats=3),
        }
        first = ours(conn, index, box, None)
        result["page_bytes"] = len(first.encode())
        # Both servers give the same deep page, feature for feature (both count the box's edges in).
        assert json.loads(ours(conn, index, box, after))["features"] == json.loads(naive(conn, box, deep))["features"]
    for name, (wall, cpu) in timed.items():
        result[f"{name}_ms"], result[f"{name}_cpu_ms"] = wall, cpu
    for page in ("first", "deep"):
        result[f"ratio_{page}"] = round(result[f"naive_{page}_ms"] / result[f"ours_{page}_ms"], 1)
        result[f"ratio_{page}_cpu"] = round(result[f"naive_{page}_cpu_ms"] / result[f"ours_{page}_cpu_ms"], 1)
    return result


def run(directory: Path, cache_dir: Path, geocoder: Geocoder, sizes: Sequence[int]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for size in sizes:
        engine = database(directory, size, geocoder)
        try:
            results[str(size)] = run_size(engine, cache_dir)
        finally:
            engine.dispose()
        print("features", size, json.dumps(results[str(size)]), flush=True)
    return results
