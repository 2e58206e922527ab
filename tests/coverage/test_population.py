"""A population layer (points or polygons, any CRS) aggregated onto districts, odd files refused."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from opportunities.coverage.boundaries import District
from opportunities.coverage.population import aggregate_population
from opportunities.errors import BoundaryFileError

# Two districts side by side in Warszawa, about 1.4 km wide each.
WEST = District("Zachód", box(21.00, 52.20, 21.02, 52.22))
EAST = District("Wschód", box(21.02, 52.20, 21.04, 52.22))


def test_points_count_once_in_the_district_that_holds_them_with_their_age_bands() -> None:
    layer = gpd.GeoDataFrame({"pop": [100, 50, 7, 1000], "pop_teens": [10, 5, 1, 100]},
                             geometry=[Point(21.01, 52.21), Point(21.03, 52.21), Point(21.02, 52.21),  # on the shared edge
                                       Point(22.0, 52.21)], crs=4326)  # outside: left out  # fmt: skip
    west, east = aggregate_population([WEST, EAST], layer.to_crs(2180), "pop")  # Polish CS92: any CRS
    # The edge point lands on either side after reprojection, but in one district only.
    assert (west.population, east.population) in {(107, 50), (100, 57)}
    assert west.population_by_age["teens"] + east.population_by_age["teens"] == 16


def test_a_point_on_a_shared_edge_counts_once() -> None:
    layer = gpd.GeoDataFrame({"pop": [7]}, geometry=[Point(21.02, 52.21)], crs=4326)
    west, east = aggregate_population([WEST, EAST], layer, "pop")
    assert west.population + east.population == 7


def test_polygons_are_split_by_area_share() -> None:
    square = box(21.01, 52.20, 21.03, 52.22)  # half in each district
    layer = gpd.GeoDataFrame({"population": [1000]}, geometry=[square], crs=4326)
    west, east = aggregate_population([WEST, EAST], layer, "population")
    assert west.population == pytest.approx(500, abs=2) and west.population + east.population == 1000


@pytest.mark.parametrize(("layer", "column", "message"), [
    (gpd.GeoDataFrame({"pop": [1]}, geometry=[Point(21.01, 52.21)]), "pop", "no coordinate reference system"),
    (gpd.GeoDataFrame({"pop": [1]}, geometry=[Point(21.01, 52.21)], crs=4326), "ludność", "no column 'ludność'"),
    (gpd.GeoDataFrame({"pop": [1, 2]}, geometry=[Point(21.01, 52.21), box(21, 52.2, 21.01, 52.21)], crs=4326), "pop",
     "only points or only polygons"),
    (gpd.GeoDataFrame({"pop": ["1 200"]}, geometry=[Point(21.01, 52.21)], crs=4326), "pop", "feature 1 has no population count"),
    (gpd.GeoDataFrame({"pop": [5, -3]}, geometry=[Point(21.01, 52.21)] * 2, crs=4326), "pop", "feature 2 has no population count"),
])  # fmt: skip
def test_a_bad_layer_is_refused_with_the_reason(layer: gpd.GeoDataFrame, column: str, message: str) -> None:
    with pytest.raises(BoundaryFileError, match=message):
        aggregate_population([WEST, EAST], layer, column)
