"""External RPDE feeds that a city harvests, and the items harvested from them.

``harvest_feeds`` holds each registered feed (its URL, organisation, city, licence and
attribution), where its next harvest starts, its health and a lease so that two replicas do not
harvest it at once; ``harvested_items`` one row per upstream item (its last ``modified``, the
opportunity it became, why it was refused). New tables only; no data changes.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "harvest_feeds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("organisation_id", sa.Integer(), sa.ForeignKey("providers.id"), nullable=False),
        sa.Column("city_id", sa.Integer(), sa.ForeignKey("cities.id"), nullable=False),
        sa.Column("license", sa.String(length=2000), nullable=False),
        sa.Column("attribution", sa.String(length=300), nullable=False),
        sa.Column("next_url", sa.String(length=2000), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("last_run_at", _TZ),
        sa.Column("last_success_at", _TZ),
        sa.Column("items_seen", sa.Integer(), nullable=False),
        sa.Column("items_stored", sa.Integer(), nullable=False),
        sa.Column("items_rejected", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("caught_up_at", _TZ),
        sa.Column("lag_s", sa.Float()),
        sa.Column("retry_after", _TZ),
        sa.Column("gone_at", _TZ),
        sa.Column("lease_owner", sa.String(length=64), nullable=False),
        sa.Column("lease_until", _TZ),
    )
    op.create_index("ix_harvest_feeds_city_id", "harvest_feeds", ["city_id"])
    op.create_table(
        "harvested_items",
        sa.Column("feed_id", sa.Integer(), sa.ForeignKey("harvest_feeds.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("item_id", sa.String(length=300), primary_key=True),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("modified", sa.BigInteger(), nullable=False),
        sa.Column("upstream_id", sa.String(length=2000), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), sa.ForeignKey("opportunities.id", ondelete="SET NULL"), unique=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("harvested_at", _TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("harvested_items")
    op.drop_index("ix_harvest_feeds_city_id", table_name="harvest_feeds")
    op.drop_table("harvest_feeds")
