"""Badges (issue 18): achievements, playlists, claim codes, status lists, issuance records and
failed claims for the limits against guessing. No learner's personal data in any of them.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "badge_achievements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("opportunity_id", sa.Integer, sa.ForeignKey("opportunities.id", ondelete="CASCADE"), unique=True),
        sa.Column("organisation_id", sa.Integer, sa.ForeignKey("providers.id")),
        sa.Column("city_id", sa.Integer, sa.ForeignKey("cities.id"), nullable=False),
        sa.Column("texts", sa.Text, nullable=False),
        sa.Column("image_url", sa.String(2000), nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("topics", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("review_note", sa.Text, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id", name="fk_badge_achievements_created_by")),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
    )
    op.create_index("ix_badge_achievements_city_status", "badge_achievements", ["city_id", "status"])
    op.create_index("ix_badge_achievements_organisation_id", "badge_achievements", ["organisation_id"])
    op.create_table(
        "badge_playlists",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("city_id", sa.Integer, sa.ForeignKey("cities.id"), nullable=False),
        sa.Column(
            "achievement_id", sa.Integer, sa.ForeignKey("badge_achievements.id", ondelete="CASCADE"), nullable=False, unique=True
        ),
        sa.Column("rule_kind", sa.String(10), nullable=False),
        sa.Column("rule_count", sa.Integer, nullable=False),
        sa.Column("rule_topics", sa.Text, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id", name="fk_badge_playlists_created_by")),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
    )
    op.create_index("ix_badge_playlists_city_id", "badge_playlists", ["city_id"])
    op.create_table(
        "badge_playlist_members",
        sa.Column("playlist_id", sa.Integer, sa.ForeignKey("badge_playlists.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("achievement_id", sa.Integer, sa.ForeignKey("badge_achievements.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_badge_playlist_members_achievement_id", "badge_playlist_members", ["achievement_id"])
    op.create_table(
        "badge_claim_codes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("achievement_id", sa.Integer, sa.ForeignKey("badge_achievements.id", ondelete="CASCADE"), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id", name="fk_badge_claim_codes_created_by")),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("expires_at", _TZ, nullable=False),
        sa.Column("max_uses", sa.Integer, nullable=False),
        sa.Column("uses", sa.Integer, nullable=False),
    )
    op.create_index("ix_badge_claim_codes_achievement_id", "badge_claim_codes", ["achievement_id"])
    op.create_table(
        "badge_status_lists",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("city_id", sa.Integer, sa.ForeignKey("cities.id")),
        sa.Column("issuer", sa.String(300), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("next_position", sa.Integer, nullable=False),
        sa.Column("stride", sa.Integer, nullable=False),
        sa.Column("shift", sa.Integer, nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
    )
    op.create_index("ix_badge_status_lists_city_id", "badge_status_lists", ["city_id"])
    op.create_table(
        "badge_issuances",
        sa.Column("credential_id", sa.String(100), primary_key=True),
        sa.Column("achievement_id", sa.Integer, sa.ForeignKey("badge_achievements.id"), nullable=False),
        sa.Column("via", sa.String(10), nullable=False),
        sa.Column("issued_at", _TZ, nullable=False),
        sa.Column("status_list_id", sa.Integer, sa.ForeignKey("badge_status_lists.id"), nullable=False),
        sa.Column("status_index", sa.Integer, nullable=False),
        sa.Column("revoked_at", _TZ),
        sa.Column("revoke_reason", sa.Text, nullable=False),
        sa.UniqueConstraint("status_list_id", "status_index", name="uq_badge_issuances_status"),
    )
    op.create_index("ix_badge_issuances_achievement_issued", "badge_issuances", ["achievement_id", "issued_at"])
    op.create_index("ix_badge_issuances_list_revoked", "badge_issuances", ["status_list_id", "revoked_at", "status_index"])
    op.create_table(
        "badge_claim_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("client_key", sa.String(64), nullable=False),
    )
    op.create_index("ix_badge_claim_attempts_client_at", "badge_claim_attempts", ["client_key", "at"])
    op.create_index("ix_badge_claim_attempts_at", "badge_claim_attempts", ["at"])


def downgrade() -> None:
    for name in ("badge_claim_attempts", "badge_issuances", "badge_status_lists", "badge_claim_codes", "badge_playlist_members",
                 "badge_playlists", "badge_achievements"):  # fmt: skip
        op.drop_table(name)
