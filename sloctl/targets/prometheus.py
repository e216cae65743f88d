"""Prometheus: reload the rule files and see which rule groups it runs.

Needs Prometheus started with ``--web.enable-lifecycle`` (for ``POST /-/reload``)
and a ``rule_files`` entry that covers the rules directory apply writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

from sloctl.errors import TargetError
from sloctl.targets import body_message, join, json_object, send

NAME = "prometheus"


class PrometheusAPI(Protocol):
    """What apply needs from Prometheus."""

    def reload(self) -> None:
        """Make Prometheus read its configuration and rule files again."""
        ...

    def rule_groups(self) -> dict[str, str]:
        """The rule groups Prometheus runs now: name to file."""
        ...


@dataclass(frozen=True)
class PrometheusClient:
    """Prometheus's HTTP API at ``url``."""

    url: str
    client: httpx.Client

    def reload(self) -> None:
        """``POST /-/reload``.

        Raises:
            TargetError: Prometheus refused (its message says why: a broken
                configuration, a rule file it cannot load, the lifecycle API off).
        """
        response = send(self.client, NAME, "POST", join(self.url, "/-/reload"))
        if response.status_code != 200:
            detail = body_message(response)
            if response.status_code == 403:
                detail += " (start Prometheus with --web.enable-lifecycle)"
            raise TargetError(NAME, f"reload refused with HTTP {response.status_code}", [detail])

    def rule_groups(self) -> dict[str, str]:
        """``GET /api/v1/rules``.

        Raises:
            TargetError: the API failed or answered in an unexpected shape.
        """
        response = send(self.client, NAME, "GET", join(self.url, "/api/v1/rules"))
        if response.status_code != 200:
            raise TargetError(
                NAME,
                f"GET /api/v1/rules answered HTTP {response.status_code}",
                [body_message(response)],
            )
        data = json_object(response, NAME).get("data")
        groups = data.get("groups") if isinstance(data, dict) else None
        if not isinstance(groups, list):
            raise TargetError(NAME, "GET /api/v1/rules answered without data.groups")
        return {
            str(group["name"]): str(group.get("file", ""))
            for group in groups
            if isinstance(group, dict) and "name" in group
        }
