"""Accessibility notes, last-verified timestamps and city districts.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("opportunities") as batch:
        batch.add_column(sa.Column("accessibility", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("verified_at", sa.DateTime(timezone=True)))
    op.create_table(
        "districts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("boundary", sa.Text, nullable=False),
    )
    op.create_index("ix_districts_city_id", "districts", ["city_id"])


def downgrade() -> None:
    op.drop_table("districts")
    with op.batch_alter_table("opportunities") as batch:
        batch.drop_column("verified_at")
        batch.drop_column("accessibility")
