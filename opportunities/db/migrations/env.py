"""Alembic environment: runs on the engine handed over by :func:`opportunities.db.connection.migrate`, or
on the connection of a caller's open transaction (a restore), which then commits or rolls back."""

from __future__ import annotations

from alembic import context

from opportunities.db.connection import create_db_engine
from opportunities.db.schema import metadata
from opportunities.settings import load_settings

config = context.config
caller = config.attributes.get("connection")

if caller is not None:
    # Inside the caller's transaction: alembic begins and commits nothing of its own.
    context.configure(connection=caller, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = config.attributes.get("engine") or create_db_engine(load_settings().database_url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
