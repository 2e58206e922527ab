"""Trust is granted per city: an organisation trusted by a lead publishes directly in that city only.

The old ``providers.trusted`` flag was read in every city. Each organisation trusted until now
keeps its trust in its own city (whose lead granted it) and nowhere else.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    trust = op.create_table(
        "organisation_trust",
        sa.Column("provider_id", sa.Integer(), sa.ForeignKey("providers.id"), primary_key=True),
        sa.Column("city_id", sa.Integer(), sa.ForeignKey("cities.id"), primary_key=True),
        sa.Column("granted_by", sa.Integer()),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
    )
    conn = op.get_bind()
    trusted = conn.execute(sa.text("SELECT id, city_id FROM providers WHERE trusted AND city_id IS NOT NULL")).all()
    now = datetime.now(UTC)
    if trusted:
        op.bulk_insert(
            trust, [{"provider_id": row.id, "city_id": row.city_id, "granted_by": None, "granted_at": now} for row in trusted]
        )
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+): a batch copy of providers would drop the
    # table that opportunities, users and invitations refer to.
    op.drop_column("providers", "trusted")


def downgrade() -> None:
    op.add_column("providers", sa.Column("trusted", sa.Boolean, nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE providers SET trusted = TRUE WHERE EXISTS (SELECT 1 FROM organisation_trust t "
        "WHERE t.provider_id = providers.id AND t.city_id = providers.city_id)"
    )
    op.drop_table("organisation_trust")
