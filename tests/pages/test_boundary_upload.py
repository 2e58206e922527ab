"""A city lead replaces their city's districts from a checked file: audited, their cities only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from opportunities.accounts import audit
from opportunities.coverage.boundaries import load_districts, read_boundary_file, replace_city_districts
from opportunities.errors import ForbiddenError
from tests.conftest import World

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def boundary_file(tmp_path: Path) -> Path:
    path = tmp_path / "stadsdelar.geojson"
    gpd.GeoDataFrame({"namn": ["Centrum", "Hisingen"], "folkmangd": [60_000, 140_000]},
                     geometry=[box(11.95, 57.69, 11.99, 57.72), box(11.85, 57.72, 11.99, 57.78)], crs=4326).to_file(path)  # fmt: skip
    return path


def test_a_lead_replaces_their_citys_districts_and_it_is_audited(world: World, tmp_path: Path) -> None:
    read = read_boundary_file(boundary_file(tmp_path))
    assert replace_city_districts(world.engine, world.lead_gbg, world.gbg, read, now=NOW, file_name="stadsdelar.geojson") == 2
    with world.engine.connect() as conn:
        assert sorted((d.name, d.population) for d in load_districts(conn, [world.gbg])) == [
            ("Centrum", 60_000),
            ("Hisingen", 140_000),
        ]
        [entry] = audit.entries(conn, world.lead_gbg, entity="city", entity_id=world.gbg)
    assert (entry.action, entry.actor, entry.city_id) == ("replace_districts", "lead@goteborg.example", world.gbg)
    assert entry.before == {"districts": 0}
    assert entry.after is not None and entry.after["districts"] == 2 and entry.after["with_population"] == 2


@pytest.mark.parametrize("who", ["lead_kranj", "librarian", "disabled_lead", "nobody"])
def test_anyone_else_changes_nothing(world: World, tmp_path: Path, who: str) -> None:
    read = read_boundary_file(boundary_file(tmp_path))
    with pytest.raises(ForbiddenError):
        replace_city_districts(
            world.engine, None if who == "nobody" else getattr(world, who), world.gbg, read, now=NOW, file_name="x.geojson"
        )
    with world.engine.connect() as conn:
        assert load_districts(conn, [world.gbg]) == []
        assert audit.entries(conn, world.admin, entity="city") == []


def test_an_admin_may_replace_any_citys_districts(world: World, tmp_path: Path) -> None:
    read = read_boundary_file(boundary_file(tmp_path))
    assert replace_city_districts(world.engine, world.admin, world.kranj, read, now=NOW, file_name="x.geojson") == 2
