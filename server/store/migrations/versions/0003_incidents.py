"""Incidents from Alertmanager's webhook: incidents, their alerts and timelines.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.store.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("key_digest", sa.String(64), nullable=False),
        sa.Column("receiver", sa.String(255), nullable=False),
        sa.Column("group_key", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("slo", sa.String(255), nullable=True),
        sa.Column("service", sa.String(255), nullable=True),
        sa.Column("team", sa.String(255), nullable=True),
        sa.Column("severity", sa.String(32), nullable=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=True),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("external_url", sa.Text, nullable=False),
        sa.Column("policy", sa.String(255), nullable=True),
        sa.Column("escalation_step", sa.Integer, nullable=False),
        sa.Column("escalation_round", sa.Integer, nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(255), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(255), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("key_digest", name="uq_incidents_key_digest"),
    )
    op.create_index("ix_incidents_status_opened", "incidents", ["status", "opened_at"])
    op.create_index("ix_incidents_slo", "incidents", ["slo"])
    op.create_index("ix_incidents_team", "incidents", ["team"])
    op.create_table(
        "incident_alerts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id",
            _ID,
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("alertname", sa.String(255), nullable=True),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("annotations", sa.Text, nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=True),
        sa.Column("generator_url", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("incident_id", "fingerprint", name="uq_incident_alerts_fingerprint"),
    )
    op.create_index("ix_incident_alerts_incident_id", "incident_alerts", ["incident_id"])
    op.create_table(
        "incident_events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id",
            _ID,
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_incident_events_incident", "incident_events", ["incident_id", "id"])


def downgrade() -> None:
    op.drop_table("incident_events")
    op.drop_table("incident_alerts")
    op.drop_table("incidents")
