"""Engines, transactions and schema migrations for SQLite and PostgreSQL.

Concurrent writers queue instead of failing or losing updates: on SQLite (in WAL mode) write
transactions begin ``IMMEDIATE``; on PostgreSQL they first take one transaction-level advisory
lock, which readers never wait for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url

from opportunities.db.schema import metadata

_MIGRATIONS = Path(__file__).parent / "migrations"
# PostgreSQL advisory lock held by every write transaction (any constant; per database).
_WRITE_LOCK = 0x436F4C6D6170  # "CoLmap"


def create_db_engine(url: str, *, busy_timeout_s: float = 30.0) -> Engine:
    """An engine for ``url``; SQLite files get WAL, foreign keys and a busy timeout.

    A write that waits longer than ``busy_timeout_s`` for another writer to finish raises
    :class:`sqlalchemy.exc.OperationalError` ("database is locked") on SQLite.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True)
        if parsed.get_backend_name() == "postgresql":

            @event.listens_for(engine, "begin")
            def _queue_writers(conn: Connection) -> None:
                # Like BEGIN IMMEDIATE below: a writer reads only after the previous one committed, so
                # two imports cannot both add the same city, provider or opportunity.
                if conn.get_execution_options().get("write", False):
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_WRITE_LOCK})")

        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_s})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction: committed on success, rolled back on any error."""
    with engine.connect() as plain:
        conn = plain.execution_options(write=True)
        with conn.begin():
            yield conn


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Connection]:
    """A write transaction that is always rolled back: to see what writes would do (a preview)."""
    with engine.connect() as plain:
        conn = plain.execution_options(write=True)
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


def open_database(url: str, *, busy_timeout_s: float = 30.0) -> Engine:
    """An engine on ``url`` with the schema upgraded to the latest revision."""
    engine = create_db_engine(url, busy_timeout_s=busy_timeout_s)
    migrate(engine)
    return engine


def reset_database(engine: Engine) -> None:
    """Drop every table (data included) and create the current schema."""
    from sqlalchemy import text

    metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(engine)


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision``, keeping the data, in one write transaction: two processes
    starting at once (a server's warm-up and a command) take turns, and the second finds the schema
    current. (In a plain transaction, SQLite would refuse one of them at once rather than let it wait:
    both read the version, then both want to write.)"""
    with writing(engine) as conn:
        migrate_connection(conn, revision)


def migrate_connection(conn: Connection, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` inside ``conn``'s open transaction, which commits or rolls
    back the migrations together with the caller's own writes (a restore)."""
    from alembic import command

    config = alembic_config(conn.engine)
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


def known_revisions(engine: Engine) -> list[str]:
    """Every schema revision this version of the app has a migration for, the oldest first."""
    from alembic.script import ScriptDirectory

    return [script.revision for script in reversed(list(ScriptDirectory.from_config(alembic_config(engine)).walk_revisions()))]


def schema_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_schema_current(engine: Engine) -> bool:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    return schema_revision(engine) == head
