from __future__ import annotations

import numpy as np
import pytest

from maps.clusters import (
    MAX_MARKER_ZOOM,
    Bounds,
    Clusters,
    cluster_points,
    first_topic,
    merge_overlapping,
    metres_per_pixel,
    zoom_for,
)


def points(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lat = 46.24 + rng.normal(0, 0.05, n)
    lon = 14.36 + rng.normal(0, 0.05, n)
    topic = rng.integers(0, 14, n)
    return lat, lon, topic


def test_every_point_is_in_exactly_one_feature() -> None:
    lat, lon, topic = points(10_000)
    for zoom in (3, 8, 11, 13, 15):
        clusters = cluster_points(lat, lon, topic, zoom=zoom)
        assert clusters.total == 10_000
        assert len(set(clusters.singles.tolist())) == len(clusters.singles)


def test_low_zoom_collapses_a_town_into_one_cluster() -> None:
    lat, lon, topic = points(10_000)
    clusters = cluster_points(lat, lon, topic, zoom=4)
    assert len(clusters.count) <= 2
    assert clusters.latitude[clusters.count.argmax()] == pytest.approx(46.24, abs=0.01)


def test_high_zoom_gives_markers() -> None:
    lat, lon, topic = points(500)
    clusters = cluster_points(lat, lon, topic, zoom=MAX_MARKER_ZOOM)
    assert len(clusters.count) == 0
    assert len(clusters.singles) == 500


def test_bounds_limit_the_points_and_nan_is_skipped() -> None:
    lat = np.array([46.0, 46.5, np.nan, 47.0])
    lon = np.array([14.0, 14.5, np.nan, 15.0])
    clusters = cluster_points(lat, lon, np.zeros(4, dtype=np.int64), zoom=18, bounds=Bounds(45.9, 13.9, 46.6, 14.6))
    assert clusters.singles.tolist() == [0, 1]


def test_dominant_topic() -> None:
    lat = np.full(5, 46.0)
    lon = np.full(5, 14.0)
    clusters = cluster_points(lat, lon, np.array([3, 3, 3, 1, 2]), zoom=10)
    assert clusters.count.tolist() == [5]
    assert clusters.topic.tolist() == [3]


def test_first_topic_and_antimeridian() -> None:
    assert first_topic(np.array([0b1000, 0b110, 0], dtype=np.uint16)).tolist() == [3, 1, -1]
    # The filtered topics come first when a point has one of them; else its own lowest topic.
    assert first_topic(np.array([0b1000, 0b110, 0b1, 0], dtype=np.uint16), preferred=0b1100).tolist() == [3, 2, 0, -1]
    inside = Bounds(-10, 170, 10, -170).contains(np.array([0.0, 0.0]), np.array([175.0, 0.0]))
    assert inside.tolist() == [True, False]


def test_zoom_for_fits_the_bounds() -> None:
    assert zoom_for(Bounds(46.2, 14.3, 46.3, 14.4)) >= 11
    assert zoom_for(Bounds(45.0, 10.0, 62.0, 22.0)) <= 5


def test_a_point_that_must_not_stand_alone_makes_its_cell_a_cluster() -> None:
    """An approximate location is never a pin: alone in its cell it is a cluster of one."""
    lat = np.array([46.0, 47.0, 47.0001, 48.0])
    lon = np.array([14.0, 15.0, 15.0001, 16.0])
    never_single = np.array([True, False, False, False])
    clusters = cluster_points(lat, lon, np.zeros(4, dtype=np.int64), zoom=10, never_single=never_single)
    assert sorted(clusters.count.tolist()) == [1, 2]
    assert clusters.singles.tolist() == [3]
    assert clusters.total == 4


@pytest.mark.parametrize(("latitude", "zoom", "metres"), [(0.0, 0, 156_543.03), (60.0, 10, 76.44), (46.05, 14, 6.631)])
def test_metres_per_pixel(latitude: float, zoom: int, metres: float) -> None:
    assert metres_per_pixel(np.array([latitude]), zoom)[0] == pytest.approx(metres, rel=1e-3)


def test_clusters_whose_bubbles_overlap_are_merged() -> None:
    """A town astride a grid line makes two cells; their bubbles must not cover each other's counts."""
    lat = np.array([46.05, 46.05, 46.05, 46.05, 46.05, 50.0, 50.0])
    lon = np.array([14.49, 14.49, 14.49, 14.51, 14.51, 20.0, 20.0])  # 14.5 is no grid line at zoom 6, but near one
    clusters = Clusters(lat[[0, 3, 5]], lon[[0, 3, 5]], np.array([3, 2, 2]), np.array([1, 4, 2]), np.empty(0, dtype=np.int64))
    merged = merge_overlapping(clusters, zoom=6, radius_px=lambda count: np.full(len(count), 18.0))
    assert sorted(merged.count.tolist()) == [2, 5]
    town = int(merged.count.argmax())
    assert merged.topic[town] == 1  # the larger one's
    assert merged.longitude[town] == pytest.approx((14.49 * 3 + 14.51 * 2) / 5)
    apart = merge_overlapping(clusters, zoom=16, radius_px=lambda count: np.full(len(count), 18.0))
    assert sorted(apart.count.tolist()) == [2, 2, 3]
