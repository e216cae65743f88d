"""The sloctl server: register the SLOs so its registry holds exactly these.

``PUT /api/v1/slos`` with ``{"slos": [...]}`` (each SLO as
``SLO.model_dump(mode="json", by_alias=True)``) and ``Authorization: Bearer``;
the server answers ``{"data", "count", "created", "updated", "unchanged",
"removed"}``, or ``{"error": {"code", "message", "details"}}`` with 401 (bad or
missing token), 403 (the server has no token configured and refuses writes)
or 422 (invalid SLOs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from sloctl.errors import TargetError
from sloctl.spec.models import SLO
from sloctl.targets import join, json_object, send

NAME = "server"
PATH = "/api/v1/slos"


@dataclass(frozen=True)
class Registration:
    """What the server's registry did with the SLOs, by SLO id."""

    count: int
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    removed: list[str]


class ServerAPI(Protocol):
    """What apply needs from the sloctl server."""

    def register(self, slos: Sequence[SLO]) -> Registration:
        """Make the server's registry hold exactly these SLOs."""
        ...


def _ids(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise TargetError(NAME, f"PUT {PATH} answered with {key!r} that is not a list")
    return [str(v) for v in value]


def _error(response: httpx.Response) -> TargetError:
    hints = {
        401: "the token is missing or wrong (--server-token)",
        403: "the server has no API token configured, so it refuses writes "
        "(set SLOCTL_SERVER_API_TOKEN on the server)",
        422: "the server found the SLOs invalid",
    }
    message, details = "", []
    try:
        error = response.json().get("error", {})
        message = str(error.get("message", ""))
        details = [str(d) for d in error.get("details", [])]
    except (ValueError, AttributeError):
        message = response.text.strip()[:500]
    return TargetError(
        NAME,
        f"PUT {PATH} refused with HTTP {response.status_code}: "
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
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        response = send(self.client, NAME, "PUT", join(self.url, PATH), json=body, headers=headers)
        if response.status_code != 200:
            raise _error(response)
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
