"""Grafana: put the generated dashboards into a folder through the HTTP API.

Uses the dashboard API Grafana 11 documents: ``GET /api/folders/:uid`` and
``POST /api/folders`` for the folder, ``GET /api/dashboards/uid/:uid`` to see
what is there, ``POST /api/dashboards/db`` with ``overwrite: true`` to save.
Authenticates with a service account token (``Authorization: Bearer``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import httpx

from sloctl.errors import TargetError
from sloctl.targets import body_message, join, json_object, send

NAME = "grafana"
#: Keys Grafana sets itself on save; they do not make a dashboard different.
VOLATILE_KEYS = ("id", "version")

Saved = Literal["created", "updated", "unchanged"]


class GrafanaAPI(Protocol):
    """What apply needs from Grafana."""

    def ensure_folder(self, uid: str, title: str) -> bool:
        """Create the folder unless it exists; True when it was created."""
        ...

    def save_dashboard(self, dashboard: dict[str, Any], folder_uid: str) -> Saved:
        """Create or overwrite the dashboard with the same uid in the folder."""
        ...

    def delete_dashboard(self, uid: str) -> bool:
        """Delete a dashboard; False when there was none."""
        ...


def _comparable(dashboard: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dashboard.items() if k not in VOLATILE_KEYS}


@dataclass(frozen=True)
class GrafanaClient:
    """Grafana's HTTP API at ``url`` with a service account token."""

    url: str
    token: str = field(repr=False)
    client: httpx.Client = field(repr=False)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        return send(self.client, NAME, method, join(self.url, path), headers=headers, **kwargs)

    def _refused(self, what: str, response: httpx.Response) -> TargetError:
        hint = {
            401: "the token is missing, wrong or expired (--grafana-token)",
            403: "the token's service account may not do this (it needs the Editor role)",
            412: "the dashboard changed in Grafana meanwhile",
        }.get(response.status_code, "")
        return TargetError(
            NAME, f"{what} refused with HTTP {response.status_code}", [body_message(response), hint]
        )

    def ensure_folder(self, uid: str, title: str) -> bool:
        """Look the folder up by uid; create it when Grafana answers 404.

        Raises:
            TargetError: Grafana refused.
        """
        found = self._send("GET", f"/api/folders/{uid}")
        if found.status_code == 200:
            return False
        if found.status_code != 404:
            raise self._refused(f"GET /api/folders/{uid}", found)
        created = self._send("POST", "/api/folders", json={"uid": uid, "title": title})
        if created.status_code != 200:
            raise self._refused(f"creating folder {title!r}", created)
        return True

    def save_dashboard(self, dashboard: dict[str, Any], folder_uid: str) -> Saved:
        """Save unless Grafana already has the same dashboard in the same folder.

        Raises:
            TargetError: Grafana refused.
        """
        uid = str(dashboard["uid"])
        current = self._send("GET", f"/api/dashboards/uid/{uid}")
        status: Saved = "updated"
        if current.status_code == 404:
            status = "created"
        elif current.status_code == 200:
            data = json_object(current, NAME)
            meta = data.get("meta")
            folder = meta.get("folderUid") if isinstance(meta, dict) else None
            existing = data.get("dashboard")
            if (
                isinstance(existing, dict)
                and _comparable(existing) == _comparable(dashboard)
                and folder == folder_uid
            ):
                return "unchanged"
        else:
            raise self._refused(f"GET /api/dashboards/uid/{uid}", current)
        body = {
            "dashboard": {**dashboard, "id": None},
            "folderUid": folder_uid,
            "message": "sloctl apply",
            "overwrite": True,
        }
        saved = self._send("POST", "/api/dashboards/db", json=body)
        if saved.status_code != 200:
            raise self._refused(f"saving dashboard {uid}", saved)
        if json_object(saved, NAME).get("status") != "success":
            raise TargetError(NAME, f"saving dashboard {uid}: Grafana did not answer success")
        return status

    def delete_dashboard(self, uid: str) -> bool:
        """``DELETE /api/dashboards/uid/:uid``; a 404 means it is gone already.

        Raises:
            TargetError: Grafana refused.
        """
        response = self._send("DELETE", f"/api/dashboards/uid/{uid}")
        if response.status_code == 404:
            return False
        if response.status_code != 200:
            raise self._refused(f"deleting dashboard {uid}", response)
        return True
