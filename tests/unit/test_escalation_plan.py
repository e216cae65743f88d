"""The pure escalation plan: next steps and rounds, due times, deliveries left after a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.oncall.plan import Next, due_at, find_policy, last_step, next_step, unsettled
from sloctl.oncall.config import EscalationPolicy, Recipient, SlackChannel, parse_oncall

AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
POLICY = EscalationPolicy.model_validate(
    {
        "id": "web",
        "repeat": 1,
        "steps": [
            {"wait_minutes": 5, "targets": [{"person": "alice"}]},
            {"wait_minutes": 10, "targets": [{"person": "bob"}]},
        ],
    }
)
ALICE = Recipient(
    name="Alice", person="alice", channel=SlackChannel(kind="slack", url="http://a.test/x")
)
BOB = Recipient(name="Bob", person="bob", channel=SlackChannel(kind="slack", url="http://b.test/y"))


@pytest.mark.parametrize(
    ("step", "round_", "expected"),
    [
        (0, 0, Next(1, 0)),
        (1, 0, Next(0, 1)),  # the last step: the policy starts again (repeat: 1)
        (0, 1, Next(1, 1)),
        (1, 1, None),  # repeated once: done
    ],
)
def test_next_step_walks_the_steps_then_the_rounds(step, round_, expected):
    assert next_step(POLICY, step, round_) == expected


def escalated(step: int, round_: int, at: datetime = AT, **extra) -> tuple:
    detail = {"step": step, "round": round_, "recipients": ["Alice", "Bob"], **extra}
    return ("escalated", at, detail)


def delivery(kind: str, who: str, host: str, step: int = 0, round_: int = 0, **extra) -> tuple:
    detail = {"recipient": who, "channel": "slack", "to": host, "step": step, "round": round_}
    return (kind, AT, {**detail, **extra})


def test_due_time_is_the_last_steps_time_plus_its_wait_or_now():
    now = AT + timedelta(hours=1)
    assert due_at(POLICY, None, now) == now
    assert due_at(POLICY, last_step([escalated(0, 0)]), now) == AT + timedelta(minutes=5)
    assert due_at(POLICY, last_step([escalated(1, 0)]), now) == AT + timedelta(minutes=10)
    assert due_at(POLICY, last_step([escalated(7, 0)]), now) == now  # the policy shrank


def test_deliveries_that_ended_are_settled_and_the_rest_are_left():
    timeline = [
        ("opened", AT, {}),
        escalated(0, 0),
        delivery("delivery_failed", "Alice", "a.test", retry_in=1.0),
        delivery("notified", "Alice", "a.test"),
        delivery("delivery_failed", "Bob", "b.test", retry_in=1.0),  # then the crash
    ]
    last = last_step(timeline)
    assert last is not None
    assert (last.step, last.round, last.kind) == (0, 0, "page")
    assert unsettled(last, [ALICE, BOB]) == [BOB]
    given_up = [*timeline, delivery("delivery_failed", "Bob", "b.test", gave_up=True)]
    assert unsettled(last_step(given_up), [ALICE, BOB]) == []


def test_only_the_last_steps_outcomes_count():
    timeline = [
        escalated(0, 0),
        delivery("notified", "Alice", "a.test"),
        delivery("notified", "Bob", "b.test"),
        escalated(0, 1, notification="ack_timeout"),  # a new round: nothing sent yet
    ]
    last = last_step(timeline)
    assert last is not None
    assert last.kind == "ack_timeout"
    assert unsettled(last, [ALICE, BOB]) == [ALICE, BOB]
    # Somebody the step did not name (the schedule changed since) is not added.
    assert unsettled(last_step([escalated(0, 0, recipients=["Alice"])]), [ALICE, BOB]) == [ALICE]


def test_a_policy_that_is_gone_is_none():
    config = parse_oncall(
        """\
apiVersion: sloctl.dev/v1
kind: OnCall
spec:
  people: [{id: alice, name: Alice, channels: [{kind: slack, url: "http://a.test/x"}]}]
  escalationPolicies: [{id: web, steps: [{waitMinutes: 1, targets: [{person: alice}]}]}]
  defaultRoute: {policy: web}
""",
        "oncall.yaml",
    )
    assert find_policy(config, "web") is not None
    assert find_policy(config, "gone") is None
    assert find_policy(None, "web") is None
    assert find_policy(config, None) is None
