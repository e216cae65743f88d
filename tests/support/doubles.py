"""Local HTTP doubles of Grafana's and the sloctl server's APIs, for apply's clients.

Grafana has no package on these machines and the server is built elsewhere,
so tests run these instead: real HTTP servers on free loopback ports that
check each request the way the documented API does (method, path, the
``Authorization: Bearer`` header, the body's shape) and answer in the
documented shape. Every request that the real API would refuse is answered
with its error and recorded in ``problems``, so a test can assert there were
none. They are doubles, not Grafana or the server: they model only the calls
sloctl makes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from sloctl.spec.models import SLO
from tests.support.http_double import HttpDouble, Reply, Request, serve

__all__ = ["GrafanaDouble", "ServerDouble", "serve"]


@dataclass
class Double(HttpDouble):
    """A documented API's double: its token, and every request it refused in ``problems``."""

    token: str | None = None
    problems: list[str] = field(default_factory=list)

    def handle(self, request: Request) -> Reply:
        status, data = self.answer(request)
        return Reply.of(status, data)

    def answer(self, request: Request) -> tuple[int, Any]:  # pragma: no cover - abstract
        raise NotImplementedError


def body_of(request: Request) -> Any:
    """The request's JSON body, its text when it is not JSON, None when empty."""
    try:
        return request.json
    except ValueError:
        return request.raw.decode(errors="replace")


# ------------------------------------------------------------------ Grafana


@dataclass
class GrafanaDouble(Double):
    """Grafana 11's folder and dashboard API (``/api/folders``, ``/api/dashboards``)."""

    folders: dict[str, str] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1

    def _refuse(self, status: int, message: str, /, **extra: Any) -> tuple[int, Any]:
        self.problems.append(f"{status} {message}")
        return status, {"message": message, **extra}

    def answer(self, request: Request) -> tuple[int, Any]:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._refuse(401, "Unauthorized")
        path, method = request.path, request.method
        if method == "GET" and path.startswith("/api/folders/"):
            uid = path.removeprefix("/api/folders/")
            if uid not in self.folders:
                return 404, {"message": "folder not found", "status": "not-found"}
            return 200, self._folder(uid)
        if method == "POST" and path == "/api/folders":
            return self._create_folder(request)
        if method == "GET" and path.startswith("/api/dashboards/uid/"):
            uid = path.removeprefix("/api/dashboards/uid/")
            saved = self.dashboards.get(uid)
            if saved is None:
                return 404, {"message": "Dashboard not found"}
            return 200, {
                "dashboard": saved["dashboard"],
                "meta": {"folderUid": saved["folderUid"], "slug": uid, "url": f"/d/{uid}/{uid}"},
            }
        if method == "POST" and path == "/api/dashboards/db":
            return self._save(request)
        if method == "DELETE" and path.startswith("/api/dashboards/uid/"):
            uid = path.removeprefix("/api/dashboards/uid/")
            saved = self.dashboards.pop(uid, None)
            if saved is None:
                return 404, {"message": "Dashboard not found"}
            title = saved["dashboard"]["title"]
            return 200, {"title": title, "message": f"Dashboard {title} deleted", "id": 1}
        return self._refuse(404, f"no such API: {method} {path}")

    def _folder(self, uid: str) -> dict[str, Any]:
        return {"id": 1, "uid": uid, "title": self.folders[uid], "url": f"/dashboards/f/{uid}/"}

    def _create_folder(self, request: Request) -> tuple[int, Any]:
        body = body_of(request)
        if not isinstance(body, dict) or not isinstance(body.get("title"), str):
            return self._refuse(400, "folder title is required")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return self._refuse(400, "bad request data")
        uid = str(body.get("uid") or f"f{len(self.folders)}")
        if uid in self.folders or body["title"] in self.folders.values():
            return self._refuse(409, "a folder with the same name or uid already exists")
        self.folders[uid] = body["title"]
        return 200, self._folder(uid)

    def _save(self, request: Request) -> tuple[int, Any]:
        body = body_of(request)
        if not request.headers.get("content-type", "").startswith("application/json"):
            return self._refuse(400, "bad request data")
        if not isinstance(body, dict) or not isinstance(body.get("dashboard"), dict):
            return self._refuse(400, "dashboard is required")
        board = body["dashboard"]
        uid = board.get("uid")
        if not isinstance(board.get("title"), str) or not board["title"]:
            return self._refuse(400, "Dashboard title cannot be empty")
        if not isinstance(uid, str) or not 0 < len(uid) <= 40:
            return self._refuse(400, "uid too long, max 40 characters")
        if not isinstance(board.get("panels"), list) or "schemaVersion" not in board:
            return self._refuse(400, "not a dashboard model (panels, schemaVersion)")
        folder = body.get("folderUid")
        if folder not in self.folders:
            return self._refuse(400, "folder not found")
        existing = self.dashboards.get(uid)
        if existing is not None and body.get("overwrite") is not True:
            return self._refuse(
                412, "A dashboard with the same uid already exists", status="name-exists"
            )
        if board.get("id") is not None:
            return self._refuse(400, "dashboard id must be null to save by uid")
        version = existing["dashboard"]["version"] + 1 if existing else 1
        number = existing["dashboard"]["id"] if existing else self.next_id
        self.next_id += existing is None
        self.dashboards[uid] = {
            "dashboard": {**board, "id": number, "version": version},
            "folderUid": folder,
        }
        return 200, {
            "id": number,
            "uid": uid,
            "url": f"/d/{uid}/{uid}",
            "status": "success",
            "version": version,
            "slug": uid,
        }


# ------------------------------------------------------------- sloctl server


@dataclass
class ServerDouble(Double):
    """The server's registration contract: ``PUT /api/v1/slos``, declarative."""

    registry: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _error(self, status: int, code: str, message: str, details: list[Any]) -> tuple[int, Any]:
        self.problems.append(f"{status} {code}: {message}")
        return status, {"error": {"code": code, "message": message, "details": details}}

    def answer(self, request: Request) -> tuple[int, Any]:
        if request.path != "/api/v1/slos":
            return self._error(404, "not_found", f"no route {request.path}", [])
        if request.method != "PUT":
            return self._error(405, "method_not_allowed", f"{request.method} not allowed", [])
        if self.token is None:
            return self._error(403, "writes_disabled", "no API token configured", [])
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._error(401, "unauthorized", "missing or invalid bearer token", [])
        body = body_of(request)
        if (
            not isinstance(body, dict)
            or set(body) != {"slos"}
            or not isinstance(body["slos"], list)
        ):
            return self._error(422, "invalid", 'body must be {"slos": [...]}', [])
        wanted: dict[str, dict[str, Any]] = {}
        details = []
        for i, item in enumerate(body["slos"]):
            try:
                slo = SLO.model_validate(item)
            except ValidationError as err:
                details.append({"index": i, "errors": str(err).splitlines()[:3]})
                continue
            wanted[slo.id] = slo.model_dump(mode="json", by_alias=True)
        if details:
            return self._error(422, "invalid", "invalid SLOs", details)
        created = sorted(set(wanted) - set(self.registry))
        removed = sorted(set(self.registry) - set(wanted))
        kept = sorted(set(wanted) & set(self.registry))
        updated = [i for i in kept if self.registry[i] != wanted[i]]
        unchanged = [i for i in kept if self.registry[i] == wanted[i]]
        self.registry = wanted
        return 200, {
            "data": list(wanted.values()),
            "count": len(wanted),
            "created": created,
            "updated": updated,
            "unchanged": unchanged,
            "removed": removed,
        }
