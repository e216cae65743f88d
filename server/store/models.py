"""SQLAlchemy models of the registry (SLOs and their spec versions) and the budget history.

Times are stored as naive UTC (SQLite has no time zones) and read back as
aware UTC datetimes by :class:`UTCDateTime`, so both databases behave alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Width of ``slo_versions.origin`` (migration 0001): "api" or "specs:<dir>".
ORIGIN_LENGTH = 32


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored as naive UTC and returned as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store aware datetimes only; naive ones have no known time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Base of every table."""


class SLORecord(Base):
    """An SLO the registry knows, active or retired, with its current spec version."""

    __tablename__ = "slos"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    service: Mapped[str] = mapped_column(String(63), index=True)
    name: Mapped[str] = mapped_column(String(63))
    team: Mapped[str | None] = mapped_column(String(255), nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SLOVersion(Base):
    """One version of an SLO's spec, as the JSON wire format of :class:`sloctl.spec.models.SLO`."""

    __tablename__ = "slo_versions"

    slo_id: Mapped[str] = mapped_column(
        String(255), ForeignKey("slos.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(ORIGIN_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BudgetSnapshot(Base):
    """The budget numbers of one SLO at one time: the history behind charts and trends."""

    __tablename__ = "budget_snapshots"
    __table_args__ = (Index("ix_budget_snapshots_slo_taken", "slo_id", "taken_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    slo_id: Mapped[str] = mapped_column(String(255))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    sli: Mapped[float | None] = mapped_column(Float, nullable=True)
    remaining: Mapped[float | None] = mapped_column(Float, nullable=True)
    burn_rates: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))


class AlertEpisode(Base):
    """One stretch of time an SLO alert fired, as the refresh saw it in Prometheus's ALERTS.

    ``ended_at`` is empty while it fires. ``alert_key`` identifies the alert
    (name and labels), so one alert's episodes follow each other.
    """

    __tablename__ = "alert_episodes"
    __table_args__ = (Index("ix_alert_episodes_slo_started", "slo_id", "started_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    slo_id: Mapped[str] = mapped_column(String(255))
    alert_key: Mapped[str] = mapped_column(Text)
    alertname: Mapped[str] = mapped_column(String(255))
    severity: Mapped[str] = mapped_column(String(32))
    labels: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
