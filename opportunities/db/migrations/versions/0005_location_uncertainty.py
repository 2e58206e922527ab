"""How far off each opportunity's location may be, in metres (NULL: not known).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows located before this revision keep NULL: the map treats them by their precision alone.
    with op.batch_alter_table("opportunities") as batch:
        batch.add_column(sa.Column("location_uncertainty_m", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("opportunities") as batch:
        batch.drop_column("location_uncertainty_m")
