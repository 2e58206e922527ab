"""Accounts, organisations, sign-in sessions, invitations, password resets, an append-only audit
log, the mail outbox, drafts, participation reports and review fields of opportunities.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)
_REFUSE = "audit_log is append-only"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False, server_default=""),
        sa.Column("password_hash", sa.String(200)),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("organisation_id", sa.Integer, sa.ForeignKey("providers.id"), index=True),
        sa.Column("oidc_subject", sa.String(255), unique=True),
        sa.Column("language", sa.String(2), nullable=False, server_default="en"),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("disabled_at", _TZ),
    )
    # Plain ADD COLUMN (no batch): SQLite would otherwise copy and drop ``providers``, which
    # opportunities refer to.
    op.add_column("providers", sa.Column("verified_at", _TZ))
    # A user id; no foreign key, which would make providers and users refer to each other.
    op.add_column("providers", sa.Column("verified_by", sa.Integer))
    op.add_column("providers", sa.Column("trusted", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("providers", sa.Column("registered_at", _TZ))
    # Providers so far were imported by an admin (command line, demo): their listings are published
    # already, so they count as verified.
    op.execute(sa.text("UPDATE providers SET verified_at = CURRENT_TIMESTAMP"))
    op.add_column("opportunities", sa.Column("review_note", sa.Text, nullable=False, server_default=""))
    op.add_column("opportunities", sa.Column("archive_reason", sa.String(20), nullable=False, server_default=""))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its reference in place; alembic would copy the table for it.
        op.execute(sa.text("ALTER TABLE opportunities ADD COLUMN submitted_by INTEGER REFERENCES users (id)"))
    else:
        op.add_column("opportunities", sa.Column("submitted_by", sa.Integer))
        op.create_foreign_key("fk_opportunities_submitted_by", "opportunities", "users", ["submitted_by"], ["id"])
    op.create_table(
        "city_leads",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True),
        sa.Index("ix_city_leads_city_id", "city_id"),
    )
    op.create_table(
        "sign_in_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("expires_at", _TZ, nullable=False),
        sa.Column("last_seen_at", _TZ, nullable=False),
    )
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("client_key", sa.String(64), nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
        sa.Index("ix_sign_in_attempts_email_at", "email", "at"),
        sa.Index("ix_sign_in_attempts_client_at", "client_key", "at"),
    )
    op.create_table(
        "invitations",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("organisation_id", sa.Integer, sa.ForeignKey("providers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("invited_by", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("expires_at", _TZ, nullable=False),
        sa.Column("accepted_at", _TZ),
    )
    op.create_table(
        "password_resets",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("expires_at", _TZ, nullable=False),
        sa.Column("used_at", _TZ),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("actor_id", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("actor_label", sa.String(100), nullable=False, server_default=""),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("entity", sa.String(50), nullable=False),
        sa.Column("entity_id", sa.Integer),
        sa.Column("city_id", sa.Integer, sa.ForeignKey("cities.id")),
        sa.Column("before", sa.Text, nullable=False, server_default=""),
        sa.Column("after", sa.Text, nullable=False, server_default=""),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Index("ix_audit_log_city_at", "city_id", "at"),
        sa.Index("ix_audit_log_entity", "entity", "entity_id"),
    )
    create_audit_triggers(op.get_bind())
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("sent_at", _TZ),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("organisation_id", sa.Integer, sa.ForeignKey("providers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("opportunity_id", sa.Integer, sa.ForeignKey("opportunities.id", ondelete="CASCADE")),
        sa.Column("data", sa.Text, nullable=False, server_default="{}"),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
    )
    op.create_table(
        "participation_reports",
        sa.Column("opportunity_id", sa.Integer, sa.ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("age_group", sa.String(20), primary_key=True),
        sa.Column("participants", sa.Integer, nullable=False),
        sa.Column("reported_at", _TZ, nullable=False),
        sa.Column("reported_by", sa.Integer, sa.ForeignKey("users.id")),
    )


def create_audit_triggers(bind: sa.Connection) -> None:
    """Make ``audit_log`` refuse UPDATE and DELETE in the database itself, not only in the code."""
    if bind.dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            bind.exec_driver_sql(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
            )
    elif bind.dialect.name == "postgresql":
        bind.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_REFUSE}'; END $$"
        )
        bind.exec_driver_sql(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse()"
        )


def downgrade() -> None:
    for table in ("participation_reports", "drafts", "mail_outbox", "audit_log", "password_resets", "invitations",
                  "sign_in_attempts", "sign_in_sessions", "city_leads"):  # fmt: skip
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text("DROP FUNCTION IF EXISTS audit_log_refuse()"))
    with op.batch_alter_table("opportunities") as batch:
        batch.drop_column("submitted_by")
        batch.drop_column("archive_reason")
        batch.drop_column("review_note")
    for column in ("registered_at", "trusted", "verified_by", "verified_at"):
        # In place: a batch copy would drop ``providers``, which opportunities refer to.
        op.execute(sa.text(f"ALTER TABLE providers DROP COLUMN {column}"))
    op.drop_table("users")
