"""Import throughput: rows per second for a large file, against importing row by row."""

from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path

from opportunities.db.connection import open_database
from opportunities.demo.generator import synthetic_records
from opportunities.listings.importing import import_records
from opportunities.places.geocoding import Geocoder

TODAY = date(2026, 11, 23)


def run(geocoder: Geocoder, rows: int = 100_000, naive_rows: int = 2_000) -> dict[str, float]:
    records = synthetic_records(rows, seed=7, today=TODAY)
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        t0 = time.perf_counter()
        report = import_records(engine, records, geocoder, publish=True)
        ours = time.perf_counter() - t0
        assert report.stored == rows, (report.stored, report.rejected[:3])
        engine.dispose()

        # Baseline: the same rows, one transaction (and one duplicate check) per row.
        naive_engine = open_database(f"sqlite:///{Path(tmp) / 'naive.db'}")
        t0 = time.perf_counter()
        for record in records[:naive_rows]:
            import_records(naive_engine, [record], geocoder, publish=True)
        naive = time.perf_counter() - t0
        naive_engine.dispose()
    return {
        "rows": rows,
        "rows_per_s": rows / ours,
        "seconds": ours,
        "naive_rows_per_s": naive_rows / naive,
        "speedup": (rows / ours) / (naive_rows / naive),
    }
