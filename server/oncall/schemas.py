"""The incidents API's wire format: what the store's rows look like as JSON."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.oncall.models import Incident, IncidentAlert, IncidentEvent
from server.oncall.store import IncidentStatus, IngestResult


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IncidentPublic(_Public):
    """One incident as the list shows it."""

    id: int
    status: IncidentStatus
    title: str
    summary: str | None
    slo: str | None
    service: str | None
    team: str | None
    severity: str | None
    policy: str | None
    receiver: str
    group_key: str
    labels: dict[str, str]
    external_url: str
    escalation_step: int
    escalation_round: int
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    updated_at: datetime


class IncidentsPublic(_Public):
    data: list[IncidentPublic]
    count: int


class AlertPublic(_Public):
    """One alert (fingerprint) of an incident, as last reported."""

    fingerprint: str
    status: Literal["firing", "resolved"]
    alertname: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str


class EventPublic(_Public):
    """One timeline entry."""

    id: int
    kind: str
    at: datetime
    detail: dict[str, Any]


class IncidentDetail(IncidentPublic):
    """One incident with its alerts and its timeline (oldest first)."""

    alerts: list[AlertPublic]
    timeline: list[EventPublic]


class IncidentAction(_Public):
    """Body of acknowledge and resolve: who did it."""

    by: str = Field(min_length=1, max_length=255, description="Who acknowledges or resolves.")


class IngestPublic(_Public):
    """The webhook's answer: which incident the notification went to, and what it did."""

    incident_id: int
    status: IncidentStatus
    opened: bool
    resolved: bool
    reopened: bool
    changed: bool


def incident_public(row: Incident) -> IncidentPublic:
    return IncidentPublic.model_validate(_incident_fields(row))


def _incident_fields(row: Incident) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "title": row.title,
        "summary": row.summary,
        "slo": row.slo,
        "service": row.service,
        "team": row.team,
        "severity": row.severity,
        "policy": row.policy,
        "receiver": row.receiver,
        "group_key": row.group_key,
        "labels": json.loads(row.labels),
        "external_url": row.external_url,
        "escalation_step": row.escalation_step,
        "escalation_round": row.escalation_round,
        "opened_at": row.opened_at,
        "acknowledged_at": row.acknowledged_at,
        "acknowledged_by": row.acknowledged_by,
        "resolved_at": row.resolved_at,
        "resolved_by": row.resolved_by,
        "updated_at": row.updated_at,
    }


def incident_detail(
    row: Incident, alerts: list[IncidentAlert], events: list[IncidentEvent]
) -> IncidentDetail:
    return IncidentDetail.model_validate(
        {
            **_incident_fields(row),
            "alerts": [
                {
                    "fingerprint": a.fingerprint,
                    "status": a.status,
                    "alertname": a.alertname,
                    "labels": json.loads(a.labels),
                    "annotations": json.loads(a.annotations),
                    "starts_at": a.starts_at,
                    "ends_at": a.ends_at,
                    "generator_url": a.generator_url,
                }
                for a in alerts
            ],
            "timeline": [
                {"id": e.id, "kind": e.kind, "at": e.at, "detail": json.loads(e.detail)}
                for e in events
            ],
        }
    )


def ingest_public(result: IngestResult) -> IngestPublic:
    return IngestPublic(
        incident_id=result.incident_id,
        status=result.status,
        opened=result.opened,
        resolved=result.resolved,
        reopened=result.reopened,
        changed=result.changed,
    )
