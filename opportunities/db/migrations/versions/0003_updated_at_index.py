"""Index on updated_at: the data version that keys cached search indexes is read in O(log n).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_opportunities_updated_at", "opportunities", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_opportunities_updated_at", "opportunities")
