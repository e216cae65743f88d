"""Alertmanager's webhook into the incident store, on SQLite and on PostgreSQL.

Payloads are in Alertmanager's version 4 shape (tests/support/alertmanager.py:
receiver, groupKey, alerts with fingerprints, RFC 3339 times with nanoseconds). The
same notification 50 times, concurrently, and out of order must leave one
correct incident; bad payloads, oversized bodies and bad credentials get a
4xx with a reason and create nothing.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from sloctl.oncall.config import parse_oncall
from tests.support.alertmanager import ZERO, alert, payload
from tests.support.clock import NOW, FakeClock
from tests.support.databases import database
from tests.support.incidents import API_TOKEN, HOOK, HOOK_TOKEN, URL, Recorder, make_app
from tests.support.server import serve_in_thread

pytestmark = pytest.mark.integration

T2 = "2026-11-24T11:58:30.5Z"


def incidents(client: TestClient) -> list[dict[str, Any]]:
    body = client.get("/api/v1/incidents").json()
    assert body["count"] == len(body["data"])
    return list(body["data"])


def detail(client: TestClient, incident_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/incidents/{incident_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def kinds(client: TestClient, incident_id: int) -> list[str]:
    return [event["kind"] for event in detail(client, incident_id)["timeline"]]


# ------------------------------------------------------------------ the happy path


def test_firing_then_resolved_is_one_incident_linked_to_its_slo(
    client: TestClient, clock: FakeClock, recorder: Recorder
):
    firing = client.post(URL, json=payload(alert("aa01")), headers=HOOK)
    assert firing.status_code == 200, firing.text
    answer = firing.json()
    assert answer["opened"] is True
    assert answer["status"] == "firing"
    incident_id = answer["incident_id"]

    clock.now = NOW + timedelta(minutes=5)
    resolved = payload(alert("aa01", "resolved", ends="2026-11-24T12:04:00Z"))
    closing = client.post(URL, json=resolved, headers=HOOK).json()
    assert closing == {
        "incident_id": incident_id,
        "status": "resolved",
        "opened": False,
        "resolved": True,
        "reopened": False,
        "changed": True,
    }
    [incident] = incidents(client)
    assert incident["slo"] == "orders-availability"
    assert incident["service"] == "orders"
    assert incident["team"] == "shop"
    assert incident["severity"] == "page"
    assert incident["title"] == "orders-availability burns its budget"
    assert incident["summary"] == "fast burn"
    assert incident["receiver"] == "sloctl-server"
    assert incident["resolved_by"] == "alertmanager"
    assert incident["opened_at"] == "2026-11-24T12:00:00Z"
    assert incident["resolved_at"] == "2026-11-24T12:05:00Z"
    full = detail(client, incident_id)
    [stored] = full["alerts"]
    assert stored["status"] == "resolved"
    assert stored["starts_at"] == "2026-11-24T11:50:01.123456Z", "nanoseconds truncated"
    assert stored["ends_at"] == "2026-11-24T12:04:00Z"
    assert [e["kind"] for e in full["timeline"]] == ["received", "opened", "received", "resolved"]
    assert recorder.calls == [("opened", incident_id), ("resolved", incident_id)]


def test_the_same_notification_50_times_is_one_incident(client: TestClient, recorder: Recorder):
    body = payload(alert("aa01"), alert("bb02", instance="b"))
    answers = [client.post(URL, json=body, headers=HOOK).json() for _ in range(50)]
    assert len({a["incident_id"] for a in answers}) == 1
    assert [a["opened"] for a in answers] == [True] + [False] * 49
    assert not any(a["changed"] for a in answers[1:])
    resolved = payload(alert("aa01", "resolved", ends=T2), alert("bb02", "resolved", ends=T2))
    for _ in range(50):
        assert client.post(URL, json=resolved, headers=HOOK).status_code == 200
    [incident] = incidents(client)
    assert incident["status"] == "resolved"
    assert kinds(client, incident["id"]) == ["received", "opened", "received", "resolved"]
    assert len(detail(client, incident["id"])["alerts"]) == 2
    assert recorder.calls == [("opened", incident["id"]), ("resolved", incident["id"])]


def test_50_concurrent_copies_of_a_notification_open_one_incident(
    kind: str, tmp_path: Path, clock: FakeClock
):
    recorder = Recorder()
    with database(kind, tmp_path) as (_url, engine):
        app = make_app(tmp_path, engine, clock)
        body = json.dumps(payload(alert("aa01"), alert("bb02", instance="b"))).encode()
        with serve_in_thread(app) as base:
            app.state.context.incident_listener = recorder
            barrier = threading.Barrier(25)
            statuses: list[int] = []

            def post() -> None:
                with httpx.Client(base_url=base, timeout=30) as http:
                    barrier.wait()
                    for _ in range(2):
                        statuses.append(http.post(URL, content=body, headers=HOOK).status_code)

            threads = [threading.Thread(target=post) for _ in range(25)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert statuses == [200] * 50
            listed = httpx.get(f"{base}/api/v1/incidents").json()
            assert listed["count"] == 1
            timeline = httpx.get(f"{base}/api/v1/incidents/{listed['data'][0]['id']}").json()
    assert [e["kind"] for e in timeline["timeline"]] == ["received", "opened"]
    assert len(timeline["alerts"]) == 2
    assert recorder.calls == [("opened", listed["data"][0]["id"])]


def test_resolved_before_firing_leaves_a_resolved_incident(client: TestClient, recorder: Recorder):
    resolved = payload(alert("aa01", "resolved", ends=T2))
    first = client.post(URL, json=resolved, headers=HOOK).json()
    assert first["status"] == "resolved"
    assert first["opened"] is False
    for _ in range(50):  # the late firing notification, re-sent
        late = client.post(URL, json=payload(alert("aa01")), headers=HOOK).json()
        assert late["status"] == "resolved"
        assert late["changed"] is False
    [incident] = incidents(client)
    assert incident["status"] == "resolved"
    assert detail(client, incident["id"])["alerts"][0]["status"] == "resolved"
    assert kinds(client, incident["id"]) == ["received", "resolved"]
    assert ("opened", incident["id"]) not in recorder.calls, "nobody is paged for it"


def test_a_new_firing_episode_reopens_the_incident(
    client: TestClient, clock: FakeClock, recorder: Recorder
):
    incident_id = client.post(URL, json=payload(alert("aa01")), headers=HOOK).json()["incident_id"]
    client.post(URL, json=payload(alert("aa01", "resolved", ends=T2)), headers=HOOK)
    # A stale firing of the first episode arrives late: ignored.
    assert client.post(URL, json=payload(alert("aa01")), headers=HOOK).json()["changed"] is False
    clock.now = NOW + timedelta(hours=1)
    again = payload(alert("aa01", starts="2026-11-24T12:55:00Z"))
    answer = client.post(URL, json=again, headers=HOOK).json()
    assert answer == {
        "incident_id": incident_id,
        "status": "firing",
        "opened": False,
        "resolved": False,
        "reopened": True,
        "changed": True,
    }
    incident = detail(client, incident_id)
    assert incident["resolved_at"] is None
    assert incident["escalation_step"] == 0
    assert incident["alerts"][0]["starts_at"] == "2026-11-24T12:55:00Z"
    assert [e["kind"] for e in incident["timeline"]][-2:] == ["received", "reopened"]
    assert recorder.calls[-1] == ("opened", incident_id)
    assert len(incidents(client)) == 1


def test_an_incident_resolved_by_hand_stays_resolved_when_the_group_is_re_sent(
    client: TestClient,
):
    incident_id = client.post(URL, json=payload(alert("aa01")), headers=HOOK).json()["incident_id"]
    done = client.post(
        f"/api/v1/incidents/{incident_id}/resolve",
        json={"by": "alice"},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    assert done.status_code == 200, done.text
    resent = client.post(URL, json=payload(alert("aa01")), headers=HOOK).json()
    assert resent["status"] == "resolved"
    # A new alert joining the group is news: the incident opens again.
    grown = payload(alert("aa01"), alert("cc03", instance="c", starts=T2))
    assert client.post(URL, json=grown, headers=HOOK).json()["reopened"] is True


def test_groups_of_different_receivers_are_different_incidents(client: TestClient):
    one = client.post(URL, json=payload(alert("aa01")), headers=HOOK).json()
    other = payload(alert("aa01"), receiver="another")
    two = client.post(URL, json=other, headers=HOOK).json()
    three = client.post(URL, json=payload(alert("dd04"), group="billing-latency"), headers=HOOK)
    assert len({one["incident_id"], two["incident_id"], three.json()["incident_id"]}) == 3
    assert len(incidents(client)) == 3
    filtered = client.get("/api/v1/incidents", params={"slo": "billing-latency"}).json()
    assert [i["id"] for i in filtered["data"]] == [three.json()["incident_id"]]


def test_payload_quirks_are_accepted(client: TestClient):
    body = payload(alert("aa01"))
    body["commonAnnotations"] = None
    body["groupLabels"] = None
    body["somethingNew"] = {"from": "a newer Alertmanager"}
    body["alerts"][0]["annotations"] = None
    body["alerts"][0]["startsAt"] = "2026-11-24T12:50:01.123456789+01:00"
    body["alerts"][0]["extra"] = 1
    del body["truncatedAlerts"]
    response = client.post(URL, json=body, headers=HOOK)
    assert response.status_code == 200, response.text
    incident = detail(client, response.json()["incident_id"])
    assert incident["alerts"][0]["annotations"] == {}
    assert incident["alerts"][0]["starts_at"] == "2026-11-24T11:50:01.123456Z"
    assert incident["title"] == "SLOBurnPage", "no summary: the alert name"


def test_routing_sets_team_and_policy(client: TestClient):
    config = parse_oncall(
        """
apiVersion: sloctl.dev/v1
kind: OnCall
spec:
  people:
    - {id: ann, name: Ann, channels: [{kind: email, address: ann@example.com}]}
  teams:
    - {id: shop, name: Shop, escalationPolicy: shop-pages}
    - {id: money, name: Money, escalationPolicy: money-pages}
  escalationPolicies:
    - {id: shop-pages, steps: [{waitMinutes: 5, targets: [{person: ann}]}]}
    - {id: money-pages, steps: [{waitMinutes: 5, targets: [{person: ann}]}]}
  routes:
    - {matchers: ['slo=~"billing-.*"'], team: money}
  defaultRoute: {team: shop}
""",
        "test.yaml",
    )
    client.app.state.context.oncall_config.set(config)  # type: ignore[attr-defined]
    billing = payload(alert("dd04", team="whoever"), group="billing-latency")
    billing["commonLabels"]["slo"] = "billing-latency"
    routed = client.post(URL, json=billing, headers=HOOK).json()
    default = client.post(URL, json=payload(alert("aa01")), headers=HOOK).json()
    assert detail(client, routed["incident_id"])["team"] == "money", "the route, not the label"
    assert detail(client, routed["incident_id"])["policy"] == "money-pages"
    assert detail(client, default["incident_id"])["policy"] == "shop-pages"


# ------------------------------------------------------------------ bad input


def _without(path: str) -> dict[str, Any]:
    body = payload(alert("aa01"))
    *parents, last = path.split(".")
    target: Any = body
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    del target[last]
    return body


def _with(path: str, value: Any) -> dict[str, Any]:
    body = payload(alert("aa01"))
    *parents, last = path.split(".")
    target: Any = body
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return body


BAD = [
    ("missing receiver", _without("receiver"), "receiver"),
    ("missing groupKey", _without("groupKey"), "groupKey"),
    ("missing alerts", _without("alerts"), "alerts"),
    ("missing fingerprint", _without("alerts.0.fingerprint"), "alerts[0].fingerprint"),
    ("missing startsAt", _without("alerts.0.startsAt"), "alerts[0].startsAt"),
    ("version 3", _with("version", "3"), "version"),
    ("alerts not a list", _with("alerts", {"a": 1}), "alerts"),
    ("label value a number", _with("alerts.0.labels", {"slo": 5}), "alerts[0].labels.slo"),
    ("bad status", _with("alerts.0.status", "pending"), "alerts[0].status"),
    ("bad time", _with("alerts.0.startsAt", "yesterday"), "alerts[0].startsAt"),
    ("zero startsAt", _with("alerts.0.startsAt", ZERO), "alerts[0].startsAt"),
    ("receiver a number", _with("receiver", 7), "receiver"),
    ("twice the same fingerprint", payload(alert("aa01"), alert("aa01")), "alerts"),
]


@pytest.mark.parametrize(("name", "body", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_payloads_are_refused_with_the_field_and_create_nothing(
    client: TestClient, recorder: Recorder, name: str, body: dict[str, Any], field: str
):
    response = client.post(URL, json=body, headers=HOOK)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in [d["field"] for d in error["details"]], error
    assert field in error["message"]
    assert incidents(client) == []
    assert recorder.calls == []


@pytest.mark.parametrize(
    "body", [b"", b"{not json", b"[]", b'"4"'], ids=["empty", "broken", "list", "string"]
)
def test_bodies_that_are_not_objects_are_refused(client: TestClient, body: bytes):
    response = client.post(URL, content=body, headers=HOOK)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"].startswith("not an Alertmanager webhook payload")
    assert incidents(client) == []


def test_a_body_over_the_limit_gets_413_and_creates_nothing(client: TestClient):
    many = payload(*[alert(f"{i:08x}", instance=f"host-{i}" * 10) for i in range(200)])
    data = json.dumps(many).encode()
    assert len(data) > 64 * 1024
    declared = client.post(URL, content=data, headers=HOOK)
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"
    assert "65536" in declared.json()["error"]["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the stream is cut at the limit
        for start in range(0, len(data), 8192):
            yield data[start : start + 8192]

    streamed = client.post(URL, content=chunks(), headers=HOOK)
    assert streamed.status_code == 413
    assert incidents(client) == []


# ------------------------------------------------------------------ credentials


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": f"Bearer {API_TOKEN}"}, 401),
        ({"Authorization": HOOK_TOKEN}, 401),
        (_basic("alertmanager", "wrong"), 401),
        ({"Authorization": "Basic %%%"}, 401),
        (_basic("alertmanager", HOOK_TOKEN), 200),
        (_basic("", HOOK_TOKEN), 200),
        (HOOK, 200),
    ],
    ids=[
        "none",
        "wrong-bearer",
        "api-token",
        "no-scheme",
        "wrong-basic",
        "garbled-basic",
        "basic",
        "basic-no-user",
        "bearer",
    ],
)
def test_webhook_credentials(client: TestClient, headers: dict[str, str], status: int):
    response = client.post(URL, json=payload(alert("aa01")), headers=headers)
    assert response.status_code == status, response.text
    if status == 401:
        assert response.json()["error"]["code"] == "unauthorized"
        assert incidents(client) == []
    else:
        assert len(incidents(client)) == 1


def test_without_a_webhook_token_the_webhook_is_refused(
    kind: str, tmp_path: Path, clock: FakeClock
):
    with database(kind, tmp_path) as (_url, engine):
        app = make_app(tmp_path, engine, clock, webhook_token=None)
        with TestClient(app) as client:
            response = client.post(URL, json=payload(alert("aa01")), headers=HOOK)
            assert response.status_code == 403
            assert "SLOCTL_SERVER_WEBHOOK_TOKEN" in response.json()["error"]["message"]
            assert incidents(client) == []


class Broken(Recorder):
    def opened(self, incident_id: int) -> None:
        super().opened(incident_id)
        raise RuntimeError("the escalation engine is down")


def test_a_failing_listener_does_not_fail_a_stored_notification(client: TestClient):
    broken = Broken()
    client.app.state.context.incident_listener = broken  # type: ignore[attr-defined]
    response = client.post(URL, json=payload(alert("aa01")), headers=HOOK)
    assert response.status_code == 200, "committed: an error would only make Alertmanager re-send"
    assert broken.calls == [("opened", response.json()["incident_id"])]
    assert [i["status"] for i in incidents(client)] == ["firing"]
