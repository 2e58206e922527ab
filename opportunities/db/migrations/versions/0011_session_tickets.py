"""The session cookie is set by the server (HttpOnly): a sign-in gives the browser a one-minute,
single-use ticket to trade for it, instead of the token itself.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sign_in_sessions") as batch:
        batch.add_column(sa.Column("ticket_hash", sa.String(64)))
        batch.add_column(sa.Column("ticket_expires_at", sa.DateTime(timezone=True)))
        batch.create_unique_constraint("uq_sign_in_sessions_ticket_hash", ["ticket_hash"])


def downgrade() -> None:
    with op.batch_alter_table("sign_in_sessions") as batch:
        batch.drop_constraint("uq_sign_in_sessions_ticket_hash", type_="unique")
        batch.drop_column("ticket_expires_at")
        batch.drop_column("ticket_hash")
