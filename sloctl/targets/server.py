"""The sloctl server: register the SLOs so its registry holds exactly these, and
replace its on-call configuration.

``PUT /api/v1/slos`` with ``{"slos": [...]}`` (each SLO as
``SLO.model_dump(mode="json", by_alias=True)``) and ``Authorization: Bearer``;
the server answers ``{"data", "count", "created", "updated", "unchanged",
"removed"}``, or ``{"error": {"code", "message", "details"}}`` with 401 (bad or
missing token), 403 (the server has no token configured and refuses writes)
or 422 (invalid SLOs).

``PUT /api/v1/oncall/config`` with the on-call file's text as it is; the server
validates it whole and answers with what it holds now (:class:`OnCallApplied`),
or with the same error body (422: the file is invalid, and the server keeps
its configuration).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from pydantic import ValidationError

from sloctl.errors import TargetError
from sloctl.server_client import Answer
from sloctl.spec.models import SLO
from sloctl.targets import join, json_object, send

NAME = "server"
PATH = "/api/v1/slos"
#: The on-call push is reported as a target of its own.
ONCALL_NAME = "oncall"
ONCALL_PATH = "/api/v1/oncall/config"


@dataclass(frozen=True)
class Registration:
    """What the server's registry did with the SLOs, by SLO id."""

    count: int
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    removed: list[str]


class OnCallApplied(Answer):
    """What the server's on-call configuration holds after the push."""

    teams: int
    people: int
    schedules: int
    escalation_policies: int
    routes: int
    #: The file the server saved it to; None when it keeps it in memory only.
    persisted: str | None


class ServerAPI(Protocol):
    """What apply needs from the sloctl server."""

    def register(self, slos: Sequence[SLO]) -> Registration:
        """Make the server's registry hold exactly these SLOs."""
        ...

    def put_oncall(self, text: str) -> OnCallApplied:
        """Replace the server's on-call configuration with this file's text."""
        ...


def _ids(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise TargetError(NAME, f"PUT {PATH} answered with {key!r} that is not a list")
    return [str(v) for v in value]


_HINTS = {
    401: "the token is missing or wrong (--server-token)",
    403: "the server has no API token configured, so it refuses writes "
    "(set SLOCTL_SERVER_API_TOKEN on the server)",
}


def _detail(detail: object) -> str:
    """``field: message`` for the server's error details."""
    if isinstance(detail, dict) and {"field", "message"} <= detail.keys():
        return f"{detail['field']}: {detail['message']}"
    return str(detail)


def _error(response: httpx.Response, target: str, path: str, invalid: str) -> TargetError:
    """The server's refusal of ``PUT path``; ``invalid`` is the hint for a 422."""
    hints = {**_HINTS, 422: invalid}
    message, details = "", []
    try:
        error = response.json().get("error", {})
        message = str(error.get("message", ""))
        details = [_detail(d) for d in error.get("details", [])]
    except (ValueError, AttributeError):
        message = response.text.strip()[:500]
    return TargetError(
        target,
        f"PUT {path} refused with HTTP {response.status_code}: "
        f"{message or hints.get(response.status_code, 'no message')}",
        [hints.get(response.status_code, ""), *details],
    )


@dataclass(frozen=True)
class ServerClient:
    """The sloctl server's API at ``url`` with its API token."""

    url: str
    token: str = field(repr=False)
    client: httpx.Client = field(repr=False)

    def register(self, slos: Sequence[SLO]) -> Registration:
        """``PUT /api/v1/slos``: declarative, SLOs missing from the list are removed.

        Raises:
            TargetError: the server refused or answered in an unexpected shape.
        """
        body = {"slos": [s.model_dump(mode="json", by_alias=True) for s in slos]}
        response = send(
            self.client, NAME, "PUT", join(self.url, PATH), json=body, headers=self._headers()
        )
        if response.status_code != 200:
            raise _error(response, NAME, PATH, "the server found the SLOs invalid")
        data = json_object(response, NAME)
        count = data.get("count")
        if not isinstance(count, int):
            raise TargetError(NAME, f"PUT {PATH} answered without a count")
        return Registration(
            count=count,
            created=_ids(data, "created"),
            updated=_ids(data, "updated"),
            unchanged=_ids(data, "unchanged"),
            removed=_ids(data, "removed"),
        )

    def put_oncall(self, text: str) -> OnCallApplied:
        """``PUT /api/v1/oncall/config`` with the file's text; the server validates it whole.

        Raises:
            TargetError: the server refused (it keeps its configuration) or answered
                in an unexpected shape.
        """
        headers = {**self._headers(), "Content-Type": "application/yaml"}
        url = join(self.url, ONCALL_PATH)
        response = send(
            self.client, ONCALL_NAME, "PUT", url, content=text.encode("utf-8"), headers=headers
        )
        if response.status_code != 200:
            raise _error(
                response, ONCALL_NAME, ONCALL_PATH, "the server found the on-call file invalid"
            )
        try:
            return OnCallApplied.model_validate(json_object(response, ONCALL_NAME))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise TargetError(
                ONCALL_NAME, f"PUT {ONCALL_PATH} answered with a bad {where}: {first['msg']}"
            ) from err

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
