"""The audit log refuses being rewritten by INSERT OR REPLACE (SQLite) and TRUNCATE (PostgreSQL).

Revision 0006 refused UPDATE and DELETE. SQLite's ``INSERT OR REPLACE`` deletes the clashing row
without firing a DELETE trigger, and PostgreSQL's ``TRUNCATE`` fires no row trigger: both could
rewrite or empty the log. An insert that reuses an id, and a truncate, are now refused too.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_REFUSE = "audit_log is append-only"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql(
            "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
            "WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id) "
            f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
        )
    elif bind.dialect.name == "postgresql":
        # audit_log_refuse() is 0006's function; a statement-level trigger catches TRUNCATE.
        bind.exec_driver_sql(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse()"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_replace")
    elif bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
