"""The matches of a search, as the Explore page keeps them for every visitor."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import Engine

from opportunities.explore.index import OpportunityIndex
from opportunities.explore.matches import digest, find_matches
from opportunities.explore.search import SearchQuery
from opportunities.listings.importing import import_records
from opportunities.places.geocoding import Geocoder
from tests.conftest import template_row


@pytest.fixture
def index(engine: Engine, geocoder: Geocoder) -> OpportunityIndex:
    rows = [template_row(title=f"Club {i}", city="Kranj", country="SI", address="", cost="0" if i % 2 else "10",
                         currency="" if i % 2 else "EUR") for i in range(6)]  # fmt: skip
    rows.append(template_row(title="Online club", city="Kranj", country="SI", address="", mode="online", cost="0"))
    assert import_records(engine, rows, geocoder, publish=True).stored == len(rows)
    with engine.connect() as conn:
        return OpportunityIndex.load(conn)


@pytest.mark.parametrize(("query", "total", "online"), [(SearchQuery(), 7, 1), (SearchQuery(free_only=True), 4, 1)])
def test_matches_count_what_the_index_query_finds(
    engine: Engine, index: OpportunityIndex, query: SearchQuery, total: int, online: int
) -> None:
    with engine.connect() as conn:
        found = find_matches(index, query, conn)
        assert np.array_equal(found.keep, index.mask(query, conn))
    assert (found.total, found.online) == (total, online)
    assert found.digest == digest(found.keep)


def test_shared_matches_cannot_be_changed(engine: Engine, index: OpportunityIndex) -> None:
    found = find_matches(index, SearchQuery())
    with pytest.raises(ValueError, match="read-only"):
        found.keep[0] = False


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [([True, False, True], [True, False, True], True), ([True, False, True], [True, True, True], False), ([], [], True)],
)
def test_equal_matches_have_equal_digests(a: list[bool], b: list[bool], same: bool) -> None:
    assert (digest(np.array(a, dtype=bool)) == digest(np.array(b, dtype=bool))) is same
