"""PostgreSQL announces changed opportunities (LISTEN/NOTIFY): each app process refreshes its
search index at once instead of at its next look at the database.

A statement-level trigger on ``opportunities`` sends a notification on the channel
``col_opportunities_changed`` (``opportunities.db.notify.CHANNEL``) after every INSERT, UPDATE,
DELETE or TRUNCATE, whoever writes: the pages, the command line, a harvest, or ``psql``. PostgreSQL
delivers it when the transaction commits, once per transaction (identical notifications of one
transaction are folded), and never for a rollback. The payload is empty: listeners read what
changed from the table. Nothing on SQLite, where each process polls.

The upgrade itself notifies too: a restore of a backup older than this revision inserts its rows
before the trigger exists.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_CHANNEL = "col_opportunities_changed"  # = opportunities.db.notify.CHANNEL (a migration stays as written)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"""
        CREATE OR REPLACE FUNCTION col_notify_opportunities_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{_CHANNEL}', '');
            RETURN NULL;
        END
        $$
    """)  # fmt: skip
    op.execute("""
        CREATE TRIGGER opportunities_changed
        AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON opportunities
        FOR EACH STATEMENT EXECUTE FUNCTION col_notify_opportunities_changed()
    """)  # fmt: skip
    op.execute(f"SELECT pg_notify('{_CHANNEL}', '')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS opportunities_changed ON opportunities")
    op.execute("DROP FUNCTION IF EXISTS col_notify_opportunities_changed()")
