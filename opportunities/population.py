"""A separate population layer aggregated onto a city's districts.

Points (census points, grid centroids) count in the district that holds them; polygons (grid
squares, statistical areas) are split by the share of their area in each district, measured in
the equal-area ETRS89-LAEA projection (EPSG:3035, the projection of Eurostat's population grid).
Age bands: columns named like the boundary files' (``population_teens``, ``pop_teens``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from opportunities.boundaries import AGE_BAND_PREFIXES, District
from opportunities.errors import BoundaryFileError, Reason
from opportunities.i18n import N_
from opportunities.vocabulary import AGE_GROUPS

EQUAL_AREA_CRS = "EPSG:3035"


def _band_columns(layer: gpd.GeoDataFrame) -> dict[str, str]:
    """Age group id → the layer's column with its residents."""
    found: dict[str, str] = {}
    for group in AGE_GROUPS:
        for prefix in AGE_BAND_PREFIXES:
            if f"{prefix}{group.id}" in layer.columns:
                found[group.id] = f"{prefix}{group.id}"
                break
    return found


def _counts(layer: gpd.GeoDataFrame, column: str, name: str) -> npt.NDArray[np.float64]:
    values = pd.to_numeric(layer[column], errors="coerce")
    if values.isna().any() or (values < 0).any():
        bad = int(np.flatnonzero(values.isna().to_numpy() | (values < 0).to_numpy())[0]) + 1
        raise BoundaryFileError(name, Reason(N_("feature {number} has no population count in {column} (a number, 0 or more)"),
                                            {"number": bad, "column": repr(column)}))
    counts: npt.NDArray[np.float64] = values.to_numpy(dtype=np.float64)
    return counts


def aggregate_population(districts: Sequence[District], layer: gpd.GeoDataFrame, column: str, *, name: str = "population layer") -> list[District]:
    """``districts`` with the residents of ``layer`` (points or polygons, any CRS) in ``column`` and
    its age-band columns summed per district, rounded to whole people. Residents outside every
    district are left out. :class:`BoundaryFileError` (nothing changes) for a layer without a CRS,
    without ``column``, with mixed or other geometries, or with a count that is not a number."""
    if layer.crs is None:
        raise BoundaryFileError(name, Reason(N_("has no coordinate reference system")))
    if column not in layer.columns:
        raise BoundaryFileError(name, Reason(N_("has no column {column}"), {"column": repr(column)}))
    kinds = set(layer.geom_type.dropna())
    points = kinds <= {"Point", "MultiPoint"}
    if not kinds or not (points or kinds <= {"Polygon", "MultiPolygon"}):
        raise BoundaryFileError(name, Reason(N_("needs only points or only polygons, not {kinds}"), {"kinds": ", ".join(sorted(kinds))})
                                if kinds else Reason(N_("holds no points and no polygons")))
    bands = _band_columns(layer)
    columns = {"": column, **bands}
    values = {key: _counts(layer, col, name) for key, col in columns.items()}
    areas = gpd.GeoSeries([d.geometry for d in districts], crs="EPSG:4326").to_crs(EQUAL_AREA_CRS)
    shapes = layer.geometry.to_crs(EQUAL_AREA_CRS)
    totals = {key: np.zeros(len(districts)) for key in columns}
    counted = np.zeros(len(shapes), dtype=bool)
    for position, area in enumerate(areas):
        if points:
            # A point on a shared edge counts once: in the first district that covers it.
            inside = shapes.covered_by(area).to_numpy() & ~counted
            counted |= inside
            share = inside.astype(float)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.nan_to_num(shapes.intersection(area).area.to_numpy() / shapes.area.to_numpy())
        for key in columns:
            totals[key][position] = float(np.dot(share, values[key]))
    return [replace(d, population=round(float(totals[""][i])),
                    population_by_age={g: round(float(totals[g][i])) for g in bands}) for i, d in enumerate(districts)]  # fmt: skip
