"""The in-memory index must give exactly the answers of the SQL search."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine

from opportunities.demo import load_demo
from opportunities.geocoding import Geocoder
from opportunities.importing import import_records
from opportunities.index import OpportunityIndex
from opportunities.recurrence import weekly_days
from opportunities.search import SearchQuery, search
from opportunities.storage import open_database
from opportunities.vocabulary import AGE_GROUPS, TOPICS, Mode, OpportunityType
from tests.conftest import Databases, template_row

TODAY = date(2026, 11, 23)
CENTRES = {"Kranj": (46.2389, 14.3556), "Göteborg": (57.7072, 11.9668), "Warszawa": (52.2298, 21.0118)}


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory: pytest.TempPathFactory, databases: Databases, geocoder: Geocoder) -> Iterator[Engine]:
    url = databases.create(tmp_path_factory.mktemp("index"))
    engine = open_database(url)
    load_demo(engine, geocoder, size=400, seed=11, today=TODAY)
    yield engine
    engine.dispose()
    databases.drop(url)


def random_query(rng: random.Random) -> SearchQuery:
    fields: dict[str, object] = {"limit": 10_000}
    if rng.random() < 0.4:
        fields["city"] = rng.choice(["Kranj", "kranj", "Göteborg", "Warszawa", "Płock", "Atlantis"])
    if rng.random() < 0.4:
        fields["topics"] = tuple(rng.sample(TOPICS, rng.randint(1, 3)))
    if rng.random() < 0.3:
        fields["age"] = rng.randint(0, 60)
    elif rng.random() < 0.3:
        fields["age_group"] = rng.choice(AGE_GROUPS).id
    if rng.random() < 0.3:
        fields["modes"] = tuple(rng.sample(list(Mode), rng.randint(1, 2)))
    if rng.random() < 0.2:
        fields["types"] = tuple(rng.sample(list(OpportunityType), rng.randint(1, 3)))
    if rng.random() < 0.3:
        fields["free_only"] = True
    if rng.random() < 0.2:
        fields["language"] = rng.choice(["sv", "sl", "pl", "en", "de"])
    if rng.random() < 0.1:
        fields["accessible_only"] = True
    if rng.random() < 0.5:
        start = TODAY + timedelta(days=rng.randint(-60, 120))
        fields["date_from"] = start
        if rng.random() < 0.7:
            fields["date_to"] = start + timedelta(days=rng.choice([0, 1, 3, 6, 7, 30]))
    if rng.random() < 0.3:
        fields["near"] = rng.choice(list(CENTRES.values()))
        fields["radius_km"] = rng.choice([1.0, 3.0, 10.0, 50.0])
    return SearchQuery(**fields)  # type: ignore[arg-type]


def test_index_matches_sql_search_on_random_queries(demo_engine: Engine) -> None:
    rng = random.Random(5)
    with demo_engine.connect() as conn:
        index = OpportunityIndex.load(conn)
        assert len(index) > 300
        for _ in range(300):
            query = random_query(rng)
            expected = [o.id for o in search(conn, query)]
            rows = index.ordered(index.mask(query, conn), query)
            assert index.ids[rows].tolist() == expected, query


def test_text_search_needs_the_database(demo_engine: Engine) -> None:
    with demo_engine.connect() as conn:
        index = OpportunityIndex.load(conn)
        query = SearchQuery(text="robot", limit=10_000)
        assert 0 < index.mask(query, conn).sum() == len(search(conn, query)) < len(index)
        with pytest.raises(ValueError, match="needs a database connection"):
            index.mask(query)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("FREQ=WEEKLY;BYDAY=MO", (0b1, 1)),
        ("FREQ=WEEKLY;BYDAY=WE,FR", (0b10100, 1)),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", (0b100, 2)),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;WKST=SU", (0, 0)),
        ("FREQ=WEEKLY;INTERVAL=20;BYDAY=WE", (0, 0)),
        ("FREQ=WEEKLY;BYDAY=WE;UNTIL=20270101T000000", (0, 0)),
        ("FREQ=MONTHLY;BYDAY=1SA", (0, 0)),
        ("FREQ=MINUTELY", (0, 0)),
        ("FREQ=WEEKLY", (0, 0)),
    ],
)
def test_weekly_rules_checked_without_expansion(rule: str, expected: tuple[int, int]) -> None:
    assert weekly_days(rule) == expected


def test_empty_index(engine: Engine) -> None:
    with engine.connect() as conn:
        index = OpportunityIndex.load(conn)
        query = SearchQuery(topics=("study",), near=(46.0, 14.0), date_from=TODAY)
        assert len(index) == 0
        assert index.ordered(index.mask(query, conn), query).tolist() == []


def test_snapshot_round_trip_and_version(demo_engine: Engine, tmp_path: pytest.TempPathFactory, geocoder: Geocoder) -> None:
    from pathlib import Path

    cache = Path(str(tmp_path))
    with demo_engine.connect() as conn:
        first = OpportunityIndex.cached(conn, cache)
        [snapshot] = list((cache / "search-index").glob("*.npz"))
        again = OpportunityIndex.cached(conn, cache)
    assert again.ids.tolist() == first.ids.tolist()
    assert again.schedules == first.schedules and again.city_names == first.city_names
    query = SearchQuery(topics=("digital-skills",), age=15, date_from=TODAY, limit=10_000)
    with demo_engine.connect() as conn:
        assert again.mask(query, conn).tolist() == first.mask(query, conn).tolist()
    # New data: a new snapshot replaces the old one.

    import_records(demo_engine, [template_row(title="Brand new")], geocoder, publish=True)
    with demo_engine.connect() as conn:
        fresh = OpportunityIndex.cached(conn, cache)
    assert len(fresh) == len(first) + 1
    assert not snapshot.exists()
    assert len(list((cache / "search-index").glob("*.npz"))) == 1


@pytest.mark.parametrize("limit", [1, 7, 50, 10_000])
def test_partial_order_is_a_prefix_of_the_full_order(demo_engine: Engine, limit: int) -> None:
    with demo_engine.connect() as conn:
        index = OpportunityIndex.load(conn)
    query = SearchQuery(limit=10_000)
    keep = index.mask(query)
    assert index.ordered(keep, query, limit).tolist() == index.ordered(keep, query)[:limit].tolist()


@pytest.fixture(scope="module")
def rules_engine(tmp_path_factory: pytest.TempPathFactory, databases: Databases, geocoder: Geocoder) -> Iterator[Engine]:
    """Published series with generated rules of every supported kind, plus two rows stored before
    rules were checked (a minutely and a secondly rule, written straight into the table)."""
    from sqlalchemy import update

    from opportunities.storage import opportunities
    from tests.test_recurrence import KINDS, generated_rule

    url = databases.create(tmp_path_factory.mktemp("rules"))
    engine = open_database(url)
    rng = random.Random(2)
    rows = []
    for kind in KINDS:
        for number in range(25):
            start = date(2026, 1, 1) + timedelta(days=rng.randint(0, 500))
            end = start + timedelta(days=rng.randint(0, 700)) if rng.random() < 0.5 else None
            hour = rng.choice(["", " 09:00", " 17:30"])
            rows.append(template_row(title=f"{kind} {number}", schedule=generated_rule(rng, kind), start=f"{start}{hour}",
                                     end=f"{end}" if end else ""))  # fmt: skip
    report = import_records(engine, rows, geocoder, publish=True)
    # Rules without any session between their start and end are rejected, the rest stored.
    assert report.stored > 150 and len(report.rejected) > 3 and all(r.field == "schedule" for r in report.rejected), report.rejected[:3]
    with engine.begin() as conn:
        for oid, legacy in zip(report.stored_ids[:2], ("FREQ=MINUTELY", "FREQ=SECONDLY"), strict=True):
            conn.execute(update(opportunities).where(opportunities.c.id == oid).values(schedule=legacy))
    yield engine
    engine.dispose()
    databases.drop(url)


def test_index_matches_sql_search_on_rules_of_every_kind(rules_engine: Engine) -> None:
    rng = random.Random(8)
    with rules_engine.connect() as conn:
        index = OpportunityIndex.load(conn)
        assert len(index.schedules) > 100  # most rows go through the recurrence module, not the weekly vectors
        for _ in range(150):
            date_from: date | None = date(2025, 12, 1) + timedelta(days=rng.randint(0, 1000))
            date_to: date | None = date_from + timedelta(days=rng.choice([0, 1, 2, 6, 7, 13, 30, 90, 365]))  # type: ignore[operator]
            if rng.random() < 0.15:
                date_from = None
            elif rng.random() < 0.15:
                date_to = None
            query = SearchQuery(date_from=date_from, date_to=date_to, limit=10_000)
            expected = [o.id for o in search(conn, query)]
            rows = index.ordered(index.mask(query, conn), query)
            assert index.ids[rows].tolist() == expected, query
