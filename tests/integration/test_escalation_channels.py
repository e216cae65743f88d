"""Notification channels against real endpoints: an HTTP receiver and aiosmtpd.

The Slack and webhook senders post to a local receiver that records what
arrives and fails on request; email goes through a real SMTP server. Retries
are checked through the waits the notifier asks for (its ``sleep`` is
recorded, so the test does not wait) and the timeline entries it reports.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from server.oncall.channels import (
    EmailSender,
    Notification,
    Notifier,
    RetryPolicy,
    SlackSender,
    SMTPSettings,
    UnavailableSender,
    WebhookSender,
)
from sloctl.oncall.config import EmailChannel, SlackChannel, WebhookChannel
from tests.support.processes import free_port
from tests.support.receivers import smtp_server

pytestmark = pytest.mark.integration

MESSAGE = Notification(
    kind="page",
    incident_id=7,
    title="SLO shop-availability is burning its error budget too fast (page)",
    summary="Errors <script> & more",
    status="firing",
    severity="page",
    slo="shop-availability",
    service="shop",
    team="web",
    policy="web",
    step=0,
    round=0,
    recipient="Alice Example",
    opened_at=datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
    url="http://sloctl.example/oncall/incidents/7",
)


class Timeline:
    def __init__(self) -> None:
        self.entries: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, kind: str, detail: dict[str, Any]) -> None:
        self.entries.append((kind, detail))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.entries]


@pytest.fixture
def http():
    with httpx.Client(timeout=5) as client:
        yield client


def notifier(http: httpx.Client, sleeps: list[float], attempts: int = 4) -> Notifier:
    smtp = SMTPSettings(host="127.0.0.1", port=1, timeout=2)
    return Notifier(
        {"webhook": WebhookSender(http), "slack": SlackSender(http), "email": EmailSender(smtp)},
        RetryPolicy(attempts=attempts, base=0.5, cap=1.5),
        sleep=sleeps.append,
    )


def test_webhook_posts_the_documented_json_with_the_channels_headers(receiver, http):
    sleeps: list[float] = []
    timeline = Timeline()
    channel = WebhookChannel(
        kind="webhook", url=receiver.url + "/hooks/oncall", headers={"X-Token": "s3cret"}
    )
    assert notifier(http, sleeps).deliver(channel, MESSAGE, timeline)
    [post] = receiver.posts("/hooks/oncall")
    assert post.method == "POST"
    assert post.headers["x-token"] == "s3cret"
    assert post.headers["content-type"] == "application/json"
    body = post.json
    assert body["version"] == "1"
    assert body["kind"] == "page"
    assert body["recipient"] == "Alice Example"
    assert body["escalation"] == {"policy": "web", "step": 0, "round": 0}
    assert body["incident"]["id"] == 7
    assert body["incident"]["slo"] == "shop-availability"
    assert body["incident"]["opened_at"] == "2026-11-24T09:30:00+00:00"
    assert body["incident"]["url"] == "http://sloctl.example/oncall/incidents/7"
    assert timeline.entries == [
        (
            "notified",
            {
                "recipient": "Alice Example",
                "notification": "page",
                "channel": "webhook",
                "to": "127.0.0.1",
                "step": 0,
                "round": 0,
                "attempt": 1,
            },
        )
    ]
    assert sleeps == []


def test_the_all_clear_says_when_and_by_whom_the_incident_resolved(receiver, http):
    resolved = dataclasses.replace(
        MESSAGE,
        kind="resolved",
        status="resolved",
        resolved_at=datetime(2026, 11, 24, 10, 5, tzinfo=UTC),
        resolved_by="alertmanager",
    )
    channel = WebhookChannel(kind="webhook", url=receiver.url + "/hooks/oncall")
    timeline = Timeline()
    assert notifier(http, []).deliver(channel, resolved, timeline)
    body = receiver.posts("/hooks/oncall")[0].json
    assert body["kind"] == "resolved"
    assert body["incident"]["status"] == "resolved"
    assert body["incident"]["resolved_at"] == "2026-11-24T10:05:00+00:00"
    assert body["incident"]["resolved_by"] == "alertmanager"
    assert timeline.entries[0][1]["notification"] == "resolved"
    assert resolved.subject().startswith("[sloctl] #7 resolved: SLO shop-availability")
    text = resolved.text()
    assert "Resolved: 2026-11-24T10:05:00+00:00 by alertmanager" in text
    assert "Escalation:" not in text  # no step to report: nobody is being escalated to
    page = MESSAGE.payload()["incident"]
    assert (page["resolved_at"], page["resolved_by"]) == (None, None)
    assert "Escalation: policy web, step 1, round 1" in MESSAGE.text()


def test_slack_gets_text_and_escaped_mrkdwn_blocks(receiver, http):
    timeline = Timeline()
    channel = SlackChannel(kind="slack", url=receiver.url + "/services/T000/B000/XXXX")
    assert notifier(http, []).deliver(channel, MESSAGE, timeline)
    body = receiver.bodies("/services/T000/B000/XXXX")[0]
    assert body["text"].startswith("[sloctl] #7 page: SLO shop-availability")
    headline = body["blocks"][0]["text"]
    assert headline["type"] == "mrkdwn"
    assert headline["text"].startswith("*<http://sloctl.example/oncall/incidents/7|[sloctl] #7")
    details = body["blocks"][1]["text"]["text"]
    assert "Errors &lt;script&gt; &amp; more" in details
    assert "<script>" not in details
    # The webhook path is Slack's secret: the timeline shows the host only.
    assert "XXXX" not in str(timeline.entries)


def test_server_errors_are_retried_with_doubling_waits_and_every_attempt_recorded(receiver, http):
    sleeps: list[float] = []
    timeline = Timeline()
    receiver.fail_next(503, 500, 429)
    channel = WebhookChannel(kind="webhook", url=receiver.url + "/flaky")
    assert notifier(http, sleeps).deliver(channel, MESSAGE, timeline)
    assert len(receiver.posts("/flaky")) == 4
    assert sleeps == [0.5, 1.0, 1.5]  # doubling, capped
    assert timeline.kinds() == ["delivery_failed"] * 3 + ["notified"]
    failures = [detail for kind, detail in timeline.entries if kind == "delivery_failed"]
    assert [f["attempt"] for f in failures] == [1, 2, 3]
    assert failures[0]["error"].startswith("HTTP 503")
    assert [f["retry_in"] for f in failures] == [0.5, 1.0, 1.5]
    assert timeline.entries[-1][1]["attempt"] == 4


def test_a_channel_that_keeps_failing_is_given_up_and_recorded(receiver, http):
    sleeps: list[float] = []
    timeline = Timeline()
    receiver.fail_next(500, 500, 500)
    channel = WebhookChannel(kind="webhook", url=receiver.url + "/down")
    assert not notifier(http, sleeps, attempts=3).deliver(channel, MESSAGE, timeline)
    assert len(receiver.posts("/down")) == 3
    assert timeline.kinds() == ["delivery_failed"] * 3
    assert timeline.entries[-1][1]["gave_up"] is True
    assert sleeps == [0.5, 1.0]


def test_a_client_error_is_not_retried(receiver, http):
    sleeps: list[float] = []
    timeline = Timeline()
    receiver.fail_next(404)
    channel = SlackChannel(kind="slack", url=receiver.url + "/gone")
    assert not notifier(http, sleeps).deliver(channel, MESSAGE, timeline)
    assert len(receiver.posts("/gone")) == 1
    assert sleeps == []
    assert timeline.entries[0][1]["gave_up"] is True


def test_a_refused_connection_is_retried_then_given_up(http):
    sleeps: list[float] = []
    timeline = Timeline()
    channel = WebhookChannel(kind="webhook", url=f"http://127.0.0.1:{free_port()}/nobody")
    assert not notifier(http, sleeps, attempts=2).deliver(channel, MESSAGE, timeline)
    assert timeline.kinds() == ["delivery_failed", "delivery_failed"]
    assert "ConnectError" in timeline.entries[0][1]["error"]


def test_email_goes_through_a_real_smtp_server(http):
    timeline = Timeline()
    with smtp_server() as mailbox:
        sender = EmailSender(
            SMTPSettings(host=mailbox.host, port=mailbox.port, sender="pager@sloctl.example")
        )
        notifier_ = Notifier(
            {"email": sender}, RetryPolicy(attempts=2, base=0), sleep=lambda _s: None
        )
        channel = EmailChannel(kind="email", address="alice@example.com")
        assert notifier_.deliver(channel, MESSAGE, timeline)
        [(mail_from, to, message)] = mailbox.messages
    assert mail_from == "pager@sloctl.example"
    assert to == ["alice@example.com"]
    assert message["Subject"].startswith("[sloctl] #7 page: SLO shop-availability")
    assert message["X-Sloctl-Incident"] == "7"
    body = message.get_content()
    assert "SLO: shop-availability" in body
    assert "Incident: http://sloctl.example/oncall/incidents/7" in body
    assert timeline.entries == [
        (
            "notified",
            {
                "recipient": "Alice Example",
                "notification": "page",
                "channel": "email",
                "to": "alice@example.com",
                "step": 0,
                "round": 0,
                "attempt": 1,
            },
        )
    ]


def test_email_to_a_refused_address_is_given_up_at_once_and_an_smtp_outage_retried():
    timeline = Timeline()
    sleeps: list[float] = []
    with smtp_server() as mailbox:
        mailbox.refuse.add("ghost@example.com")
        sender = EmailSender(SMTPSettings(host=mailbox.host, port=mailbox.port))
        notifier_ = Notifier(
            {"email": sender}, RetryPolicy(attempts=3, base=0.25), sleep=sleeps.append
        )
        ghost = EmailChannel(kind="email", address="ghost@example.com")
        assert not notifier_.deliver(ghost, MESSAGE, timeline)
        assert mailbox.messages == []
    assert sleeps == []
    assert "refused ghost@example.com" in timeline.entries[0][1]["error"]
    # The server is gone now: a connection error, retried.
    alice = EmailChannel(kind="email", address="alice@example.com")
    assert not notifier_.deliver(alice, MESSAGE, timeline)
    assert sleeps == [0.25, 0.5]
    assert timeline.kinds() == ["delivery_failed"] * 4


def test_email_without_smtp_settings_is_recorded_as_undeliverable():
    timeline = Timeline()
    notifier_ = Notifier({"email": UnavailableSender("email needs SLOCTL_SERVER_SMTP_HOST")})
    assert not notifier_.deliver(
        EmailChannel(kind="email", address="a@example.com"), MESSAGE, timeline
    )
    assert timeline.entries[0][1]["error"] == "email needs SLOCTL_SERVER_SMTP_HOST"
