"""Coverage at 1,000,000 published opportunities: H3 counts with filters, district counts over
1,000 districts, deserts over 10,000 cells; each beside a plain geopandas baseline (an ``sjoin``
per request, a buffer-and-intersect desert search) in the same run.

The opportunities are columns of a search index built in memory (loading a million rows from the
database is the map benchmark's figure); cells and districts are assigned once, as the app does.
"""

from __future__ import annotations

import math
import time
from datetime import date
from typing import Any

import numpy as np
import shapely

from opportunities.coverage.boundaries import District
from opportunities.coverage.districts import CoverageFilter, CoverageIndex, grid_cells
from opportunities.explore.index import OpportunityIndex
from opportunities.model import City
from opportunities.vocabulary import TOPICS, Status

CITY = City(name="Bench", country="PL", latitude=52.2, longitude=21.0, timezone="Europe/Warsaw", id=1)
_EPOCH = date(1970, 1, 1)


def _index(n: int, rng: np.random.Generator) -> OpportunityIndex:
    lat = rng.normal(52.2, 0.08, n)
    lon = rng.normal(21.0, 0.12, n)
    start = rng.integers((date(2026, 1, 1) - _EPOCH).days, (date(2027, 6, 1) - _EPOCH).days, n).astype(np.int32)
    age_min = rng.integers(6, 30, n).astype(np.int16)
    return OpportunityIndex(
        ids=np.arange(1, n + 1, dtype=np.int64), latitude=lat, longitude=lon, city_id=np.ones(n, dtype=np.int32),
        topics=(1 << rng.integers(0, len(TOPICS), n)).astype(np.uint16), languages=np.zeros((n, 1), dtype=np.uint64),
        language_codes=(), age_min=age_min, age_max=(age_min + rng.integers(2, 10, n)).astype(np.int16),
        mode=np.zeros(n, dtype=np.int8), type=np.zeros(n, dtype=np.int8), precision=np.zeros(n, dtype=np.int8),
        uncertainty_m=rng.choice(np.array([10, 50, 1000, 5000], dtype=np.int32), n, p=[0.6, 0.3, 0.07, 0.03]),
        approximate=np.zeros(n, dtype=bool), free=rng.random(n) < 0.6, accessible=np.zeros(n, dtype=bool),
        start=start, end=start + rng.integers(0, 60, n).astype(np.int32), weekly=np.zeros(n, dtype=np.uint8),
        interval=np.ones(n, dtype=np.uint8), schedules={}, city_names={"bench": 1}, status=Status.PUBLISHED,
    )  # fmt: skip


def _districts() -> list[District]:
    """1,000 boxes (40 × 25) over the points' area."""
    lons = np.linspace(20.2, 21.8, 41)
    lats = np.linspace(51.93, 52.47, 26)
    return [
        District(
            name=f"d{i}-{j}",
            geometry=shapely.box(lons[i], lats[j], lons[i + 1], lats[j + 1]),
            population=10_000,
            id=i * 25 + j + 1,
            city_id=1,
        )
        for i in range(40)
        for j in range(25)
    ]


def _best(fn: Any, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def run(n: int = 1_000_000) -> dict[str, Any]:
    import geopandas as gpd

    rng = np.random.default_rng(5)
    index = _index(n, rng)
    districts = _districts()
    t = time.perf_counter()
    coverage = CoverageIndex.build([index], districts, [CITY])
    build_s = time.perf_counter() - t
    filt = CoverageFilter(city_ids=(1,), topics=("digital-skills", "arts-culture"), age_group="teens", free_only=True,
                          date_from=date(2026, 12, 1), date_to=date(2027, 2, 28))  # fmt: skip
    results: dict[str, Any] = {"opportunities": n, "districts": len(districts), "assign_once_s": round(build_s, 2)}
    results["h3_counts_s"] = round(_best(lambda: coverage.cell_counts(filt, 8)), 3)
    results["district_counts_s"] = round(_best(lambda: coverage.district_counts(filt)), 3)
    area = coverage.area([1])
    cells = grid_cells(area, 8)
    results["desert_cells"] = len(cells)
    everything = CoverageFilter(city_ids=(1,))
    results["h3_counts_unfiltered_s"] = round(_best(lambda: coverage.cell_counts(everything, 8)), 3)
    results["district_counts_unfiltered_s"] = round(_best(lambda: coverage.district_counts(everything)), 3)
    results["deserts_s"] = round(_best(lambda: coverage.deserts(filt, 0.5, resolution=8)), 3)
    matches = int(coverage._masks(filt)[0].sum())
    results["matches"] = matches

    # Baselines: what one would write with geopandas alone, per request.
    points = gpd.GeoDataFrame({"topics": index.topics, "off": index.uncertainty_m, "age_min": index.age_min, "age_max": index.age_max,
                               "free": index.free, "start": index.start, "end": index.end},
                              geometry=gpd.points_from_xy(index.longitude, index.latitude), crs=4326)  # fmt: skip
    polygons = gpd.GeoDataFrame({"district": [d.name for d in districts]}, geometry=[d.geometry for d in districts], crs=4326)
    lo, hi = (date(2026, 12, 1) - _EPOCH).days, (date(2027, 2, 28) - _EPOCH).days
    wanted = (1 << TOPICS.index("digital-skills")) | (1 << TOPICS.index("arts-culture"))

    def chosen() -> gpd.GeoDataFrame:
        keep = ((points["topics"] & wanted) != 0) & (points["age_min"] <= 17) & (points["age_max"] >= 13) & points["free"]
        keep &= (points["start"] <= hi) & (points["end"] >= lo)
        return points[keep]

    def precise(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return frame[frame["off"] <= 250]  # what our desert search counts at 0.5 km

    def baseline_districts() -> Any:
        return gpd.sjoin(chosen(), polygons, predicate="within").groupby("district").size()

    def baseline_deserts() -> Any:
        import h3

        centres = gpd.GeoDataFrame(
            geometry=gpd.points_from_xy([h3.cell_to_latlng(c)[1] for c in cells], [h3.cell_to_latlng(c)[0] for c in cells]),
            crs=4326,
        ).to_crs(2180)
        buffers = centres.buffer(500)
        near = gpd.sjoin(gpd.GeoDataFrame(geometry=buffers, crs=2180), precise(chosen()).to_crs(2180), predicate="intersects")
        return len(cells) - near.index.nunique()

    results["baseline_district_counts_unfiltered_s"] = round(
        _best(lambda: gpd.sjoin(points, polygons, predicate="within").groupby("district").size(), 1), 3
    )
    results["baseline_district_counts_s"] = round(_best(baseline_districts, 1), 3)
    results["baseline_deserts_s"] = round(_best(baseline_deserts, 1), 3)
    t = time.perf_counter()
    import h3

    matched = chosen()
    [h3.latlng_to_cell(y, x, 8) for x, y in zip(matched.geometry.x, matched.geometry.y, strict=True)]
    results["baseline_h3_counts_s"] = round(time.perf_counter() - t, 3)
    check = baseline_deserts()
    ours = int(coverage.deserts(filt, 0.5, resolution=8)["desert"].sum())
    results["deserts_agree"] = bool(abs(check - ours) <= max(2, math.ceil(0.002 * len(cells))))
    return results
