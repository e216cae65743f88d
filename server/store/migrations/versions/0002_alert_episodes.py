"""Alert episodes: when each SLO alert fired and stopped, for the web page's alert history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.store.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_episodes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("slo_id", sa.String(255), nullable=False),
        sa.Column("alert_key", sa.Text, nullable=False),
        sa.Column("alertname", sa.String(255), nullable=False),
        sa.Column("severity", sa.String(32), nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_alert_episodes_slo_started", "alert_episodes", ["slo_id", "started_at"])
    op.create_index("ix_alert_episodes_ended_at", "alert_episodes", ["ended_at"])


def downgrade() -> None:
    op.drop_table("alert_episodes")
