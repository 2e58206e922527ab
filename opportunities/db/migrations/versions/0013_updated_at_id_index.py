"""The OpenActive feed pages through opportunities by (updated_at, id): one index in that order.

``ix_opportunities_updated_at`` (revision 0003) becomes ``ix_opportunities_updated_at_id`` on
(updated_at, id): a feed page is one range scan of it, on PostgreSQL too (where an index on
updated_at alone leaves the rows of one timestamp to be sorted by id). The search index's look for
changed rows uses its first column as before. Builds one index; no data changes.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_opportunities_updated_at_id", "opportunities", ["updated_at", "id"])
    op.drop_index("ix_opportunities_updated_at", "opportunities")


def downgrade() -> None:
    op.create_index("ix_opportunities_updated_at", "opportunities", ["updated_at"])
    op.drop_index("ix_opportunities_updated_at_id", "opportunities")
