from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from opportunities.db import connection, queries, schema
from opportunities.errors import NotFoundError
from opportunities.explore.search import SearchQuery, search
from opportunities.listings.importing import import_records
from opportunities.places.geocoding import Geocoder
from opportunities.vocabulary import Status
from tests.conftest import sqlite_only, template_row


def test_migrations_build_exactly_the_declared_schema(database_url: str) -> None:
    engine = connection.open_database(database_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []
    assert connection.is_schema_current(engine)
    engine.dispose()


def test_older_database_is_upgraded_without_losing_data(database_url: str) -> None:
    engine = connection.create_db_engine(database_url)
    connection.migrate(engine, "0001")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO cities (id, name, name_key, country, latitude, longitude, timezone) "
                          "VALUES (1, 'Kranj', 'kranj', 'SI', 46.24, 14.36, 'Europe/Ljubljana')"))  # fmt: skip
        conn.execute(text("INSERT INTO providers (id, name, name_key, kind, website, contact_email) "
                          "VALUES (1, 'MC Kranj', 'mc kranj', 'youth-centre', '', '')"))  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO opportunities (id, title, description, provider_id, city_id, venue, address, latitude, "
                "longitude, location_precision, location_source, age_min, mode, type, start_date, schedule, cost, "
                "currency, url, contact_email, status, dedup_key, created_at, updated_at) VALUES (1, 'Robotika', '', "
                "1, 1, '', '', 46.24, 14.36, 'provided', 'provider', 13, 'in-person', 'workshop', '2026-12-10', '', 0, "
                "'', '', '', 'published', 'k1', :now, :now)"
            ),
            {"now": now},
        )
        conn.execute(text("INSERT INTO opportunity_topics VALUES (1, 'digital-skills')"))
    assert connection.schema_revision(engine) == "0001"

    connection.migrate(engine)
    assert connection.is_schema_current(engine)
    with engine.connect() as conn:
        opp = queries.get_opportunity(conn, 1)
    assert (opp.title, opp.city, opp.provider, opp.topics) == ("Robotika", "Kranj", "MC Kranj", ("digital-skills",))
    assert opp.accessibility == "" and opp.verified_at is None
    engine.dispose()


def test_trust_given_before_trust_was_per_city_stays_in_the_organisations_own_city(database_url: str) -> None:
    """Migration 0008: an organisation trusted by the old every-city flag keeps its trust in its own city only."""
    engine = connection.create_db_engine(database_url)
    try:
        connection.migrate(engine, "0007")
        with connection.writing(engine) as conn:
            conn.execute(
                text(
                    "INSERT INTO cities (id, name, name_key, country, latitude, longitude, timezone) "
                    "VALUES (1, 'Płock', 'plock', 'PL', 52.5, 19.7, 'Europe/Warsaw')"
                )
            )
            conn.execute(text("INSERT INTO providers (id, name, name_key, kind, city_id, website, contact_email, trusted) "
                              "VALUES (1, 'Klub', 'klub', 'ngo', 1, '', '', TRUE), (2, 'Inny', 'inny', 'ngo', 1, '', '', FALSE)"))  # fmt: skip
        connection.migrate(engine)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT provider_id, city_id FROM organisation_trust")).all()
        assert [tuple(r) for r in rows] == [(1, 1)]
    finally:
        engine.dispose()


def _old_dedup_key(*parts: str) -> str:
    """A dedup key as revisions up to 0003 stored it (the folded parts given literally)."""
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def test_migration_0004_recomputes_keys_with_the_new_folding(database_url: str, geocoder: Geocoder) -> None:
    engine = connection.create_db_engine(database_url)
    connection.migrate(engine, "0003")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    kyiv_start = "2027-01-16T10:00:00"
    with engine.begin() as conn:
        # Keys as the old fold() made them: Cyrillic folded to "", a soft hyphen split a word.
        conn.execute(text("INSERT INTO cities (id, name, name_key, country, latitude, longitude, timezone) VALUES "
                          "(1, 'Göteborg', 'goteborg', 'SE', 57.70716, 11.96679, 'Europe/Stockholm'), "
                          "(2, 'Београд', '', 'RS', 44.80401, 20.46513, 'Europe/Belgrade')"))  # fmt: skip
        conn.execute(
            text("INSERT INTO providers (id, name, name_key, kind, website, contact_email) VALUES (:i, :n, :k, 'other', '', '')"),
            [
                {"i": 1, "n": "Центр «Нова школа»", "k": ""},
                # Takes the key "kod klubb" that provider 3 gives up in the same migration.
                {"i": 2, "n": "Ko\u00add klubb", "k": "ko d klubb"},
                {"i": 3, "n": "Kod\u00adklubb", "k": "kod klubb"},
                # The new folding makes 3 and 4 equal ("kodklubb"): 3, the older, keeps the key.
                {"i": 4, "n": "Kodklubb", "k": "kodklubb"},
            ],
        )
        conn.execute(
            text(
                "INSERT INTO opportunities (id, title, description, provider_id, city_id, venue, address, latitude, "
                "longitude, location_precision, location_source, age_min, mode, type, start_date, start_time, schedule, "
                "cost, currency, url, contact_email, accessibility, status, dedup_key, created_at, updated_at) VALUES "
                "(:i, :t, :d, :p, 1, '', '', 57.7072, 11.9668, 'provided', 'provider', 12, 'in-person', 'course', "
                "'2027-01-16', '10:00:00', '', 0, '', '', '', '', 'published', :k, :now, :now)"
            ),
            [
                {"i": 1, "t": "Кодування для підлітків", "d": "Scratch і Python", "p": 1,
                 "k": _old_dedup_key("", "", kyiv_start, "57.7072,11.9668"), "now": now},
                {"i": 2, "t": "C# for beginners", "d": "", "p": 4,
                 "k": _old_dedup_key("kodklubb", "c for beginners", kyiv_start, "57.7072,11.9668"), "now": now},
            ],
        )  # fmt: skip
        if conn.dialect.name == "postgresql":  # rows were inserted with their ids: move the sequences on
            for table in ("cities", "providers", "opportunities"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 100)"))

    connection.migrate(engine)
    assert connection.is_schema_current(engine)
    with engine.connect() as conn:
        assert dict(conn.execute(text("SELECT id, name_key FROM cities")).all()) == {1: "goteborg", 2: "београд"}
        assert dict(conn.execute(text("SELECT id, name_key FROM providers")).all()) == {
            1: "центр нова школа", 2: "kod klubb", 3: "kodklubb", 4: "kodklubb #4"}  # fmt: skip
        assert queries.find_city(conn, "БЕОГРАД", "RS") is not None
        stored = queries.get_opportunities(conn, [1, 2])
        assert [o.dedup_key for o in stored] == list(
            conn.execute(text("SELECT dedup_key FROM opportunities ORDER BY id")).scalars()
        )
    with engine.connect() as conn:
        assert [o.title for o in search(conn, SearchQuery(text="КОДУВАННЯ"))] == ["Кодування для підлітків"]

    # The same row is still a duplicate; the title the old folding took for it is now new.
    row = template_row(title="Кодування для підлітків", description="Scratch і Python", provider="Центр «Нова школа»",
                       latitude="57.7072", longitude="11.9668", address="", start="2027-01-16 10:00", schedule="", end="")  # fmt: skip
    report = import_records(engine, [row, dict(row, title="Малювання для підлітків"), dict(row, title="C++ for beginners",
                                     provider="Kodklubb")], geocoder)  # fmt: skip
    assert (report.duplicates, report.stored) == ([2], 2)
    with engine.connect() as conn:
        assert len(queries.list_providers(conn)) == 4

    # Down again: the old folding's keys, its collisions given spare keys, the column gone.
    command.downgrade(connection.alembic_config(engine), "0003")
    with engine.connect() as conn:
        assert dict(conn.execute(text("SELECT id, name_key FROM providers")).all()) == {
            1: "", 2: "ko d klubb", 3: "kod klubb", 4: "kodklubb"}  # fmt: skip
        # "Малювання" and "C++" had the old keys of "Кодування" and "C#": kept under spare keys.
        assert conn.execute(text("SELECT count(DISTINCT dedup_key) FROM opportunities")).scalar() == 4
        assert "search_text" not in {c["name"] for c in inspect(conn).get_columns("opportunities")}
    engine.dispose()


@sqlite_only
def test_sqlite_runs_in_wal_mode(engine: queries.Engine) -> None:
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_status_change_refuses_a_stale_update(engine: queries.Engine, geocoder: Geocoder) -> None:
    [oid] = import_records(engine, [template_row()], geocoder).stored_ids
    with engine.connect() as conn:
        seen = queries.get_opportunity(conn, oid)
    with connection.writing(engine) as conn:
        published = queries.set_status(conn, oid, Status.PUBLISHED, expected_updated_at=seen.updated_at)
    assert published.status is Status.PUBLISHED
    with pytest.raises(NotFoundError, match="changed by someone else"), connection.writing(engine) as conn:
        queries.set_status(conn, oid, Status.REJECTED, expected_updated_at=seen.updated_at)
    with engine.connect() as conn:
        assert queries.get_opportunity(conn, oid).status is Status.PUBLISHED
    with pytest.raises(NotFoundError, match="no opportunity with id 999"), connection.writing(engine) as conn:
        queries.set_status(conn, 999, Status.PUBLISHED)


def test_timestamps_are_utc_and_naive_ones_mean_utc(engine: queries.Engine, geocoder: Geocoder) -> None:
    # The test PostgreSQL server runs in a far time zone (tests/postgres.sh): nothing may depend on it.
    [oid] = import_records(engine, [template_row()], geocoder).stored_ids
    with engine.connect() as conn:
        seen = queries.get_opportunity(conn, oid)
    assert seen.updated_at is not None and seen.updated_at.tzinfo is UTC
    naive = seen.updated_at.replace(tzinfo=None)
    with connection.writing(engine) as conn:
        published = queries.set_status(conn, oid, Status.PUBLISHED, expected_updated_at=naive)
    assert published.status is Status.PUBLISHED and published.updated_at > seen.updated_at


def test_migration_0014_adds_the_harvest_tables_and_keeps_the_data(database_url: str, geocoder: Geocoder) -> None:
    engine = connection.create_db_engine(database_url)
    connection.migrate(engine, "0013")
    assert not {"harvest_feeds", "harvested_items"} & set(inspect(engine).get_table_names())
    report = import_records(engine, [template_row(latitude="57.7072", longitude="11.9668")], geocoder, publish=True)
    connection.migrate(engine)
    assert connection.is_schema_current(engine)
    with engine.connect() as conn:
        assert [o.title for o in queries.get_opportunities(conn, report.stored_ids)] == ["Kodklubb"]
        assert conn.execute(text("SELECT count(*) FROM harvest_feeds")).scalar() == 0
    command.downgrade(connection.alembic_config(engine), "0013")
    assert not {"harvest_feeds", "harvested_items"} & set(inspect(engine).get_table_names())
    engine.dispose()


def test_two_processes_migrating_at_once_take_turns(tmp_path: Path) -> None:
    """A server's warm-up and a command opening a fresh database together: both end with the
    current schema, neither is refused with 'database is locked'."""
    import threading

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    failures: list[BaseException] = []

    def open_it() -> None:
        try:
            connection.open_database(url).dispose()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    engine = connection.create_db_engine(url)
    assert connection.is_schema_current(engine)
    engine.dispose()
