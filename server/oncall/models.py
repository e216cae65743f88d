"""Tables of the incident store: incidents, their alerts and their timelines.

An incident is one Alertmanager group for one receiver, keyed by
``(receiver, groupKey)`` (through ``key_digest``, a SHA-256 of both, because
group keys can be longer than an index allows). Its alerts are keyed by
fingerprint within it. The timeline records what happened, in order.
Migration 0003 creates these tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base, UTCDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")


class Incident(Base):
    """One page: a group of alerts that fired, from opening to resolution."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("key_digest", name="uq_incidents_key_digest"),
        Index("ix_incidents_status_opened", "status", "opened_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    key_digest: Mapped[str] = mapped_column(String(64))
    receiver: Mapped[str] = mapped_column(String(255))
    group_key: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    slo: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    service: Mapped[str | None] = mapped_column(String(255), nullable=True)
    team: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    severity: Mapped[str | None] = mapped_column(String(32), nullable=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    labels: Mapped[str] = mapped_column(Text)
    external_url: Mapped[str] = mapped_column(Text)
    policy: Mapped[str | None] = mapped_column(String(255), nullable=True)
    escalation_step: Mapped[int] = mapped_column(Integer, default=0)
    escalation_round: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IncidentAlert(Base):
    """The latest known state of one alert (fingerprint) of an incident.

    ``starts_at`` identifies the firing episode: a notification about an older
    episode than the stored one is stale and ignored.
    """

    __tablename__ = "incident_alerts"
    __table_args__ = (
        UniqueConstraint("incident_id", "fingerprint", name="uq_incident_alerts_fingerprint"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        _ID, ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    alertname: Mapped[str | None] = mapped_column(String(255), nullable=True)
    labels: Mapped[str] = mapped_column(Text)
    annotations: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    generator_url: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IncidentEvent(Base):
    """One entry of an incident's timeline (received, notified, acknowledged...)."""

    __tablename__ = "incident_events"
    __table_args__ = (Index("ix_incident_events_incident", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(_ID, ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    detail: Mapped[str] = mapped_column(Text)
