"""The demo's inbox: the on-call file routed to it, and notifications received over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

from sloctl.demo_inbox import Inbox, headline, route_text_to_inbox
from sloctl.oncall.config import parse_oncall
from tests.helpers import ROOT
from tests.support.processes import free_port

ONCALL = """\
apiVersion: sloctl.dev/v1
kind: OnCall
spec:
  people:
    - id: ann
      name: Ann
      channels:
        - {kind: email, address: ann@example.com}
        - {kind: slack, url: "https://hooks.slack.example.com/ann"}
    - id: ben
      name: Ben
      channels:
        - {kind: webhook, url: "https://pager.example.com/ben", headers: {X-Key: secret}}
  teams:
    - {id: ops, name: Ops, escalationPolicy: p, channel: {kind: slack, url: "https://x.example/"}}
    - {id: web, name: Web, escalationPolicy: p}
  schedules:
    - id: s
      name: S
      timeZone: UTC
      layers: [{name: l, people: [ann, ben], start: 2026-01-05}]
  escalationPolicies:
    - id: p
      steps: [{waitMinutes: 5, targets: [{schedule: s}]}]
  defaultRoute: {team: ops}
"""


def test_every_channel_goes_to_the_inbox_and_the_rest_stays():
    routed = route_text_to_inbox(ONCALL, "http://127.0.0.1:9")
    config = parse_oncall(routed, "routed")
    channels = {p.id: [(c.kind, c.url) for c in p.channels] for p in config.people}
    assert channels == {
        "ann": [
            ("webhook", "http://127.0.0.1:9/ann/email"),
            ("slack", "http://127.0.0.1:9/ann/slack"),
        ],
        "ben": [("webhook", "http://127.0.0.1:9/ben/webhook")],
    }
    teams = {t.id: t.channel for t in config.teams}
    assert teams["ops"] is not None
    assert teams["ops"].url == "http://127.0.0.1:9/team-ops/slack"
    assert teams["web"] is None
    assert "example.com" not in routed
    assert "secret" not in routed
    original, after = yaml.safe_load(ONCALL), yaml.safe_load(routed)
    for key in ("schedules", "escalationPolicies", "defaultRoute"):
        assert after["spec"][key] == original["spec"][key]


def test_the_repository_oncall_file_routes_to_a_valid_file():
    routed = route_text_to_inbox((ROOT / "oncall.yaml").read_text(), "http://127.0.0.1:9")
    config = parse_oncall(routed, "routed")
    urls = [c.url for p in config.people for c in p.channels]
    assert urls
    assert all(u.startswith("http://127.0.0.1:9/") for u in urls)


@pytest.mark.parametrize(
    ("channel", "body", "expected"),
    [
        ("slack", {"text": "[sloctl] #3 page: burning", "blocks": []}, "[sloctl] #3 page: burning"),
        (
            "webhook",
            {"kind": "resolved", "incident": {"id": 4, "title": "burning"}},
            "[sloctl] #4 resolved: burning",
        ),
        ("webhook", ["odd"], '["odd"]'),
    ],
)
def test_headline(channel: str, body: object, expected: str):
    assert headline(channel, body) == expected


def test_the_inbox_records_what_it_receives_and_refuses_what_is_not_json(tmp_path: Path):
    said: list[str] = []
    inbox = Inbox(free_port(), tmp_path / "logs" / "inbox.log", said.append)
    inbox.start()
    try:
        body = {"kind": "page", "incident": {"id": 7, "title": "SLO x is burning"}}
        assert httpx.post(f"{inbox.url}/ann/email", json=body).status_code == 200
        bad = httpx.post(f"{inbox.url}/ann/email", content=b"{not json")
        assert bad.status_code == 400
        huge = httpx.post(f"{inbox.url}/ann/email", content=b"[" + b"1," * 600_000 + b"1]")
        assert huge.status_code == 413
    finally:
        inbox.stop()
    [entry] = [
        json.loads(line) for line in (tmp_path / "logs" / "inbox.log").read_text().splitlines()
    ]
    assert (entry["to"], entry["channel"], entry["body"]) == ("ann", "email", body)
    assert said == ["inbox: ann (email): [sloctl] #7 page: SLO x is burning"]
    assert inbox.received == 1
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{inbox.url}/ann/email", json=body, timeout=2)
