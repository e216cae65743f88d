"""On-call end to end, every part a real process.

Prometheus evaluates the generated rules over backfilled traffic in which a
third of the shop's requests fail, so the page alert fires. Alertmanager runs
the generated routing and posts the page to the server's webhook with the
token from a file. The server is ``sloctl serve`` in a subprocess, with an
on-call configuration whose escalation steps wait seconds, and notifies a
local HTTP receiver standing in for Slack and webhook endpoints.

One scenario, in order: the person on call is notified once; the server is
killed with SIGKILL while the next step waits; after a restart that step still
happens, once, no earlier than its wait; an acknowledgement stops the third
step; when Prometheus stops, Alertmanager resolves the alert, the incident
closes and both people paged get the all-clear.
"""

from __future__ import annotations

import dataclasses
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sloctl.compile import render_rule_file
from sloctl.compile.alertmanager import render_alertmanager
from sloctl.compile.rules import compile_service
from sloctl.oncall.config import parse_oncall
from sloctl.oncall.schedule import on_call
from sloctl.spec.loader import load_specs
from sloctl.spec.routing import RoutingSpec, ServerWebhook, Timing, Timings
from tests.helpers import write
from tests.support.processes import (
    ManagedProcess,
    backfill,
    free_port,
    prometheus_config,
    run_alertmanager,
    run_prometheus,
    sloctl_server,
)
from tests.support.receivers import ChatReceiver
from tests.support.traffic import COUNTER_OFFSET

pytestmark = pytest.mark.integration

WEBHOOK_TOKEN = "e2e-webhook-token"
API_TOKEN = "e2e-api-token"
RULE_INTERVAL = "2s"
#: How long past a step's recorded due time the test looks for what it did (or did not do).
MARGIN = timedelta(seconds=2)
SPEC = """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: shop
spec:
  team: web
  slos:
    - name: availability
      objective: 99.9
      window: 30d
      # Only the page: a ticket would be a second incident racing the first.
      alerting: {ticket: {enabled: false}}
      sli:
        ratio:
          errors: shop_requests_total{code="500"}
          total: shop_requests_total
"""
ONCALL = """\
apiVersion: sloctl.dev/v1
kind: OnCall
spec:
  people:
    - {id: alice, name: Alice, channels: [{kind: slack, url: "RECEIVER/slack/alice"}]}
    - {id: dave, name: Dave, channels: [{kind: slack, url: "RECEIVER/slack/dave"}]}
    - {id: bob, name: Bob, channels: [{kind: webhook, url: "RECEIVER/hook/bob"}]}
    - {id: carol, name: Carol, channels: [{kind: webhook, url: "RECEIVER/hook/carol"}]}
  teams:
    - {id: web, name: Web, escalationPolicy: web}
  schedules:
    - id: web-primary
      layers:
        - {name: daily, people: [dave, alice], start: START, shiftLength: 1d, handoffTime: "00:00"}
  escalationPolicies:
    - id: web
      steps:
        - {waitMinutes: 0.1, targets: [{schedule: web-primary}]}
        - {waitMinutes: 0.1, targets: [{person: bob}]}
        - {waitMinutes: 0.1, targets: [{person: carol}]}
  routes:
    - {matchers: ['team="web"'], team: web}
  defaultRoute: {team: web}
"""


def _traffic(end: int) -> str:
    """Two hours of shop requests, one sample a minute, a third of them failing."""
    lines = ["# TYPE shop_requests counter"]
    for code, per_minute in (("200", 40), ("500", 20)):
        value = COUNTER_OFFSET
        for t in range(end - 2 * 3600, end + 1, 60):
            value += per_minute
            lines.append(f'shop_requests_total{{code="{code}"}} {value} {t}')
    return "\n".join(lines) + "\n# EOF\n"


def _until(what: str, check: Callable[[], Any], timeout: float, logs: Callable[[], str]) -> Any:
    """``check()``'s first truthy value; on a time-out, fails with the logs as they are then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout}s\n{logs()}")


def _past(due: str) -> None:
    """Sleep until MARGIN after ``due``, a time the server recorded on a timeline."""
    moment = datetime.fromisoformat(due) + MARGIN
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def _escalations(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in timeline if e["kind"] == "escalated"]


@dataclasses.dataclass
class Server:
    """``sloctl serve`` as a child process that can be killed and started again."""

    workdir: Path
    port: int
    env: dict[str, str]
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = sloctl_server(self.workdir / "server.log", self.env, self.port)
        self.process.start()
        self.process.wait_ready("/healthz", timeout=60)

    def kill(self) -> None:
        assert self.process is not None
        assert self.process.proc is not None
        self.process.signal(signal.SIGKILL)
        self.process.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def tail(self) -> str:
        return self.process.tail(40) if self.process else ""

    def incidents(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/incidents", timeout=10)
        response.raise_for_status()
        return list(response.json()["data"])

    def incident(self, incident_id: int) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/api/v1/incidents/{incident_id}", timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def timeline_once_notified(self, incident_id: int) -> list[dict[str, Any]] | None:
        """The incident's timeline once a delivery is on it, else None."""
        timeline: list[dict[str, Any]] = self.incident(incident_id)["timeline"]
        return timeline if any(e["kind"] == "notified" for e in timeline) else None

    def ack(self, incident_id: int, by: str) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/api/v1/incidents/{incident_id}/ack",
            json={"by": by},
            headers={"Authorization": f"Bearer {API_TOKEN}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


def test_a_page_reaches_the_person_on_call_escalates_across_a_crash_and_closes(
    tmp_path: Path, receiver: ChatReceiver
):
    # --- the on-call configuration: alice or dave on call today, steps 6 s apart ------
    today = datetime.now(UTC).date()
    oncall_text = ONCALL.replace("RECEIVER", receiver.url).replace(
        "START", (today - timedelta(days=3)).isoformat()
    )
    oncall_file = write(tmp_path / "oncall.yaml", oncall_text)
    config = parse_oncall(oncall_text, str(oncall_file))

    # --- the server -----------------------------------------------------------------
    token_file = write(tmp_path / "webhook-token", WEBHOOK_TOKEN + "\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'server.db'}",
        "SLOCTL_SERVER_WEBHOOK_TOKEN_FILE": str(token_file),
        "SLOCTL_SERVER_API_TOKEN": API_TOKEN,
        "SLOCTL_SERVER_ONCALL_CONFIG": str(oncall_file),
        "SLOCTL_SERVER_NOTIFY_BACKOFF": "0.2",
        "SLOCTL_SERVER_REFRESH_INTERVAL": "3600",
    }
    server = Server(tmp_path, free_port(), env)

    # --- generated rules and routing --------------------------------------------------
    specs = tmp_path / "specs"
    write(specs / "shop.yaml", SPEC)
    slos = load_specs([specs]).slos
    rules = compile_service("shop", list(slos), [str(specs)])
    rules = dataclasses.replace(
        rules, groups=tuple(dataclasses.replace(g, interval=RULE_INTERVAL) for g in rules.groups)
    )
    rule_file = write(tmp_path / "shop.rules.yml", render_rule_file(rules))
    fast = Timing(group_wait="1s", group_interval="2s", repeat_interval="1h")
    routing = RoutingSpec(
        server=ServerWebhook(url=server.url, credentials_file=str(token_file)),
        timing=Timings(page=fast, ticket=fast),
    )
    am_config = render_alertmanager(list(slos), routing, [str(specs)])

    end = int(time.time()) // 60 * 60 - 60
    data = tmp_path / "prometheus-data"
    backfill(_traffic(end), data, tmp_path)

    server.start()
    try:
        with run_alertmanager(tmp_path / "am", am_config) as am:
            prom_config = prometheus_config(
                [rule_file],
                evaluation_interval=RULE_INTERVAL,
                alertmanagers=[am.url.removeprefix("http://")],
            )
            with run_prometheus(
                tmp_path / "prom",
                prom_config,
                data_dir=data,
                extra_flags=["--rules.alert.resend-delay=1s"],
            ) as prom:

                def logs() -> str:
                    return server.tail() + am.tail() + prom.tail()

                # --- the page: one incident, the person on call notified once --------
                [incident] = _until("an incident", server.incidents, 90, logs)
                assert incident["status"] == "firing"
                assert incident["slo"] == "shop-availability"
                assert incident["team"] == "web"
                assert incident["policy"] == "web"
                incident_id = incident["id"]
                _until("the first notification", receiver.paths, 30, logs)
                # (once the delivery is on the timeline: a kill between the receiver's
                # answer and that entry would, by design, send it again at start)
                timeline = _until(
                    "the delivery on the timeline",
                    lambda: server.timeline_once_notified(incident_id),
                    10,
                    logs,
                )
                # Who was on call when the step ran (not when the test started: a run
                # may cross the midnight handoff).
                first = _escalations(timeline)[0]
                [on_duty] = on_call(config, "web-primary", datetime.fromisoformat(first["at"]))
                off_duty = "dave" if on_duty.id == "alice" else "alice"
                assert first["detail"]["recipients"] == [on_duty.name]
                assert receiver.paths() == [f"/slack/{on_duty.id}"]
                slack = receiver.bodies()[0]
                assert "shop-availability" in slack["text"]

                # --- SIGKILL while step 2 waits; it happens after the restart, once --
                server.kill()
                _past(first["detail"]["next_at"])  # the step falls due while down
                assert receiver.paths() == [f"/slack/{on_duty.id}"]
                server.start()
                _until("bob after the restart", lambda: "/hook/bob" in receiver.paths(), 30, logs)
                # --- an acknowledgement stops step 3 --------------------------------
                acked = server.ack(incident_id, "bob")
                assert acked["status"] == "acknowledged"
                second = _escalations(server.incident(incident_id)["timeline"])[1]
                _past(second["detail"]["next_at"])  # when carol's step would have run
                assert receiver.paths() == [f"/slack/{on_duty.id}", "/hook/bob"]
                timeline = server.incident(incident_id)["timeline"]
                escalated = _escalations(timeline)
                assert [e["detail"]["step"] for e in escalated] == [0, 1]
                due = datetime.fromisoformat(escalated[0]["detail"]["next_at"])
                assert datetime.fromisoformat(escalated[1]["at"]) >= due
                notified = [e["detail"]["recipient"] for e in timeline if e["kind"] == "notified"]
                assert notified == [on_duty.name, "Bob"]
                assert f"/slack/{off_duty}" not in receiver.paths()
                assert bob_posts_once(receiver)
            # --- Prometheus gone: Alertmanager resolves the alert, the incident closes --
            closed = _until(
                "the incident resolved by Alertmanager",
                lambda: [i for i in server.incidents() if i["status"] == "resolved"],
                60,
                logs,
            )
            assert [i["id"] for i in closed] == [incident_id]
            assert closed[0]["resolved_by"] == "alertmanager"
            assert len(server.incidents()) == 1
            # --- the all-clear: each person paged hears it, over the channel paged --
            _until("the all-clear", lambda: len(receiver.paths()) >= 4, 30, logs)
            time.sleep(1)  # nothing more arrives
    finally:
        server.stop()
    paged = [f"/slack/{on_duty.id}", "/hook/bob"]
    assert receiver.paths()[:2] == paged
    assert sorted(receiver.paths()[2:]) == sorted(paged)
    [bob_told] = [p.json for p in receiver.posts("/hook/bob")][1:]
    assert (bob_told["kind"], bob_told["incident"]["status"]) == ("resolved", "resolved")
    slack_told = receiver.bodies(f"/slack/{on_duty.id}")[1]
    assert slack_told["text"].startswith(f"[sloctl] #{incident_id} resolved: ")


def bob_posts_once(receiver: ChatReceiver) -> bool:
    [post] = receiver.posts("/hook/bob")  # before the all-clear
    body = post.json
    return bool(
        body["kind"] == "page" and body["escalation"]["step"] == 1 and body["recipient"] == "Bob"
    )
