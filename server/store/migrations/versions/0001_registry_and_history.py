"""Registry (SLOs, spec versions) and budget history.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.store.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slos",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("service", sa.String(63), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("team", sa.String(255), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_slos_service", "slos", ["service"])
    op.create_index("ix_slos_active", "slos", ["active"])
    op.create_table(
        "slo_versions",
        sa.Column(
            "slo_id",
            sa.String(255),
            sa.ForeignKey("slos.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "budget_snapshots",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("slo_id", sa.String(255), nullable=False),
        sa.Column("taken_at", UTCDateTime(), nullable=False),
        sa.Column("sli", sa.Float, nullable=True),
        sa.Column("remaining", sa.Float, nullable=True),
        sa.Column("burn_rates", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("ix_budget_snapshots_slo_taken", "budget_snapshots", ["slo_id", "taken_at"])
    op.create_index("ix_budget_snapshots_taken_at", "budget_snapshots", ["taken_at"])


def downgrade() -> None:
    op.drop_table("budget_snapshots")
    op.drop_table("slo_versions")
    op.drop_table("slos")
