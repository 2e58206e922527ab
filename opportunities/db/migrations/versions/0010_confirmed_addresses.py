"""An account is usable once its address is confirmed by a link mailed to it.

Self-registration let anyone create an account on someone else's address (and keep its password
through a later OpenID Connect sign-in). ``users.confirmed_at`` is NULL until the link in
``address_confirmations`` is opened. Accounts made before this revision count as confirmed.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("confirmed_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE users SET confirmed_at = created_at")
    op.create_table(
        "address_confirmations",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_address_confirmations_user_id", "address_confirmations", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_address_confirmations_user_id", table_name="address_confirmations")
    op.drop_table("address_confirmations")
    op.drop_column("users", "confirmed_at")
