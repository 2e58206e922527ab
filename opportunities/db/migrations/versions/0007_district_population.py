"""Districts carry their population (by age band where known), its year and the sources.

Revision ID: 0007
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL population: not known (never zero by default; a zero would read as "nobody lives here").
    with op.batch_alter_table("districts") as batch:
        batch.add_column(sa.Column("population", sa.Integer()))
        batch.add_column(sa.Column("population_by_age", sa.Text(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("population_year", sa.Integer()))
        batch.add_column(sa.Column("source", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("districts") as batch:
        batch.drop_column("source")
        batch.drop_column("population_year")
        batch.drop_column("population_by_age")
        batch.drop_column("population")
