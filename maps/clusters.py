"""Server-side clustering: a million points become a few hundred map features.

Points are binned on a grid whose cell is a fixed number of screen pixels at the current zoom
(Web Mercator), within the visible bounds. A cell holding one point stays a marker; a fuller cell
becomes one cluster at the mean position of its points, labelled with its count and coloured by
its most common topic. The browser then draws at most ``max_features`` features at any size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

TILE_PX = 256
CLUSTER_PX = 60  # a cluster gathers the points within about this many pixels
EARTH_CIRCUMFERENCE_M = 40_075_016.686  # at the equator, as Web Mercator takes it
MAX_MARKER_ZOOM = 16  # from this zoom on, points are never clustered


@dataclass(frozen=True)
class Bounds:
    """A visible area: south, west, north, east in degrees."""

    south: float
    west: float
    north: float
    east: float

    @classmethod
    def around(cls, latitudes: npt.NDArray[np.float64], longitudes: npt.NDArray[np.float64]) -> Bounds | None:
        """The smallest bounds holding every finite point, or None when there is none."""
        finite = np.isfinite(latitudes) & np.isfinite(longitudes)
        if not finite.any():
            return None
        lat, lon = latitudes[finite], longitudes[finite]
        return cls(float(lat.min()), float(lon.min()), float(lat.max()), float(lon.max()))

    def contains(self, latitudes: npt.NDArray[np.float64], longitudes: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        inside_lat = (latitudes >= self.south) & (latitudes <= self.north)
        if self.west <= self.east:
            inside_lon = (longitudes >= self.west) & (longitudes <= self.east)
        else:  # the view crosses the antimeridian
            inside_lon = (longitudes >= self.west) | (longitudes <= self.east)
        return np.asarray(inside_lat & inside_lon, dtype=bool)


@dataclass(frozen=True)
class Clusters:
    """Grid clusters (count ≥ 2) and single points (row numbers into the caller's arrays)."""

    latitude: npt.NDArray[np.float64]
    longitude: npt.NDArray[np.float64]
    count: npt.NDArray[np.int64]
    topic: npt.NDArray[np.int64]  # most common topic bit index in the cluster
    singles: npt.NDArray[np.int64]

    @property
    def total(self) -> int:
        return int(self.count.sum()) + len(self.singles)


def _mercator(
    latitudes: npt.NDArray[np.float64], longitudes: npt.NDArray[np.float64], zoom: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    scale = TILE_PX * 2.0**zoom
    x = (longitudes + 180.0) / 360.0 * scale
    lat = np.radians(np.clip(latitudes, -85.05112878, 85.05112878))
    y = (1.0 - np.log(np.tan(lat) + 1.0 / np.cos(lat)) / math.pi) / 2.0 * scale
    return x, y


def pixels(latitudes: npt.NDArray[np.float64], longitudes: npt.NDArray[np.float64], zoom: int) -> npt.NDArray[np.float64]:
    """Screen positions (x, y in pixels of the whole world map at ``zoom``), one row per point."""
    x, y = _mercator(latitudes, longitudes, zoom)
    return np.column_stack([x, y])


def metres_per_pixel(latitudes: npt.NDArray[np.float64], zoom: int) -> npt.NDArray[np.float64]:
    """How many metres on the ground one screen pixel spans at these latitudes and ``zoom``."""
    return np.asarray(EARTH_CIRCUMFERENCE_M * np.cos(np.radians(latitudes)) / (TILE_PX * 2.0**zoom), dtype=np.float64)


def first_topic(topic_bits: npt.NDArray[np.unsignedinteger], preferred: int = 0) -> npt.NDArray[np.int64]:
    """Index of the topic that colours each point (-1 when it has none).

    The lowest set bit among ``preferred`` (the topics the visitor filtered for) when the point
    has one of them, else its lowest set bit: a pin found by a "digital skills" filter is drawn
    in that topic's colour even when it also teaches arts.
    """
    bits = topic_bits.astype(np.int64)
    wanted = bits & int(preferred)
    bits = np.where(wanted != 0, wanted, bits)
    lowest = bits & -bits
    out = np.full(len(bits), -1, dtype=np.int64)
    nonzero = lowest > 0
    out[nonzero] = np.log2(lowest[nonzero]).astype(np.int64)
    return out


def cluster_points(
    latitudes: npt.NDArray[np.float64],
    longitudes: npt.NDArray[np.float64],
    topics: npt.NDArray[np.int64],
    *,
    zoom: int,
    bounds: Bounds | None = None,
    singles_below: int = 2,
    never_single: npt.NDArray[np.bool_] | None = None,
) -> Clusters:
    """Cluster the points (inside ``bounds`` when given) on a pixel grid at ``zoom``.

    ``topics`` holds one topic index per point; cells with fewer than ``singles_below`` points
    are returned as single points, unless they hold a point marked in ``never_single`` (one
    that must not be drawn as a pin of its own: an approximate location): such a cell is a
    cluster whatever its count, even of one.
    """
    rows = np.flatnonzero(np.isfinite(latitudes) & np.isfinite(longitudes))
    if bounds is not None:
        rows = rows[bounds.contains(latitudes[rows], longitudes[rows])]
    empty_f, empty_i = np.empty(0, dtype=np.float64), np.empty(0, dtype=np.int64)
    if len(rows) == 0:
        return Clusters(empty_f, empty_f, empty_i, empty_i, empty_i)
    if zoom >= MAX_MARKER_ZOOM and (never_single is None or not never_single[rows].any()):
        return Clusters(empty_f, empty_f, empty_i, empty_i, rows.astype(np.int64))
    x, y = _mercator(latitudes[rows], longitudes[rows], zoom)
    cx = np.floor(x / CLUSTER_PX).astype(np.int64)
    cy = np.floor(y / CLUSTER_PX).astype(np.int64)
    # Number the occupied cells 0..k-1. The visible grid is small (a screen's worth of cells),
    # so counting into it with bincount is linear; an unusually wide area falls back to sorting.
    x0, y0 = int(cx.min()), int(cy.min())
    width, height = int(cx.max()) - x0 + 1, int(cy.max()) - y0 + 1
    if width * height <= 4_000_000:
        flat = (cx - x0) * height + (cy - y0)
        occupied = np.bincount(flat, minlength=width * height)
        cells = np.flatnonzero(occupied)
        renumber = np.zeros(width * height, dtype=np.int64)
        renumber[cells] = np.arange(len(cells))
        inverse, counts = renumber[flat], occupied[cells]
    else:
        _, inverse, counts = np.unique((cx << 32) + cy, return_inverse=True, return_counts=True)
    is_cluster = counts >= singles_below
    if never_single is not None:
        is_cluster |= np.bincount(inverse, weights=never_single[rows], minlength=len(counts)) > 0
    single = ~is_cluster[inverse]
    singles = rows[single].astype(np.int64)
    grouped = ~single
    if not grouped.any():
        return Clusters(empty_f, empty_f, empty_i, empty_i, singles)
    # Renumber the cells that become clusters 0..k-1.
    cluster_number = np.cumsum(is_cluster) - 1
    cluster_of = cluster_number[inverse[grouped]]
    k = int(is_cluster.sum())
    count = counts[is_cluster].astype(np.int64)
    lat = np.bincount(cluster_of, weights=latitudes[rows][grouped], minlength=k) / count
    lon = np.bincount(cluster_of, weights=longitudes[rows][grouped], minlength=k) / count
    # Most common topic per cluster: count (cluster, topic) pairs, keep the largest per cluster.
    topic = topics[rows][grouped]
    n_topics = int(topic.max()) + 2 if len(topic) else 1
    pair_counts = np.bincount(cluster_of * n_topics + (topic + 1), minlength=k * n_topics).reshape(k, n_topics)
    dominant = pair_counts.argmax(axis=1).astype(np.int64) - 1
    return Clusters(lat, lon, count, dominant, singles)


def merge_overlapping(
    clusters: Clusters, *, zoom: int, radius_px: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.float64]]
) -> Clusters:
    """``clusters`` with any two whose bubbles would overlap on screen at ``zoom`` merged into one.

    A town astride a grid line falls into two cells, and their bubbles (``radius_px`` of a count)
    cover each other's counts. The larger absorbs the smaller, at their weighted mean position,
    keeping its topic; repeated until no two overlap (at most one merge fewer each round).
    """
    lat, lon, count, topic = clusters.latitude, clusters.longitude, clusters.count, clusters.topic
    while len(count) > 1:
        xy = pixels(lat, lon, zoom)
        reach = radius_px(count)
        distance = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
        overlap = distance < reach[:, None] + reach[None, :]
        np.fill_diagonal(overlap, False)
        if not overlap.any():
            break
        # The largest cluster that overlaps another absorbs every one overlapping it.
        order = np.lexsort((np.arange(len(count)), -count))
        big = int(next(i for i in order if overlap[i].any()))
        group = np.flatnonzero(overlap[big] | (np.arange(len(count)) == big))
        weights = count[group].astype(np.float64)
        merged_lat = float((lat[group] * weights).sum() / weights.sum())
        merged_lon = float((lon[group] * weights).sum() / weights.sum())
        rest = np.setdiff1d(np.arange(len(count)), group)
        lat = np.append(lat[rest], merged_lat)
        lon = np.append(lon[rest], merged_lon)
        topic = np.append(topic[rest], topic[big])
        count = np.append(count[rest], count[group].sum())
    return Clusters(lat, lon, count, topic, clusters.singles)


def zoom_for(bounds: Bounds, width_px: int = 800, height_px: int = 500) -> int:
    """The largest zoom at which ``bounds`` fits in a view of the given size (0–18)."""
    for zoom in range(18, -1, -1):
        x, y = _mercator(np.array([bounds.south, bounds.north]), np.array([bounds.west, bounds.east]), zoom)
        if abs(x[1] - x[0]) <= width_px and abs(y[1] - y[0]) <= height_px:
            return zoom
    return 0
