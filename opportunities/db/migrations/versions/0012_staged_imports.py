"""Large imports stage their rows, so that nobody else's write waits for an import.

An import used to hold the database's write lock for its whole run (validation and geocoding of
every row): a provider's 50,000-row upload kept every sign-in waiting. Its rows now go to
``staged_opportunities`` (their topics and languages to ``staged_values``, the ids of the cities
and providers it adds to ``staged_ids``) in short
transactions, and move into ``opportunities`` in one statement at the end.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staged_opportunities",
        sa.Column("import_id", sa.String(length=32), primary_key=True),
        sa.Column("row_number", sa.Integer(), primary_key=True),
        sa.Column("staged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.String(length=200)),
        sa.Column("description", sa.Text()),
        sa.Column("provider_id", sa.Integer()),
        sa.Column("city_id", sa.Integer()),
        sa.Column("venue", sa.String(length=200)),
        sa.Column("address", sa.String(length=300)),
        sa.Column("latitude", sa.Float()),
        sa.Column("longitude", sa.Float()),
        sa.Column("location_precision", sa.String(length=10)),
        sa.Column("location_source", sa.String(length=100)),
        sa.Column("location_uncertainty_m", sa.Integer()),
        sa.Column("age_min", sa.Integer()),
        sa.Column("age_max", sa.Integer()),
        sa.Column("mode", sa.String(length=10)),
        sa.Column("type", sa.String(length=20)),
        sa.Column("start_date", sa.Date()),
        sa.Column("start_time", sa.Time()),
        sa.Column("end_date", sa.Date()),
        sa.Column("end_time", sa.Time()),
        sa.Column("schedule", sa.String(length=500)),
        sa.Column("cost", sa.Numeric(precision=10, scale=2)),
        sa.Column("currency", sa.String(length=3)),
        sa.Column("url", sa.String(length=2000)),
        sa.Column("contact_email", sa.String(length=254)),
        sa.Column("accessibility", sa.Text()),
        sa.Column("status", sa.String(length=10)),
        sa.Column("dedup_key", sa.String(length=40)),
        sa.Column("search_text", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
        sa.Column("verified_at", sa.DateTime(timezone=True)),
        sa.Column("review_note", sa.Text()),
        sa.Column("archive_reason", sa.String(length=20)),
        sa.Column("submitted_by", sa.Integer()),
    )
    op.create_table(
        "staged_values",
        sa.Column("import_id", sa.String(length=32), nullable=False),
        sa.Column("dedup_key", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=30), nullable=False),
    )
    op.create_index("ix_staged_values_import_id", "staged_values", ["import_id", "kind"])
    op.create_table(
        "staged_ids",
        sa.Column("import_id", sa.String(length=32), primary_key=True),
        sa.Column("kind", sa.String(length=10), primary_key=True),
        sa.Column("stand_in", sa.Integer(), primary_key=True),
        sa.Column("id", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("staged_ids")
    op.drop_index("ix_staged_values_import_id", table_name="staged_values")
    op.drop_table("staged_values")
    op.drop_table("staged_opportunities")
