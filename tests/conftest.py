"""Shared fixtures: one gazetteer index per test session, a fresh empty database per test.

The databases are SQLite files, or, when ``TEST_DATABASE_URL`` names a PostgreSQL database whose
role may create databases (``tests/postgres.sh start`` makes one), new PostgreSQL databases.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from opportunities.db.connection import open_database
from opportunities.places.geocoding import Geocoder, open_geocoder
from opportunities.settings import load_settings
from tests.browser import chromium

DATA = Path(__file__).parent / "data"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = bool(TEST_DATABASE_URL)
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="about SQLite itself; TEST_DATABASE_URL is set")


class Databases:
    """Creates empty databases and drops them: SQLite files, or PostgreSQL databases beside ``admin_url``'s."""

    def __init__(self, admin_url: str) -> None:
        if admin_url and make_url(admin_url).get_backend_name() != "postgresql":
            raise pytest.UsageError(f"TEST_DATABASE_URL must be a postgresql:// URL, not {admin_url!r}")
        self._admin = create_engine(admin_url, isolation_level="AUTOCOMMIT") if admin_url else None

    def create(self, folder: Path) -> str:
        """The URL of a new empty database (a file in ``folder`` on SQLite)."""
        if self._admin is None:
            return f"sqlite:///{folder / 'test.db'}"
        name = f"test_{uuid.uuid4().hex[:16]}"
        with self._admin.connect() as conn:
            # template0: nothing that may have been added to template1 leaks into the tests.
            conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
        return make_url(self._admin.url).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        if self._admin is None:
            return
        name = make_url(url).database
        with self._admin.connect() as conn:
            # An engine a test did not dispose of may still hold connections: end them. Not with
            # DROP DATABASE ... WITH (FORCE), which would also have to end autovacuum workers (only a
            # superuser may); a plain DROP asks those to stop and waits for them.
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND usename = current_user AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")

    def close(self) -> None:
        if self._admin is not None:
            self._admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def _address_index_outside_the_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests that load the demo build its address index: keep it out of the project's data/ folder
    (a test that sets ADDRESS_INDEX_DIR itself still wins)."""
    if os.environ.get("ADDRESS_INDEX_DIR"):
        yield
        return
    os.environ["ADDRESS_INDEX_DIR"] = str(tmp_path_factory.mktemp("addresses"))
    yield
    os.environ.pop("ADDRESS_INDEX_DIR", None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session: Playwright's sync API allows one at a time."""
    with chromium() as started:
        yield started


@pytest.fixture(scope="session")
def geocoder() -> Geocoder:
    # The index is built once into the configured cache (data/cache by default) and reused.
    return open_geocoder(load_settings().cache_dir)


@pytest.fixture(scope="session")
def databases() -> Iterator[Databases]:
    found = Databases(TEST_DATABASE_URL)
    yield found
    found.close()


@pytest.fixture
def database_url(databases: Databases, tmp_path: Path) -> Iterator[str]:
    """A new empty database for this test, dropped afterwards."""
    url = databases.create(tmp_path)
    yield url
    databases.drop(url)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_database(database_url)
    yield engine
    engine.dispose()


def template_row(**overrides: str) -> dict[str, str]:
    """A valid import row; override fields to make variants."""
    row = {
        "title": "Kodklubb", "description": "Lär dig Python", "provider": "Stadsbiblioteket Göteborg",
        "city": "Göteborg", "country": "SE", "address": "Götaplatsen 3, 412 56 Göteborg",
        "latitude": "", "longitude": "", "topics": "digital-skills", "age_min": "12", "age_max": "16",
        "mode": "in-person", "type": "club", "start": "2026-12-02 17:00", "end": "2027-05-26",
        "schedule": "FREQ=WEEKLY;BYDAY=WE", "cost": "0", "currency": "", "languages": "sv;en",
        "url": "https://example.org/kod", "contact_email": "info@example.org",
    }  # fmt: skip
    row.update(overrides)
    return row
