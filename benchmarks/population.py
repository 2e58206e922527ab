"""A population layer onto Warszawa's 18 real districts: 100,000 and 1,000,000 census points, and
10,000 grid squares of 250 m, each beside a plain per-district loop (a ``covered_by`` or an
``intersection`` of the whole layer with each district, as the first version did) in the same run.
"""

from __future__ import annotations

import time
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from opportunities.coverage.boundaries import demo_districts
from opportunities.coverage.population import EQUAL_AREA_CRS, aggregate_population


def _baseline(districts: list[Any], layer: gpd.GeoDataFrame, column: str, points: bool) -> float:
    areas = gpd.GeoSeries([d.geometry for d in districts], crs=4326).to_crs(EQUAL_AREA_CRS)
    shapes = layer.geometry.to_crs(EQUAL_AREA_CRS)
    values = layer[column].to_numpy(dtype=float)
    counted = np.zeros(len(shapes), dtype=bool)
    total = 0.0
    for area in areas:
        if points:
            inside = shapes.covered_by(area).to_numpy() & ~counted
            counted |= inside
            share = inside.astype(float)
        else:
            share = shapes.intersection(area).area.to_numpy() / shapes.area.to_numpy()
        total += float(np.dot(share, values))
    return total


def _timed(run: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    found = run()
    return time.perf_counter() - start, found


def run(sizes: tuple[int, ...] = (100_000, 1_000_000), squares: int = 10_000) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    districts = demo_districts("Warszawa")
    minx, miny, maxx, maxy = shapely.union_all([d.geometry for d in districts]).bounds
    results: dict[str, Any] = {}
    layers = {f"points_{n}": gpd.GeoDataFrame({"pop": rng.integers(0, 50, n)},
                                              geometry=gpd.points_from_xy(rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)),
                                              crs=4326) for n in sizes}  # fmt: skip
    side = 250.0
    origin = gpd.GeoSeries(gpd.points_from_xy([minx], [miny]), crs=4326).to_crs(EQUAL_AREA_CRS)[0]
    per_row = int(np.sqrt(squares))
    grid = [shapely.box(origin.x + i * side, origin.y + j * side, origin.x + (i + 1) * side, origin.y + (j + 1) * side)
            for i in range(per_row) for j in range(per_row)]  # fmt: skip
    layers[f"squares_{len(grid)}"] = gpd.GeoDataFrame({"pop": rng.integers(0, 400, len(grid))}, geometry=grid, crs=EQUAL_AREA_CRS)
    for name, layer in layers.items():
        points = name.startswith("points")
        ours_s, found = _timed(lambda layer=layer: aggregate_population(districts, layer, "pop"))
        base_s, total = _timed(lambda layer=layer, points=points: _baseline(districts, layer, "pop", points))
        ours_total = sum(d.population or 0 for d in found)
        assert abs(ours_total - total) <= len(districts), (ours_total, total)  # the same residents, rounded per district
        results[name] = {"seconds": round(ours_s, 3), "baseline_seconds": round(base_s, 3), "speedup": round(base_s / ours_s, 1)}
        print("population", name, results[name], flush=True)
    return results
