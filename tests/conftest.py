"""Shared fixtures: one gazetteer index per test session, a fresh empty database per test.

The databases are SQLite files, or, when ``TEST_DATABASE_URL`` names a PostgreSQL database whose
role may create databases (``tests/postgres.sh start`` makes one), new PostgreSQL databases.
"""

from __future__ import annotations

import csv
import io
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st
from playwright.sync_api import Browser
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from streamlit.testing.v1 import AppTest

from opportunities.accounts import accounts, organisations
from opportunities.accounts.accounts import add_user, disable_user
from opportunities.accounts.identity import Role, User
from opportunities.db import queries, schema
from opportunities.db.connection import open_database, writing
from opportunities.listings import uploads
from opportunities.listings.importing import import_records
from opportunities.listings.spreadsheets import ReadLimits, read_table_bytes
from opportunities.places.geocoding import Geocoder, open_geocoder
from opportunities.settings import PROJECT_ROOT, Settings, load_settings
from opportunities.validation import TEMPLATE_COLUMNS
from opportunities.vocabulary import ProviderKind
from tests.browser import chromium
from ui import app_state, session

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


# --- the review world: two cities, their leads, a verified library and a new organisation ----------


def csv_bytes(rows: list[dict[str, str]], delimiter: str = ",") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(TEMPLATE_COLUMNS), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LIMITS = ReadLimits(max_bytes=10 * 1024 * 1024, max_rows=50_000, max_cell_chars=32767)
KRANJ = {"city": "Kranj", "country": "SI", "address": "", "latitude": "46.2389", "longitude": "14.3556",
         "provider": "Mladinski center Kranj", "languages": "sl"}  # fmt: skip


@dataclass
class World:
    engine: Engine
    settings: Settings
    gbg: int  # city ids
    kranj: int
    library: int  # Stadsbiblioteket Göteborg (imported: verified)
    newcomer: int  # registered in the app, not verified
    ids: dict[str, int]  # listing ids by title
    admin: User
    lead_gbg: User
    lead_kranj: User
    librarian: User  # a provider of the library
    newcomer_member: User
    disabled_lead: User


@pytest.fixture
def world(engine: Engine, geocoder: Geocoder, database_url: str) -> World:
    settings = load_settings({"DATABASE_URL": database_url})
    rows = [template_row(title="Kodklubb"), template_row(title="Schack", start="2026-12-05 10:00", end=""),
            template_row(title="Robotika", **KRANJ)]  # fmt: skip
    report = import_records(engine, rows, geocoder)
    with writing(engine) as conn:
        gbg = queries.find_city(conn, "Göteborg", "SE")
        kranj = queries.find_city(conn, "Kranj", "SI")
        assert gbg is not None and gbg.id is not None and kranj is not None and kranj.id is not None
        library = queries.get_opportunity(conn, report.stored_ids[0])
        library_id = conn.execute(
            select(schema.opportunities.c.provider_id).where(schema.opportunities.c.id == library.id)
        ).scalar_one()
        newcomer, member = organisations.register_organisation(
            conn, name="Nytt Forum", kind=ProviderKind.NGO, city_id=gbg.id, website="", contact_email="info@nytt.example",
            user_email="anna@nytt.example", password=None, settings=settings, now=NOW, language="sv", confirmed=True)  # fmt: skip

        def user(email: str, role: Role, **kw: object) -> User:
            return add_user(conn, email, role=role, password=None, settings=settings, now=NOW, **kw)  # type: ignore[arg-type]

        world = World(
            engine=engine,
            settings=settings,
            gbg=gbg.id,
            kranj=kranj.id,
            library=library_id,
            newcomer=newcomer.id,
            ids=dict(zip(["Kodklubb", "Schack", "Robotika"], report.stored_ids, strict=True)),
            admin=user("admin@example.org", Role.ADMIN),
            lead_gbg=user("lead@goteborg.example", Role.CITY_LEAD, city_ids=(gbg.id,)),
            lead_kranj=user("lead@kranj.example", Role.CITY_LEAD, city_ids=(kranj.id,), language="sl"),
            librarian=user("bibliotekarie@example.org", Role.PROVIDER, organisation_id=library_id, language="sv"),
            newcomer_member=member,
            disabled_lead=user("gone@goteborg.example", Role.CITY_LEAD, city_ids=(gbg.id,)),
        )
        world.disabled_lead = disable_user(conn, world.disabled_lead.id, now=NOW)
    # The newcomer uploads a listing of its own: pending, its organisation unverified.
    table = read_table_bytes(csv_bytes([template_row(title="Debattklubb", provider="Nytt Forum", start="2026-12-07 18:00", end="")]),
                             "nytt.csv", limits=LIMITS)  # fmt: skip
    preview = uploads.preview_upload(engine, member, table, geocoder, filename="nytt.csv")
    world.ids["Debattklubb"] = uploads.confirm_upload(engine, member, table, geocoder, preview, now=NOW).stored_ids[0]
    return world


# --- pages run with AppTest, signed in --------------------------------------------------------


PAGE_TIMEOUT = 60


@pytest.fixture
def signed_in(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    found: World = request.getfixturevalue("world")
    monkeypatch.setenv("DATABASE_URL", found.settings.database_url)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield found
    settings = load_settings()
    app_state.database(
        settings.database_url, str(settings.cache_dir), settings.demo_seed, settings.database_busy_timeout_s
    ).dispose()


def page(name: str, user: User | None, w: World, language: str = "en") -> AppTest:
    """Page ``name`` run as ``user`` (signed in through the session state, as ui/access.py reads it)."""
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / f"{name}.py"), default_timeout=PAGE_TIMEOUT)
    if user is not None:
        with writing(w.engine) as conn:
            at.session_state[session.SESSION_TOKEN] = accounts.start_session(
                conn, user.id, accounts.now_utc(), settings=w.settings
            )
    at.session_state[session.LANGUAGE] = language
    return at.run()
