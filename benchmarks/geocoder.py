"""Geocoder start-up, memory and lookups per second, against a naive scan of the gazetteer."""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from opportunities.errors import GeocodingError
from opportunities.places.gazetteer import _places_source
from opportunities.places.geocoding import Geocoder, open_geocoder
from opportunities.settings import PROJECT_ROOT
from opportunities.text import fold

QUERIES = [
    ("Göteborg", "SE"), ("Gothenburg", "SE"), ("Borås", "SE"), ("Trollhattan", "SE"), ("Uddevalla", "SE"),
    ("Bollnäs", "SE"), ("Hudiksvall", "SE"), ("Söderhamn", "SE"), ("Ljusdal", "SE"), ("Ljubljana", "SI"),
    ("Kranj", "SI"), ("Maribor", "SI"), ("Novo mesto", "SI"), ("Warszawa", "PL"), ("Warsaw", "PL"),
    ("Płock", "PL"), ("Radom", "PL"), ("Siedlce", "PL"), ("412 56", "SE"), ("00-624", "PL"), ("4000", "SI"),
    ("Mölndal", "SE"), ("Nowhereville", "SE"),
]  # fmt: skip

_START_PROBE = """
import resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from opportunities.geocoding import open_geocoder
g = open_geocoder(Path(sys.argv[1]))
g.geocode_query("Göteborg", "SE"); g.geocode_query("412 56", "SE")
elapsed = time.perf_counter() - t0
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def measure_start(cache_dir: Path) -> dict[str, float]:
    """Start-up time and peak resident memory of a fresh process that opens the built index."""
    open_geocoder(cache_dir)  # make sure the index exists
    out = subprocess.run(
        [sys.executable, "-c", _START_PROBE, str(cache_dir)], check=True, capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    seconds, rss_mb = (float(x) for x in out.stdout.split())
    return {"start_s": seconds, "peak_rss_mb": rss_mb}


def measure_lookups(geocoder: Geocoder, n: int = 50_000) -> float:
    rng = random.Random(1)
    queries = [rng.choice(QUERIES) for _ in range(n)]
    t0 = time.perf_counter()
    for text, country in queries:
        with contextlib.suppress(GeocodingError):  # unknown places are part of the mix
            geocoder.geocode_query(text, country)
    return n / (time.perf_counter() - t0)


class NaiveGazetteer:
    """The baseline: load the gazetteer file and scan every place's names per query."""

    def __init__(self) -> None:
        with _places_source().open(encoding="utf-8") as fh:
            records: dict[str, Any] = json.load(fh)
        self.places = [
            (r["countrycode"], {fold(r["name"]), *(fold(a) for a in r.get("alternatenames") or ())}, r) for r in records.values()
        ]

    def place(self, name: str, country: str) -> Any:
        folded = fold(name)
        best = None
        for cc, names, record in self.places:
            if cc == country and folded in names and (best is None or record["population"] > best["population"]):
                best = record
        return best


def run(cache_dir: Path) -> dict[str, float]:
    start = measure_start(cache_dir)
    geocoder = open_geocoder(cache_dir)
    ours = measure_lookups(geocoder)
    t0 = time.perf_counter()
    naive = NaiveGazetteer()
    naive_start = time.perf_counter() - t0
    sample = QUERIES[:10]
    t0 = time.perf_counter()
    for text, country in sample:
        naive.place(text, country)
    naive_rate = len(sample) / (time.perf_counter() - t0)
    return {
        **start,
        "lookups_per_s": ours,
        "naive_start_s": naive_start,
        "naive_lookups_per_s": naive_rate,
        "lookup_speedup": ours / naive_rate,
    }
