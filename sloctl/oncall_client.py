"""The on-call part of the sloctl server's API that commands read: who is on call.

Answers are validated into typed models here, so commands never handle raw
JSON. The HTTP transport is injectable for tests. ``sloctl apply --oncall``
replaces the configuration through :mod:`sloctl.targets.server`, as a target.
"""

from __future__ import annotations

from datetime import datetime

from sloctl.server_client import Answer, ServerClient

WHO_PATH = "/api/v1/oncall"


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
