"""``GET /api/v1/oncall`` and ``PUT /api/v1/oncall/config`` on the real app and database."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from server.app import create_app
from server.settings import Settings
from tests.helpers import ROOT

pytestmark = pytest.mark.integration

TOKEN = "oncall-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Tuesday 2026-11-24 11:00 in Berlin: Bob has the weekly shift of shop-primary.
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def make_client(tmp_path: Path, oncall: Path | None) -> TestClient:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'server.db'}",
        api_token=TOKEN,
        oncall_config=oncall,
    )
    app = create_app(
        settings, clock=lambda: NOW, metrics_registry=CollectorRegistry(), start_scheduler=False
    )
    return TestClient(app)


@pytest.fixture
def oncall_file(tmp_path: Path) -> Path:
    path = tmp_path / "oncall.yaml"
    shutil.copy(ROOT / "oncall.yaml", path)
    return path


@pytest.fixture
def client(tmp_path: Path, oncall_file: Path) -> Iterator[TestClient]:
    with make_client(tmp_path, oncall_file) as test_client:
        yield test_client


def people(body: dict[str, Any]) -> dict[str, str | None]:
    return {
        row["schedule"]: row["person"]["id"] if row["person"] else None
        for team in body["data"]
        for row in team["schedules"]
    }


def test_who_is_on_call_now(client: TestClient) -> None:
    response = client.get("/api/v1/oncall")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["data"][0]["team"] == "shop"
    assert people(body) == {"shop-primary": "bob", "shop-secondary": "carol"}
    primary = body["data"][0]["schedules"][0]
    # Dave's night layer ended at 08:00 Berlin and takes over again at 20:00.
    assert primary["shift_start"] == "2026-11-24T07:00:00Z"
    assert primary["shift_end"] == "2026-11-24T19:00:00Z"
    assert primary["source"] == "layer:weekly"
    assert primary["time_zone"] == "Europe/Berlin"


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-11-24T22:00:00Z", "dave"),
        ("2026-11-24T23:00:00+01:00", "dave"),
        ("2026-11-24T22:00:00", "dave"),  # no offset: UTC
        # 19:30 Berlin: Bob, before Dave's night; as New York's 18:30 (00:30 Berlin), Dave.
        ("2026-11-24T18:30:00", "bob"),
        ("2026-12-25T12:00:00Z", "bob"),  # the Christmas override
        ("2026-11-30T08:30:00Z", "carol"),  # Monday 09:30 Berlin: next weekly shift
    ],
)
@pytest.mark.usefixtures("new_york_local_time")  # naive times must not be read as local
def test_who_is_on_call_at(client: TestClient, at: str, expected: str) -> None:
    response = client.get("/api/v1/oncall", params={"at": at, "team": "shop"})
    assert response.status_code == 200, response.text
    assert people(response.json())["shop-primary"] == expected


def test_unknown_team_and_bad_time(client: TestClient) -> None:
    response = client.get("/api/v1/oncall", params={"team": "nope"})
    assert response.status_code == 404
    assert response.json()["error"]["details"] == [
        {"field": "team", "message": "unknown team 'nope'"}
    ]
    response = client.get("/api/v1/oncall", params={"at": "yesterday"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "at"


def test_without_configuration(tmp_path: Path) -> None:
    with make_client(tmp_path, None) as client:
        response = client.get("/api/v1/oncall")
        assert response.status_code == 404
        assert "SLOCTL_SERVER_ONCALL_CONFIG" in response.json()["error"]["message"]
        # Applying one works without a file; it lives in memory.
        text = (ROOT / "oncall.yaml").read_text(encoding="utf-8")
        response = client.put("/api/v1/oncall/config", content=text, headers=AUTH)
        assert response.status_code == 200
        assert response.json()["persisted"] is None
        assert people(client.get("/api/v1/oncall").json())["shop-primary"] == "bob"


def test_put_needs_the_api_token(client: TestClient, oncall_file: Path) -> None:
    before = oncall_file.read_text(encoding="utf-8")
    response = client.put("/api/v1/oncall/config", content="x: 1")
    assert response.status_code == 401
    response = client.put(
        "/api/v1/oncall/config", content="x: 1", headers={"Authorization": "Bearer wrong"}
    )
    assert response.status_code == 401
    assert oncall_file.read_text(encoding="utf-8") == before


def test_invalid_configuration_changes_nothing(client: TestClient, oncall_file: Path) -> None:
    before = oncall_file.read_text(encoding="utf-8")
    bad = before.replace("people: [alice, bob, carol]", "people: [alice, eve, carol]")
    response = client.put(
        "/api/v1/oncall/config",
        content=bad,
        headers={**AUTH, "Content-Type": "application/yaml"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["details"][0]["field"] == "spec.schedules[0].layers[0].people[1]"
    line = next(i for i, text in enumerate(bad.splitlines(), 1) if "alice, eve" in text)
    assert error["details"][0]["message"].startswith(f"line {line}: person 'eve' is not defined")
    assert oncall_file.read_text(encoding="utf-8") == before
    assert people(client.get("/api/v1/oncall").json())["shop-primary"] == "bob"


def test_valid_configuration_replaces_the_file_and_the_answer(
    client: TestClient, oncall_file: Path
) -> None:
    data = yaml.safe_load(oncall_file.read_text(encoding="utf-8"))
    data["spec"]["schedules"][0]["overrides"] = [
        {"person": "alice", "start": "2026-11-24T00:00:00Z", "end": "2026-11-25T00:00:00Z"}
    ]
    body = json.dumps(data, default=str)
    response = client.put(
        "/api/v1/oncall/config",
        content=body,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "teams": 1,
        "people": 4,
        "schedules": 2,
        "escalation_policies": 1,
        "routes": 1,
        "persisted": str(oncall_file),
    }
    assert people(client.get("/api/v1/oncall").json())["shop-primary"] == "alice"
    assert oncall_file.read_text(encoding="utf-8") == body
    assert [p.name for p in oncall_file.parent.iterdir() if p.name.startswith(".oncall")] == []


def test_server_restart_keeps_what_was_applied(tmp_path: Path, oncall_file: Path) -> None:
    text = oncall_file.read_text(encoding="utf-8").replace(
        "people: [alice, bob, carol]", "people: [carol, alice, bob]"
    )
    with make_client(tmp_path, oncall_file) as client:
        assert client.put("/api/v1/oncall/config", content=text, headers=AUTH).status_code == 200
    with make_client(tmp_path, oncall_file) as client:
        assert people(client.get("/api/v1/oncall").json())["shop-primary"] == "alice"


def test_too_large_body_is_refused(client: TestClient) -> None:
    response = client.put("/api/v1/oncall/config", content="#" * (1024 * 1024 + 1), headers=AUTH)
    assert response.status_code == 413
    assert "limit" in response.json()["error"]["message"]
