"""The on-call part of the sloctl server's API: who is on call, and replacing the configuration.

Answers are validated into typed models here, so commands never handle raw
JSON. The HTTP transport is injectable for tests.
"""

from __future__ import annotations

from datetime import datetime

import httpx
from pydantic import ValidationError

from sloctl.errors import TargetError
from sloctl.server_client import Answer, ServerClient, error_message

NAME = "oncall"
WHO_PATH = "/api/v1/oncall"
CONFIG_PATH = "/api/v1/oncall/config"


class PersonOnCall(Answer):
    id: str
    name: str


class ScheduleOnCall(Answer):
    schedule: str
    name: str
    time_zone: str
    person: PersonOnCall | None
    shift_start: datetime | None
    shift_end: datetime | None
    source: str | None


class TeamOnCall(Answer):
    team: str
    name: str
    escalation_policy: str
    schedules: list[ScheduleOnCall]


class OnCallNow(Answer):
    at: datetime
    data: list[TeamOnCall]
    count: int


class OnCallApplied(Answer):
    teams: int
    people: int
    schedules: int
    escalation_policies: int
    routes: int
    persisted: str | None


class OnCallClient(ServerClient):
    """A small client of ``/api/v1/oncall``."""

    def who(self, *, team: str | None = None, at: datetime | None = None) -> OnCallNow:
        """Who is on call now (or at ``at``), for every team or one.

        Raises:
            ServerError: the server is unreachable or refused (unknown team, no configuration).
        """
        params = {k: v for k, v in (("team", team), ("at", at and at.isoformat())) if v}
        response = self._call("GET", WHO_PATH, params=params)
        return self._parse(OnCallNow, response, f"from {WHO_PATH}")

    def put_config(self, text: str) -> OnCallApplied:
        """``PUT /api/v1/oncall/config`` with the file's text; the server validates it whole.

        Raises:
            TargetError: the server refused (with its reasons, one per line) or was unreachable.
        """
        url = f"{self.base_url}{CONFIG_PATH}"
        try:
            response = self._http.put(
                CONFIG_PATH,
                content=text.encode("utf-8"),
                headers={"Content-Type": "application/yaml", "Accept": "application/json"},
            )
        except httpx.HTTPError as err:
            raise TargetError(NAME, f"cannot reach {url}: {err}") from err
        if response.status_code != 200:
            details: list[str] = []
            try:
                error = response.json()["error"]
                details = [f"{d['field']}: {d['message']}" for d in error.get("details", [])]
            except (ValueError, KeyError, TypeError):
                pass
            raise TargetError(
                NAME, f"PUT {CONFIG_PATH} refused: {error_message(response)}", details
            )
        try:
            return OnCallApplied.model_validate_json(response.content)
        except ValidationError as err:
            raise TargetError(NAME, f"unexpected answer from {CONFIG_PATH}: {err}") from err
