from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from opportunities import storage
from opportunities.errors import NotFoundError
from opportunities.geocoding import Geocoder
from opportunities.importing import import_records
from opportunities.vocabulary import Status
from tests.conftest import sqlite_only, template_row


def test_migrations_build_exactly_the_declared_schema(database_url: str) -> None:
    engine = storage.open_database(database_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), storage.metadata) == []
    assert storage.is_schema_current(engine)
    engine.dispose()


def test_older_database_is_upgraded_without_losing_data(database_url: str) -> None:
    engine = storage.create_db_engine(database_url)
    storage.migrate(engine, "0001")
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
    assert storage.schema_revision(engine) == "0001"

    storage.migrate(engine)
    assert storage.is_schema_current(engine)
    with engine.connect() as conn:
        opp = storage.get_opportunity(conn, 1)
    assert (opp.title, opp.city, opp.provider, opp.topics) == ("Robotika", "Kranj", "MC Kranj", ("digital-skills",))
    assert opp.accessibility == "" and opp.verified_at is None
    engine.dispose()


@sqlite_only
def test_sqlite_runs_in_wal_mode(engine: storage.Engine) -> None:
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_status_change_refuses_a_stale_update(engine: storage.Engine, geocoder: Geocoder) -> None:
    [oid] = import_records(engine, [template_row()], geocoder).stored_ids
    with engine.connect() as conn:
        seen = storage.get_opportunity(conn, oid)
    with storage.writing(engine) as conn:
        published = storage.set_status(conn, oid, Status.PUBLISHED, expected_updated_at=seen.updated_at)
    assert published.status is Status.PUBLISHED
    with pytest.raises(NotFoundError, match="changed by someone else"), storage.writing(engine) as conn:
        storage.set_status(conn, oid, Status.REJECTED, expected_updated_at=seen.updated_at)
    with engine.connect() as conn:
        assert storage.get_opportunity(conn, oid).status is Status.PUBLISHED
    with pytest.raises(NotFoundError, match="no opportunity with id 999"), storage.writing(engine) as conn:
        storage.set_status(conn, 999, Status.PUBLISHED)


def test_timestamps_are_utc_and_naive_ones_mean_utc(engine: storage.Engine, geocoder: Geocoder) -> None:
    # The test PostgreSQL server runs in a far time zone (tests/postgres.sh): nothing may depend on it.
    [oid] = import_records(engine, [template_row()], geocoder).stored_ids
    with engine.connect() as conn:
        seen = storage.get_opportunity(conn, oid)
    assert seen.updated_at is not None and seen.updated_at.tzinfo is UTC
    naive = seen.updated_at.replace(tzinfo=None)
    with storage.writing(engine) as conn:
        published = storage.set_status(conn, oid, Status.PUBLISHED, expected_updated_at=naive)
    assert published.status is Status.PUBLISHED and published.updated_at > seen.updated_at
