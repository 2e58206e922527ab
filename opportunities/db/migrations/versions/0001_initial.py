"""Cities, providers, opportunities with topics and languages.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(100), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("latitude", sa.Float, nullable=False),
        sa.Column("longitude", sa.Float, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("boundary", sa.Text),
        sa.Column("geonameid", sa.Integer, unique=True),
        sa.UniqueConstraint("country", "name_key", name="uq_cities_country_name"),
    )
    op.create_table(
        "providers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("city_id", sa.Integer, sa.ForeignKey("cities.id")),
        sa.Column("website", sa.String(2000), nullable=False),
        sa.Column("contact_email", sa.String(254), nullable=False),
    )
    op.create_table(
        "opportunities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("provider_id", sa.Integer, sa.ForeignKey("providers.id"), nullable=False),
        sa.Column("city_id", sa.Integer, sa.ForeignKey("cities.id"), nullable=False),
        sa.Column("venue", sa.String(200), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("latitude", sa.Float),
        sa.Column("longitude", sa.Float),
        sa.Column("location_precision", sa.String(10)),
        sa.Column("location_source", sa.String(100), nullable=False),
        sa.Column("age_min", sa.Integer, nullable=False),
        sa.Column("age_max", sa.Integer),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("start_time", sa.Time),
        sa.Column("end_date", sa.Date),
        sa.Column("end_time", sa.Time),
        sa.Column("schedule", sa.String(500), nullable=False),
        sa.Column("cost", sa.Numeric(10, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("contact_email", sa.String(254), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("dedup_key", sa.String(40), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_opportunities_provider_id", "opportunities", ["provider_id"])
    op.create_index("ix_opportunities_status_city", "opportunities", ["status", "city_id"])
    op.create_index("ix_opportunities_lat_lon", "opportunities", ["latitude", "longitude"])
    op.create_index("ix_opportunities_start", "opportunities", ["start_date"])
    for name, column, length in (("opportunity_topics", "topic", 30), ("opportunity_languages", "language", 2)):
        op.create_table(
            name,
            sa.Column("opportunity_id", sa.Integer, sa.ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True),
            sa.Column(column, sa.String(length), primary_key=True),
        )
        op.create_index(f"ix_{name}_{column}", name, [column, "opportunity_id"])


def downgrade() -> None:
    for name in ("opportunity_languages", "opportunity_topics", "opportunities", "providers", "cities"):
        op.drop_table(name)
