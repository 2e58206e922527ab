"""The database as a command opens it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from opportunities.settings import Settings


@contextmanager
def opened_engine(settings: Settings) -> Iterator[Engine]:
    """The database, its connections closed when the command is done (a server counts them)."""
    from opportunities.db.connection import open_database

    engine = open_database(settings.database_url, busy_timeout_s=settings.database_busy_timeout_s)
    try:
        yield engine
    finally:
        engine.dispose()
