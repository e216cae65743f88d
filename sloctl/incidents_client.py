"""Incidents on the sloctl server: list, show, acknowledge, resolve (``sloctl incidents``...).

Answers are validated into typed models here; the HTTP transport is
injectable for tests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict

from sloctl.server_client import Answer, ServerClient

__all__ = ["Incident", "IncidentDetail", "IncidentList", "IncidentsClient"]

IncidentStatus = Literal["firing", "acknowledged", "resolved"]
#: The detail models keep the fields they do not name, so ``-o json`` shows them all.
EVERY_FIELD = ConfigDict(extra="allow")  # frozen, as every Answer


class Incident(Answer):
    """What the server says about one incident (the fields the CLI shows)."""

    id: int
    status: IncidentStatus
    title: str
    slo: str | None
    service: str | None
    team: str | None
    severity: str | None
    policy: str | None
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None


class IncidentAlert(Answer):
    """One alert of an incident, as Alertmanager last reported it (and every other field)."""

    model_config = EVERY_FIELD

    fingerprint: str
    status: Literal["firing", "resolved"]
    alertname: str | None
    labels: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None


class TimelineEntry(Answer):
    """One entry of an incident's timeline (``kind``: opened, escalated, notified...)."""

    model_config = EVERY_FIELD

    kind: str
    at: datetime
    detail: dict[str, Any]


class IncidentDetail(Incident):
    """One incident with its summary, alerts and timeline (oldest first), every field kept."""

    model_config = EVERY_FIELD

    summary: str | None
    escalation_step: int
    escalation_round: int
    alerts: list[IncidentAlert]
    timeline: list[TimelineEntry]


class IncidentList(Answer):
    """A page of incidents, and how many match in all (``count``, past the page's limit)."""

    data: list[Incident]
    count: int


class IncidentsClient(ServerClient):
    """A small client of the server's incidents API."""

    def incidents(self, *, status: IncidentStatus | None = None, limit: int = 100) -> IncidentList:
        """Incidents, newest first (of one status when given), and how many match in all."""
        params: dict[str, str | int] = {"limit": limit}
        if status is not None:
            params["status"] = status
        response = self._call("GET", "/api/v1/incidents", params=params)
        return self._parse(IncidentList, response, "from /api/v1/incidents")

    def incident(self, incident_id: int) -> IncidentDetail:
        """One incident with its alerts and timeline."""
        response = self._call("GET", f"/api/v1/incidents/{incident_id}")
        return self._parse(IncidentDetail, response, f"from /api/v1/incidents/{incident_id}")

    def acknowledge(self, incident_id: int, *, by: str) -> Incident:
        """Acknowledge an incident as ``by``."""
        return self._action(incident_id, "ack", by)

    def resolve(self, incident_id: int, *, by: str) -> Incident:
        """Resolve an incident as ``by``."""
        return self._action(incident_id, "resolve", by)

    def _action(self, incident_id: int, action: str, by: str) -> Incident:
        response = self._call("POST", f"/api/v1/incidents/{incident_id}/{action}", json={"by": by})
        return self._parse(Incident, response, f"to {action}")
