"""The incidents API (list, detail, acknowledge, resolve) on SQLite and PostgreSQL, and
``sloctl incidents`` / ``ack`` / ``resolve`` as subprocesses against the server under uvicorn."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.helpers import clean_env
from tests.support.alertmanager import alert, payload
from tests.support.clock import NOW, FakeClock
from tests.support.databases import database
from tests.support.incidents import API_TOKEN, HOOK, URL, Recorder, make_app
from tests.support.server import serve_in_thread

pytestmark = pytest.mark.integration

API = {"Authorization": f"Bearer {API_TOKEN}"}


def open_incident(client: TestClient, group: str = "orders-availability", **labels: str) -> int:
    body = payload(alert(f"{abs(hash(group)) % 10**8:08d}", **labels), group=group)
    body["commonLabels"]["slo"] = group
    response = client.post(URL, json=body, headers=HOOK)
    assert response.status_code == 200, response.text
    return int(response.json()["incident_id"])


def test_acknowledge_then_resolve(client: TestClient, clock: FakeClock, recorder: Recorder):
    incident_id = open_incident(client)
    clock.now = NOW + timedelta(minutes=3)
    acked = client.post(f"/api/v1/incidents/{incident_id}/ack", json={"by": "alice"}, headers=API)
    assert acked.status_code == 200, acked.text
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == "alice"
    assert acked.json()["acknowledged_at"] == "2026-11-24T12:03:00Z"
    again = client.post(f"/api/v1/incidents/{incident_id}/ack", json={"by": "bob"}, headers=API)
    assert again.json()["acknowledged_by"] == "alice", "a second ack changes nothing"
    clock.now = NOW + timedelta(minutes=9)
    done = client.post(f"/api/v1/incidents/{incident_id}/resolve", json={"by": "bob"}, headers=API)
    assert done.status_code == 200
    assert done.json()["status"] == "resolved"
    assert done.json()["resolved_by"] == "bob"
    late = client.post(f"/api/v1/incidents/{incident_id}/ack", json={"by": "carol"}, headers=API)
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "conflict"
    timeline = client.get(f"/api/v1/incidents/{incident_id}").json()["timeline"]
    assert [(e["kind"], e["detail"].get("by")) for e in timeline] == [
        ("received", None),
        ("opened", None),
        ("acknowledged", "alice"),
        ("resolved", "bob"),
    ]
    assert recorder.calls == [
        ("opened", incident_id),
        ("acknowledged", incident_id),
        ("resolved", incident_id),
    ]


def test_list_filters_and_order(client: TestClient, clock: FakeClock):
    first = open_incident(client, "orders-availability")
    clock.now = NOW + timedelta(minutes=1)
    second = open_incident(client, "billing-latency", team="money")
    client.post(f"/api/v1/incidents/{first}/ack", json={"by": "alice"}, headers=API)

    def ids(**params: Any) -> list[int]:
        body = client.get("/api/v1/incidents", params=params).json()
        if "limit" not in params:
            assert body["count"] == len(body["data"])
        return [item["id"] for item in body["data"]]

    assert ids() == [second, first], "newest first"
    assert ids(status="acknowledged") == [first]
    assert ids(status="firing") == [second]
    assert ids(team="money") == [second]
    assert ids(slo="orders-availability") == [first]
    assert ids(limit=1) == [second]
    cut = client.get("/api/v1/incidents", params={"limit": 1}).json()
    assert cut["count"] == 2, "count is every incident that matches, not the page"
    assert client.get("/api/v1/incidents", params={"limit": 2}).json()["count"] == 2
    by_team = client.get("/api/v1/incidents", params={"limit": 1, "team": "money"}).json()
    assert by_team["count"] == 1
    too_many = client.get("/api/v1/incidents", params={"limit": 1001})
    assert too_many.status_code == 422
    assert too_many.json()["error"]["details"][0]["field"] == "limit"
    bad = client.get("/api/v1/incidents", params={"status": "sleeping"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "status"


def test_writes_need_the_api_token_and_a_name(client: TestClient, recorder: Recorder):
    incident_id = open_incident(client)
    path = f"/api/v1/incidents/{incident_id}/ack"
    assert client.post(path, json={"by": "alice"}).status_code == 401
    assert client.post(path, json={"by": "alice"}, headers=HOOK).status_code == 401
    nameless = client.post(path, json={}, headers=API)
    assert nameless.status_code == 422
    assert nameless.json()["error"]["details"][0]["field"] == "by"
    assert client.post(path, json={"by": ""}, headers=API).status_code == 422
    missing = client.post("/api/v1/incidents/999999/ack", json={"by": "a"}, headers=API)
    assert missing.status_code == 404
    assert client.get("/api/v1/incidents/999999").status_code == 404
    assert client.get(f"/api/v1/incidents/{incident_id}").json()["status"] == "firing"
    assert recorder.calls == [("opened", incident_id)]


def test_without_an_api_token_acknowledging_is_refused(kind: str, tmp_path: Path, clock: FakeClock):
    with database(kind, tmp_path) as (_url, engine):
        app = make_app(tmp_path, engine, clock, api_token=None)
        with TestClient(app) as client:
            incident_id = open_incident(client)
            refused = client.post(
                f"/api/v1/incidents/{incident_id}/ack", json={"by": "a"}, headers=API
            )
            assert refused.status_code == 403
            assert client.get(f"/api/v1/incidents/{incident_id}").json()["status"] == "firing"


def sloctl(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = clean_env() if token is None else clean_env(SLOCTL_SERVER_API_TOKEN=token)
    return subprocess.run(
        [sys.executable, "-m", "sloctl", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_cli_lists_acknowledges_and_resolves(tmp_path: Path, clock: FakeClock):
    with database("sqlite", tmp_path) as (_url, engine):
        app = make_app(tmp_path, engine, clock)
        with serve_in_thread(app) as base:
            body = payload(alert("aa01"))
            posted = httpx.post(f"{base}{URL}", json=body, headers=HOOK, timeout=30)
            assert posted.status_code == 200, posted.text
            incident_id = posted.json()["incident_id"]
            listed = sloctl("incidents", "--server-url", base, "-o", "json")
            assert listed.returncode == 0, listed.stderr
            [item] = json.loads(listed.stdout)
            assert (item["id"], item["status"], item["slo"]) == (
                incident_id,
                "firing",
                "orders-availability",
            )
            table = sloctl("incidents", "--server-url", base, "--status", "firing")
            assert "orders-availability" in table.stdout
            assert "firing" in table.stdout
            assert "newest" not in table.stdout, "no title while every match is listed"

            refused = sloctl("ack", str(incident_id), "--server-url", base, "--by", "alice")
            assert refused.returncode == 1
            assert refused.stderr.startswith("Error: ")
            assert "HTTP 401" in refused.stderr

            acked = sloctl(
                "ack", str(incident_id), "--server-url", base, "--by", "alice", token=API_TOKEN
            )
            assert acked.returncode == 0, acked.stderr
            assert "acknowledged" in acked.stdout
            assert "alice" in acked.stdout

            resolved = sloctl(
                "resolve", str(incident_id), "--server-url", base, "-o", "yaml", token=API_TOKEN
            )
            assert resolved.returncode == 0, resolved.stderr
            assert "status: resolved" in resolved.stdout
            shown = sloctl("incident", str(incident_id), "--server-url", base)
            assert shown.returncode == 0, shown.stderr
            assert f"incident {incident_id}: " in shown.stdout
            assert "resolved (UTC): " in shown.stdout
            assert re.search(r"acknowledged \(UTC\): [-\d]{10} [:\d]{8} by alice\n", shown.stdout)
            assert "SLOBurnPage" in shown.stdout  # the alert
            # The timeline's rows: event, then its detail.
            assert re.search(r"│ acknowledged +│ by: alice +│", shown.stdout)
            assert re.search(r"│ opened +│ firing: 1 +│", shown.stdout)
            as_json = json.loads(
                sloctl("incident", str(incident_id), "--server-url", base, "-o", "json").stdout
            )
            assert [e["kind"] for e in as_json["timeline"]] == [
                "received",
                "opened",
                "acknowledged",
                "resolved",
            ]
            assert as_json["timeline"][2]["detail"] == {"by": "alice"}
            assert as_json["alerts"][0]["fingerprint"] == "aa01"
            missing = sloctl("incident", "4242", "--server-url", base)
            assert missing.returncode == 1
            assert "no incident with id 4242" in missing.stderr
            none_open = sloctl("incidents", "--server-url", base, "--status", "firing")
            assert none_open.stdout.strip() == "no incidents"
            unknown = sloctl("ack", "4242", "--server-url", base, token=API_TOKEN)
            assert unknown.returncode == 1
            assert "no incident with id 4242" in unknown.stderr

            other = payload(alert("bb02", slo="checkout-latency"), group="checkout-latency")
            assert httpx.post(f"{base}{URL}", json=other, headers=HOOK, timeout=30).is_success
            # Text from alerts prints as it is: never read as rich markup.
            odd = payload(
                alert("cc03", slo="disk"),
                group="disk",
                commonAnnotations={"summary": "disk [/] full [red]now :fire:"},
            )
            odd_id = httpx.post(f"{base}{URL}", json=odd, headers=HOOK, timeout=30).json()
            for args in (["incidents"], ["incident", str(odd_id["incident_id"])]):
                printed = sloctl(*args, "--server-url", base)
                assert printed.returncode == 0, printed.stderr
                assert "disk [/] full [red]now :fire:" in printed.stdout.replace("\n", "")
            cut = sloctl("incidents", "--server-url", base, "--limit", "1")
            assert cut.returncode == 0, cut.stderr
            assert "newest 1 of 3 incidents" in cut.stdout
            page = sloctl("incidents", "--server-url", base, "--limit", "1", "-o", "json")
            assert [item["slo"] for item in json.loads(page.stdout)] == ["disk"]
