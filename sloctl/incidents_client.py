"""Incidents on the sloctl server: list, acknowledge, resolve (``sloctl incidents``, ``ack``).

Answers are validated into typed models here; the HTTP transport is
injectable for tests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from sloctl.budget_client import DEFAULT_SERVER_URL
from sloctl.errors import ServerError

__all__ = ["DEFAULT_SERVER_URL", "Incident", "IncidentsClient"]

IncidentStatus = Literal["firing", "acknowledged", "resolved"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Incident(_Model):
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


class _IncidentList(_Model):
    data: list[Incident]
    count: int


class IncidentsClient:
    """A small client of the server's incidents API."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> IncidentsClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as err:
            raise ServerError(self.base_url, f"cannot reach the sloctl server: {err}") from err
        if response.status_code >= 400:
            raise ServerError(self.base_url, _error_message(response))
        return response

    def incidents(
        self, *, status: IncidentStatus | None = None, limit: int = 100
    ) -> list[Incident]:
        """Incidents, newest first (of one status when given)."""
        params: dict[str, str | int] = {"limit": limit}
        if status is not None:
            params["status"] = status
        response = self._call("GET", "/api/v1/incidents", params=params)
        try:
            return _IncidentList.model_validate_json(response.content).data
        except ValidationError as err:
            raise ServerError(
                self.base_url, f"unexpected answer from /api/v1/incidents: {err}"
            ) from err

    def acknowledge(self, incident_id: int, *, by: str) -> Incident:
        """Acknowledge an incident as ``by``."""
        return self._action(incident_id, "ack", by)

    def resolve(self, incident_id: int, *, by: str) -> Incident:
        """Resolve an incident as ``by``."""
        return self._action(incident_id, "resolve", by)

    def _action(self, incident_id: int, action: str, by: str) -> Incident:
        response = self._call("POST", f"/api/v1/incidents/{incident_id}/{action}", json={"by": by})
        try:
            return Incident.model_validate_json(response.content)
        except ValidationError as err:
            raise ServerError(self.base_url, f"unexpected answer to {action}: {err}") from err


def _error_message(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        return f"HTTP {response.status_code}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}: {response.text[:200]}"
