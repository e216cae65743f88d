"""The escalation engine inside the real app, on SQLite and PostgreSQL.

Alertmanager's webhook is posted to the app; the app's clock is a test clock
and its scheduler holds jobs without running them (``start_scheduler=False``),
so each test moves time forward and runs the jobs due with ``run_due``: steps,
waits, rounds, acknowledgement, its time-out, resolution and its all-clear
are exact, with no sleeping. Notifications go over HTTP to a local receiver. A restart is a new
app on the same database: the stored job must run there, once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from server.app import create_app
from server.oncall.escalation import Escalator
from server.oncall.plan import all_clear_job_id, step_job_id
from server.settings import Settings
from tests.helpers import write
from tests.support.alertmanager import ZERO, alert, payload
from tests.support.clock import FakeClock
from tests.support.databases import database
from tests.support.receivers import ChatReceiver, smtp_server

pytestmark = pytest.mark.integration

WEBHOOK_TOKEN = "webhook-secret"
API_TOKEN = "api-secret"
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

ONCALL = """\
apiVersion: sloctl.dev/v1
kind: OnCall
spec:
  people:
    - id: alice
      name: Alice
      channels: [{kind: webhook, url: "RECEIVER/alice", headers: {X-Token: t}}]
    - id: bob
      name: Bob
      channels: [{kind: slack, url: "RECEIVER/bob"}]
    - id: carol
      name: Carol
      channels: [{kind: webhook, url: "RECEIVER/carol"}]
    - id: erin
      name: Erin
      channels: [{kind: email, address: erin@example.com}]
  teams:
    - id: web
      name: Web
      escalationPolicy: web
      channel: {kind: webhook, url: "RECEIVER/team-web"}
    - {id: payments, name: Payments, escalationPolicy: payments}
    - {id: ops, name: Ops, escalationPolicy: ops}
  schedules:
    - id: web-primary
      timeZone: Europe/Berlin
      layers:
        - name: weekly
          people: [alice, carol]
          start: 2026-11-23
          shiftLength: 7d
          handoffTime: "09:00"
  escalationPolicies:
    - id: web
      repeat: 1
      ackTimeoutMinutes: 30
      steps:
        - {waitMinutes: 5, targets: [{schedule: web-primary}]}
        - {waitMinutes: 10, targets: [{person: bob}, {teamChannel: web}]}
    - id: payments
      sendResolved: false
      steps:
        - {waitMinutes: 1, targets: [{person: carol}]}
    - id: ops
      steps:
        - {waitMinutes: 1, targets: [{person: erin}]}
  routes:
    - {matchers: ['team="payments"'], team: payments}
    - {matchers: ['team="ops"'], team: ops}
  defaultRoute: {team: web}
"""


def page(
    status: str = "firing", team: str = "web", starts: str = "2026-11-24T09:59:00Z"
) -> dict[str, Any]:
    """The page of ``team``'s availability SLO, firing or resolved; ``starts`` names the episode."""
    slo = f"{team}-availability"
    ends = "2026-11-24T10:30:00Z" if status == "resolved" else ZERO
    burn = alert("a1", status, starts, ends, slo=slo, service=team, team=team)
    return payload(burn, group=slo)


@dataclass
class Server:
    client: TestClient
    clock: FakeClock
    receiver: ChatReceiver

    @property
    def escalator(self) -> Escalator:
        listener = self.client.app.state.context.incident_listener  # type: ignore[attr-defined]
        assert isinstance(listener, Escalator)
        return listener

    def alert(self, status: str = "firing", team: str = "web", **episode: str) -> int:
        response = self.client.post(
            "/api/v1/alerts/alertmanager",
            json=page(status, team, **episode),
            headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"},
        )
        assert response.status_code == 200, response.text
        return int(response.json()["incident_id"])

    def act(self, incident_id: int, action: str, by: str = "alice") -> dict[str, Any]:
        response = self.client.post(
            f"/api/v1/incidents/{incident_id}/{action}",
            json={"by": by},
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def incident(self, incident_id: int) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/incidents/{incident_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def run(self, **delta: float) -> int:
        """Move the clock forward and run every job due by then."""
        return self.escalator.run_due(self.clock.advance(**delta))

    def who(self) -> list[str]:
        """The receiver paths notified, in order (/alice, /bob, /team-web...)."""
        return self.receiver.paths()

    def pending(self) -> list[str]:
        return sorted(self.escalator.jobs.due_times())


def make_app(
    engine: Engine, tmp_path: Path, clock: FakeClock, receiver: ChatReceiver, **settings_: Any
):
    oncall = write(tmp_path / "oncall.yaml", ONCALL.replace("RECEIVER", receiver.url))
    settings = Settings(
        database_url="sqlite:///unused.db",
        webhook_token=WEBHOOK_TOKEN,
        api_token=API_TOKEN,
        oncall_config=oncall,
        **settings_,
        public_url="http://sloctl.example",
        notify_attempts=2,
        notify_backoff=0,
    )
    return create_app(
        settings,
        clock=clock,
        database=engine,
        metrics_registry=CollectorRegistry(),
        start_scheduler=False,
    )


@contextlib.contextmanager
def running(
    engine: Engine, tmp_path: Path, clock: FakeClock, receiver: ChatReceiver, **settings: Any
) -> Iterator[Server]:
    """The app with its lifespan running (a server start); leaving the block stops it."""
    with TestClient(make_app(engine, tmp_path, clock, receiver, **settings)) as client:
        yield Server(client, clock, receiver)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with database(request.param, tmp_path) as (_url, db):
        yield db


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    with database("sqlite", tmp_path) as (_url, db):
        yield db


@pytest.fixture
def server(sqlite: Engine, tmp_path: Path, receiver: ChatReceiver) -> Iterator[Server]:
    with running(sqlite, tmp_path, FakeClock(START), receiver) as srv:
        yield srv


def kinds(incident: dict[str, Any]) -> list[str]:
    return [event["kind"] for event in incident["timeline"]]


def test_the_person_on_call_is_notified_once_however_often_alertmanager_repeats(server: Server):
    incident_id = server.alert()
    assert server.pending() == [step_job_id(incident_id, 0)]
    assert server.run() == 1
    assert server.who() == ["/alice"]
    for _ in range(3):  # group_interval / repeat_interval resends of the same group
        assert server.alert() == incident_id
    server.run(seconds=30)
    assert server.who() == ["/alice"]
    body = server.receiver.posts("/alice")[0]
    assert body.headers["x-token"] == "t"
    assert body.json["incident"]["slo"] == "web-availability"
    assert body.json["incident"]["url"] == f"http://sloctl.example/oncall/incidents/{incident_id}"
    incident = server.incident(incident_id)
    assert kinds(incident) == ["received", "opened", "escalated", "notified"]
    escalated = incident["timeline"][2]["detail"]
    assert escalated["recipients"] == ["Alice"]
    assert escalated["next_at"] == (START + timedelta(minutes=5)).isoformat()
    assert incident["timeline"][3]["detail"]["recipient"] == "Alice"
    assert (incident["escalation_step"], incident["escalation_round"]) == (1, 0)


def test_without_acknowledgement_each_step_follows_its_wait_and_the_policy_repeats(
    server: Server,
):
    incident_id = server.alert()
    server.run()
    assert server.run(minutes=4, seconds=59) == 0
    assert server.who() == ["/alice"]
    assert server.run(seconds=1) == 1  # step 2, five minutes after step 1
    assert server.who() == ["/alice", "/bob", "/team-web"]
    assert server.run(minutes=9) == 0
    assert server.run(minutes=1) == 1  # round 2 starts again at step 1
    assert server.who()[3:] == ["/alice"]
    server.run(minutes=5)
    assert server.who()[4:] == ["/bob", "/team-web"]
    # repeat: 1 -> two rounds in all, then escalation is over.
    assert server.pending() == []
    assert server.run(hours=3) == 0
    assert len(server.who()) == 6
    incident = server.incident(incident_id)
    assert incident["status"] == "firing"
    rounds = [
        (e["detail"]["round"], e["detail"]["step"])
        for e in incident["timeline"]
        if e["kind"] == "escalated"
    ]
    assert rounds == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_acknowledgement_stops_escalation_and_its_time_out_notifies_again(server: Server):
    incident_id = server.alert()
    server.run()
    acked = server.act(incident_id, "ack", by="alice")
    assert acked["status"] == "acknowledged"
    assert server.pending() == [f"incident:{incident_id}:ack-timeout"]
    server.run(minutes=29)
    assert server.who() == ["/alice"]  # no step 2 for bob: acknowledged
    server.run(minutes=1)  # ackTimeoutMinutes: 30
    assert server.who() == ["/alice", "/alice"]
    again = server.receiver.posts("/alice")[1].json
    assert again["kind"] == "ack_timeout"
    incident = server.incident(incident_id)
    assert incident["status"] == "firing"
    assert incident["acknowledged_by"] is None
    assert "ack_timeout" in kinds(incident)
    ack_timeout = next(e for e in incident["timeline"] if e["kind"] == "ack_timeout")
    assert ack_timeout["detail"]["acknowledged_by"] == "alice"
    # Escalation goes on from there: bob five minutes later.
    server.run(minutes=5)
    assert server.who()[2:] == ["/bob", "/team-web"]


def test_resolution_cancels_what_was_pending_and_tells_everyone_paged(server: Server):
    incident_id = server.alert()
    server.run()
    server.run(minutes=5)  # step 2: bob and the team's channel
    assert server.who() == ["/alice", "/bob", "/team-web"]
    server.alert("resolved")
    incident = server.incident(incident_id)
    assert incident["status"] == "resolved"
    assert server.pending() == [all_clear_job_id(incident_id)]  # step 1 of round 2 is gone
    assert server.run() == 1
    assert server.who()[3:] == ["/alice", "/bob", "/team-web"]
    told = server.receiver.posts("/alice")[1].json
    assert told["kind"] == "resolved"
    assert told["incident"]["status"] == "resolved"
    assert told["incident"]["resolved_by"] == "alertmanager"
    resolved_at = datetime.fromisoformat(incident["resolved_at"])
    assert datetime.fromisoformat(told["incident"]["resolved_at"]) == resolved_at
    slack = server.receiver.posts("/bob")[1].json
    assert slack["text"] == f"[sloctl] #{incident_id} resolved: {incident['title']}"
    timeline = server.incident(incident_id)["timeline"]
    claim = next(e["detail"] for e in timeline if e["kind"] == "all_clear")
    assert claim == {"recipients": ["Alice", "Bob", "Web"], "resolved_by": "alertmanager"}
    resolved = [e["detail"]["recipient"] for e in timeline if e["kind"] == "notified"]
    assert resolved[3:] == ["Alice", "Bob", "Web"]
    # Sent once: the job again, or late, changes nothing.
    assert server.escalator.run_all_clear(incident_id, resolved_at) == 0
    server.run(hours=2)
    assert len(server.who()) == 6


def test_an_acknowledged_incident_resolved_by_hand_never_times_out_and_says_who(
    server: Server,
):
    incident_id = server.alert()
    server.run()
    server.act(incident_id, "ack", by="alice")
    server.act(incident_id, "resolve", by="carol")
    assert server.pending() == [all_clear_job_id(incident_id)]  # not the ack time-out
    server.run(hours=1)  # past ackTimeoutMinutes
    assert server.who() == ["/alice", "/alice"]
    told = server.receiver.posts("/alice")[1].json
    assert (told["kind"], told["incident"]["resolved_by"]) == ("resolved", "carol")


def test_nobody_paged_nobody_told_and_a_reopened_incident_gets_no_all_clear(server: Server):
    incident_id = server.alert()
    server.alert("resolved")  # before step 1 ran
    server.run()
    assert server.who() == []
    assert "all_clear" not in kinds(server.incident(incident_id))
    second, third = "2026-11-24T10:40:00Z", "2026-11-24T10:50:00Z"
    assert server.alert(starts=second) == incident_id  # fires again: reopened, paged
    server.run()
    server.alert("resolved", starts=second)
    assert server.alert(starts=third) == incident_id  # and again, before the all-clear went out
    assert server.incident(incident_id)["status"] == "firing"
    server.run()
    assert server.who() == ["/alice", "/alice"]  # the second page; no all-clear
    assert [p.json["kind"] for p in server.receiver.posts("/alice")] == ["page", "page"]


def test_a_policy_without_send_resolved_sends_no_all_clear(server: Server):
    other = server.alert(team="payments")
    server.run()
    server.act(other, "resolve", by="carol")
    assert server.pending() == []
    server.run(hours=1)
    assert server.who() == ["/carol"]


def test_failed_deliveries_are_on_the_timeline_and_escalation_goes_on(server: Server):
    server.receiver.fail_next(500, 500)  # both attempts for alice
    incident_id = server.alert()
    server.run()
    incident = server.incident(incident_id)
    failures = [e["detail"] for e in incident["timeline"] if e["kind"] == "delivery_failed"]
    assert [f["attempt"] for f in failures] == [1, 2]
    assert failures[-1]["gave_up"] is True
    assert failures[-1]["recipient"] == "Alice"
    assert "notified" not in kinds(incident)
    assert incident["status"] == "firing"
    server.run(minutes=5)
    assert server.who() == ["/alice", "/alice", "/bob", "/team-web"]


def test_a_step_job_that_runs_twice_notifies_once(server: Server):
    incident_id = server.alert()
    assert server.escalator.run_step(incident_id, 0, 0)
    assert not server.escalator.run_step(incident_id, 0, 0)
    server.run()  # the stored copy of the same job: too late, changes nothing
    assert server.who() == ["/alice"]


def test_a_restart_keeps_the_pending_escalation_and_runs_it_once(
    engine: Engine, tmp_path: Path, receiver: ChatReceiver
):
    clock = FakeClock(START)
    with running(engine, tmp_path, clock, receiver) as first:
        incident_id = first.alert()
        first.run()
        assert first.pending() == [step_job_id(incident_id, 1)]
    clock.advance(minutes=20)  # down past the step's time
    with running(engine, tmp_path, clock, receiver) as second:
        assert second.pending() == [step_job_id(incident_id, 1)]
        assert second.run() == 1
        assert receiver.paths() == ["/alice", "/bob", "/team-web"]
        second.run(seconds=1)
        assert receiver.paths() == ["/alice", "/bob", "/team-web"]
        timeline = second.incident(incident_id)["timeline"]
    assert [e["detail"]["step"] for e in timeline if e["kind"] == "escalated"] == [0, 1]


def test_a_job_lost_in_a_crash_is_rescheduled_at_start_for_its_due_time(
    sqlite: Engine, tmp_path: Path, receiver: ChatReceiver
):
    """APScheduler drops a one-off job when it starts running it: a crash then loses it."""
    clock = FakeClock(START)
    with running(sqlite, tmp_path, clock, receiver) as first:
        incident_id = first.alert()
        first.run()
        first.escalator.jobs.remove(step_job_id(incident_id, 1))
    with running(sqlite, tmp_path, clock, receiver) as second:
        assert second.escalator.jobs.due_times() == {
            step_job_id(incident_id, 1): START + timedelta(minutes=5)
        }
        second.run(minutes=5)
        assert receiver.paths() == ["/alice", "/bob", "/team-web"]


def test_an_incident_stored_but_never_scheduled_is_escalated_at_start(
    sqlite: Engine, tmp_path: Path, receiver: ChatReceiver
):
    clock = FakeClock(START)
    with running(sqlite, tmp_path, clock, receiver) as first:
        incident_id = first.alert()
        first.escalator.jobs.remove(step_job_id(incident_id, 0))  # the crash window
    with running(sqlite, tmp_path, clock, receiver) as second:
        assert second.pending() == [step_job_id(incident_id, 0)]
        second.run()
        assert receiver.paths() == ["/alice"]


@pytest.mark.parametrize(("down_hours", "told"), [(1, True), (25, False)])
def test_a_stored_all_clear_runs_after_a_restart_unless_a_day_has_passed(
    sqlite: Engine, tmp_path: Path, receiver: ChatReceiver, down_hours: int, told: bool
):
    clock = FakeClock(START)
    with running(sqlite, tmp_path, clock, receiver) as first:
        incident_id = first.alert()
        first.run()
        first.alert("resolved")  # the server stops before the all-clear job runs
    clock.advance(hours=down_hours)
    with running(sqlite, tmp_path, clock, receiver) as second:
        assert second.pending() == [all_clear_job_id(incident_id)]
        second.run()
        assert second.pending() == []
    kinds_sent = [post.json["kind"] for post in receiver.posts("/alice")]
    assert kinds_sent == (["page", "resolved"] if told else ["page"])


def test_an_all_clear_never_scheduled_is_not_sent_at_start(
    sqlite: Engine, tmp_path: Path, receiver: ChatReceiver
):
    """Resolved before this version or while sendResolved was off: nobody is owed one."""
    clock = FakeClock(START)
    with running(sqlite, tmp_path, clock, receiver) as first:
        incident_id = first.alert()
        first.run()
        first.alert("resolved")
        first.escalator.jobs.remove(all_clear_job_id(incident_id))
    with running(sqlite, tmp_path, clock, receiver) as second:
        assert second.pending() == []
        second.run(minutes=1)
    assert receiver.paths() == ["/alice"]


def test_the_all_clear_waits_for_a_page_still_being_delivered(
    server: Server, monkeypatch: pytest.MonkeyPatch
):
    held: list[tuple[int, Any]] = []  # the step's deliveries, still retrying
    monkeypatch.setattr(server.escalator, "_deliver", lambda *args: held.append(args))
    incident_id = server.alert()
    server.run()
    monkeypatch.undo()
    server.alert("resolved")
    assert server.run() == 1
    assert server.who() == []
    assert server.pending() == [all_clear_job_id(incident_id)]  # looks again in 15 s
    server.escalator._deliver(*held[0])  # the page gets through at last
    server.run(seconds=15)
    assert [post.json["kind"] for post in server.receiver.posts("/alice")] == ["page", "resolved"]


def test_the_all_clear_waits_for_a_stuck_page_five_minutes_at_most(
    server: Server, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(server.escalator, "_deliver", lambda *args: None)
    incident_id = server.alert()
    server.run()
    monkeypatch.undo()
    server.alert("resolved")
    for _ in range(20):
        server.run(seconds=15)
    assert server.pending() == []  # gave up waiting: nobody got a page, nobody is told
    assert server.who() == []
    assert "all_clear" not in kinds(server.incident(incident_id))


def test_an_all_clear_cut_short_by_a_crash_is_finished_once_at_start(
    engine: Engine, tmp_path: Path, receiver: ChatReceiver, monkeypatch: pytest.MonkeyPatch
):
    clock = FakeClock(START)
    with running(engine, tmp_path, clock, receiver) as first:
        incident_id = first.alert()
        first.run()
        first.run(minutes=5)
        first.alert("resolved")
        # The process dies after the claim is committed and the first delivery made.
        deliver = first.escalator._deliver
        monkeypatch.setattr(
            first.escalator, "_deliver", lambda incident, messages: deliver(incident, messages[:1])
        )
        assert first.run() == 1
        assert "all_clear" in kinds(first.incident(incident_id))
        assert receiver.paths()[3:] == ["/alice"]
    monkeypatch.undo()
    with running(engine, tmp_path, clock, receiver) as second:
        assert second.pending() == [all_clear_job_id(incident_id)]
        second.run()
        assert receiver.paths()[3:] == ["/alice", "/bob", "/team-web"]
    with running(engine, tmp_path, clock, receiver) as third:
        assert third.pending() == []  # everyone has it now
        third.run(hours=1)
        assert len(receiver.paths()) == 6


def test_email_recipients_get_mail_through_the_configured_smtp_server(
    sqlite: Engine, tmp_path: Path, receiver: ChatReceiver
):
    with smtp_server() as mailbox:
        smtp = {"smtp_host": mailbox.host, "smtp_port": mailbox.port, "smtp_from": "pager@x.test"}
        with running(sqlite, tmp_path, FakeClock(START), receiver, **smtp) as srv:
            incident_id = srv.alert(team="ops")
            srv.run()
            timeline = srv.incident(incident_id)["timeline"]
    [(sender, to, message)] = mailbox.messages
    assert (sender, to) == ("pager@x.test", ["erin@example.com"])
    assert message["X-Sloctl-Incident"] == str(incident_id)
    assert "SLO: ops-availability" in message.get_content()
    notified = [e["detail"] for e in timeline if e["kind"] == "notified"]
    assert notified == [
        {
            "recipient": "Erin",
            "notification": "page",
            "channel": "email",
            "to": "erin@example.com",
            "step": 0,
            "round": 0,
            "attempt": 1,
        }
    ]
    assert receiver.paths() == []


def test_without_an_on_call_configuration_incidents_are_kept_and_nothing_is_scheduled(
    sqlite: Engine, tmp_path: Path, receiver: ChatReceiver
):
    settings = Settings(
        database_url="sqlite:///unused.db", webhook_token=WEBHOOK_TOKEN, api_token=API_TOKEN
    )
    clock = FakeClock(START)
    app = create_app(
        settings,
        clock=clock,
        database=sqlite,
        metrics_registry=CollectorRegistry(),
        start_scheduler=False,
    )
    with TestClient(app) as client:
        srv = Server(client, clock, receiver)
        incident_id = srv.alert()
        assert srv.incident(incident_id)["status"] == "firing"
        assert srv.pending() == []
        assert srv.run(hours=1) == 0
    assert receiver.paths() == []


def test_concurrent_runs_of_one_step_notify_once(
    engine: Engine, tmp_path: Path, receiver: ChatReceiver
):
    """Two servers on one database, or a job and its reconciled copy: one wins the step."""
    with running(engine, tmp_path, FakeClock(START), receiver) as srv:
        incident_id = srv.alert()
        barrier = threading.Barrier(6)

        def attempt() -> bool:
            barrier.wait()
            return srv.escalator.run_step(incident_id, 0, 0)

        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda _i: attempt(), range(6)))
        assert results.count(True) == 1
        assert receiver.paths() == ["/alice"]
        timeline = srv.incident(incident_id)["timeline"]
        assert [e["kind"] for e in timeline].count("escalated") == 1


def test_a_crash_during_a_steps_deliveries_is_made_good_at_start(
    sqlite: Engine, tmp_path: Path, receiver: ChatReceiver
):
    """The step is committed, the process dies before its messages went out."""
    clock = FakeClock(START)
    with running(sqlite, tmp_path, clock, receiver) as first:
        incident_id = first.alert()
        first.escalator.notifier.deliver = lambda *_args: True  # type: ignore[method-assign]
        first.run()
    assert receiver.paths() == []
    with running(sqlite, tmp_path, clock, receiver) as second:
        assert f"incident:{incident_id}:redeliver" in second.pending()
        second.run()
        assert receiver.paths() == ["/alice"]
        notified = [
            e["detail"] for e in second.incident(incident_id)["timeline"] if e["kind"] == "notified"
        ]
        assert [(n["recipient"], n["step"], n["round"]) for n in notified] == [("Alice", 0, 0)]
    with running(sqlite, tmp_path, clock, receiver) as third:
        assert f"incident:{incident_id}:redeliver" not in third.pending()
        third.run(minutes=5)  # and escalation goes on as planned
        assert receiver.paths() == ["/alice", "/bob", "/team-web"]
