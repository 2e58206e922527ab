"""The address index: building 1,000,000 addresses, opening them, lookups per second; beside a naive
baseline in the same run (reading the CSV with pandas and scanning it per query).

The million addresses are synthetic on real street names: every street of the demo's real address
files (Warsaw, Ljubljana, Maribor, Kranj) gets house numbers 1, 2, 3, ... laid along a line from
its real point, some with a letter (``12a``), until there are a million.
"""

from __future__ import annotations

import csv
import math
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from opportunities.demo.generator import REAL_ADDRESS_DIR, REAL_ADDRESS_FILES
from opportunities.places.address_index import AddressIndex, load_files
from opportunities.places.addresses import parse_address, town_key
from opportunities.places.gazetteer import Gazetteer
from opportunities.settings import PROJECT_ROOT
from opportunities.text import fold

CITY_OF_FILE = {name: city for city, name in REAL_ADDRESS_FILES.items()}
COUNTRY = {"Warszawa": "PL", "Ljubljana": "SI", "Maribor": "SI", "Kranj": "SI"}


def real_streets() -> list[tuple[str, str, str, str, float, float]]:
    """(country, city, street, postcode, lat, lon): each street of the real files once."""
    found: dict[tuple[str, str], tuple[str, str, str, str, float, float]] = {}
    for name in REAL_ADDRESS_FILES.values():
        city = CITY_OF_FILE[name]
        with (REAL_ADDRESS_DIR / name).open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                found.setdefault(
                    (city, row["street"]),
                    (COUNTRY[city], city, row["street"], row["postcode"], float(row["lat"]), float(row["lon"])),
                )
    return list(found.values())


def write_synthetic(path: Path, size: int, seed: int = 8) -> list[tuple[str, str, str]]:
    """Write ``size`` synthetic address points to ``path`` (one CSV per country); return the
    queries (country, city, address as written) for the lookup benchmark."""
    rng = random.Random(seed)
    streets = real_streets()
    per_street = math.ceil(size / len(streets))
    queries: list[tuple[str, str, str]] = []
    files = {cc: (path.parent / f"{path.stem}_{cc.lower()}.csv").open("w", encoding="utf-8", newline="") for cc in ("PL", "SI")}
    writers = {cc: csv.writer(fh) for cc, fh in files.items()}
    for writer in writers.values():
        writer.writerow(["street", "housenumber", "postcode", "city", "lat", "lon"])
    written = 0
    for cc, city, street, postcode, lat, lon in streets:
        heading = rng.uniform(0, 2 * math.pi)
        step = rng.uniform(8, 20) / 111_320  # metres between numbers, in degrees
        dlat, dlon = math.cos(heading) * step, math.sin(heading) * step / math.cos(math.radians(lat))
        for n in range(1, per_street + 1):
            if written >= size:
                break
            side = 0.00012 if n % 2 else -0.00012  # odd and even sides of the street
            suffix = "a" if rng.random() < 0.08 else ""
            writers[cc].writerow(
                [street, f"{n}{suffix}", postcode, city, f"{lat + n * dlat + side:.6f}", f"{lon + n * dlon:.6f}"]
            )
            written += 1
            if rng.random() < 2_000 / size:
                form = rng.random()
                number = f"{n}{suffix}" if form < 0.6 else f"{n + per_street // 2}"  # beyond: the street
                queries.append((cc, city, f"{street} {number}, {postcode} {city}" if form < 0.8 else f"{street} {n}"))
    for fh in files.values():
        fh.close()
    return queries


# Peak resident memory from /proc (VmHWM): getrusage's ru_maxrss keeps the forking parent's
# high-water mark across exec.
_OPEN_PROBE = """
import re, sys, time
from pathlib import Path
t0 = time.perf_counter()
from opportunities.address_index import AddressIndex
index = AddressIndex.open(Path(sys.argv[1]))
found = index.locate(sys.argv[2], sys.argv[3], city=sys.argv[4])
elapsed = time.perf_counter() - t0
assert found is not None, "the probe address was not found"
status = open("/proc/self/status").read()
print(elapsed, int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1)) / 1024)
"""


def run(work_dir: Path, cache_dir: Path, size: int = 1_000_000) -> dict[str, Any]:
    work_dir.mkdir(parents=True, exist_ok=True)
    base = work_dir / "synthetic_addresses.csv"
    t0 = time.perf_counter()
    queries = write_synthetic(base, size)
    generate_s = time.perf_counter() - t0
    files = sorted(work_dir.glob("synthetic_addresses_*.csv"))
    index_dir = work_dir / "address-index"
    shutil.rmtree(index_dir, ignore_errors=True)
    gazetteer = Gazetteer.open(cache_dir)
    t0 = time.perf_counter()
    reports = load_files(files, index_dir, gazetteer)
    build_s = time.perf_counter() - t0
    cc, city, address = queries[0]
    probe = subprocess.run([sys.executable, "-c", _OPEN_PROBE, str(index_dir), address, cc, city],
                           check=True, capture_output=True, text=True, cwd=PROJECT_ROOT)  # fmt: skip
    open_s, open_rss_mb = (float(x) for x in probe.stdout.split())

    index = AddressIndex.open(index_dir)
    assert index is not None
    centres = {c: gazetteer.place(c, COUNTRY[c]) for c in COUNTRY}
    lookups = [(q, (centres[q[1]].latitude, centres[q[1]].longitude)) for q in queries]  # type: ignore[union-attr]
    rounds = max(1, 20_000 // len(lookups))
    found = 0
    t0 = time.perf_counter()
    for _ in range(rounds):
        for (cc, city, address), centre in lookups:
            found += index.locate(address, cc, city=city, centre=centre) is not None
    lookups_per_s = rounds * len(lookups) / (time.perf_counter() - t0)

    # The baseline: the file read with pandas, every query a scan of its columns.
    import pandas as pd

    t0 = time.perf_counter()
    frame = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)
    frame["key"] = frame["street"].map(fold)
    naive_open_s = time.perf_counter() - t0
    sample = queries[:50]
    t0 = time.perf_counter()
    for cc, city, address in sample:
        parsed = parse_address(address, cc)
        number = str(parsed.house.number) if parsed.house else ""
        rows = frame[frame["key"].str.endswith(parsed.streets[-1]) & (frame["housenumber"] == number)
                     & (frame["city"].map(town_key) == town_key(city))]  # fmt: skip
        _ = rows.head(1)
    naive_lookups_per_s = len(sample) / (time.perf_counter() - t0)
    return {
        "addresses": sum(r.points for r in reports),
        "generate_s": round(generate_s, 2),
        "build_s": round(build_s, 2),
        "open_s": round(open_s, 3),
        "open_peak_rss_mb": round(open_rss_mb, 1),
        "lookups_per_s": round(lookups_per_s),
        "found_share": round(found / (rounds * len(lookups)), 3),
        "naive_open_s": round(naive_open_s, 2),
        "naive_lookups_per_s": round(naive_lookups_per_s, 1),
        "lookup_speedup": round(lookups_per_s / naive_lookups_per_s),
        "open_speedup": round(naive_open_s / open_s, 1),
    }
