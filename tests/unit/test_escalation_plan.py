"""The pure escalation plan: next steps and rounds, due times, deliveries left after a crash,
and who hears the all-clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.oncall.plan import (
    Next,
    all_clear_recipients,
    due_at,
    find_policy,
    last_all_clear,
    last_position,
    last_step,
    next_step,
    paged,
    unsettled,
)
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


def test_a_reopened_incident_starts_a_new_episode_with_no_step_run_yet():
    timeline = [
        ("opened", AT, {}),
        escalated(1, 0),
        delivery("delivery_failed", "Bob", "b.test", step=1, retry_in=1.0),  # then resolved
        ("resolved", AT, {"by": "alertmanager"}),
        ("reopened", AT, {"firing": 1}),
    ]
    # The last episode's unsettled delivery is not sent again for the new one.
    assert last_step(timeline) is None
    assert last_position(None) == (0, 0)  # no step yet: the first
    assert last_position(last_step(timeline[:3])) == (1, 0)


CONFIG = parse_oncall(
    """\
apiVersion: sloctl.dev/v1
kind: OnCall
spec:
  people:
    - id: alice
      name: Alice
      channels: [{kind: slack, url: "http://a.test/x"}, {kind: email, address: a@x.test}]
    - {id: bob, name: Bob, channels: [{kind: slack, url: "http://b.test/y"}]}
    - {id: carol, name: Carol, channels: [{kind: slack, url: "http://c.test/z"}]}
  teams:
    - id: web
      name: Web
      escalationPolicy: web
      channel: {kind: webhook, url: "http://hooks.test/web"}
  escalationPolicies: [{id: web, steps: [{waitMinutes: 1, targets: [{person: alice}]}]}]
  defaultRoute: {policy: web}
""",
    "oncall.yaml",
)


def reached(who: str, channel: str, to: str, notification: str = "page") -> tuple:
    detail = {"recipient": who, "channel": channel, "to": to, "notification": notification}
    return ("notified", AT, {**detail, "step": 0, "round": 0})


def names(recipients) -> list[tuple[str, str]]:
    return [(r.name, r.channel.kind) for r in recipients]


def test_the_all_clear_goes_to_each_channel_a_page_of_this_episode_reached():
    timeline = [
        ("opened", AT, {}),
        escalated(0, 0),
        reached("Alice", "slack", "a.test"),
        delivery("delivery_failed", "Alice", "a@x.test", gave_up=True),  # her email never went
        reached("Carol", "slack", "c.test", notification="ack_timeout"),
        reached("Web", "webhook", "hooks.test"),
        ("resolved", AT, {"by": "alice"}),
    ]
    assert paged(timeline) == {
        ("Alice", "slack", "a.test"),
        ("Carol", "slack", "c.test"),
        ("Web", "webhook", "hooks.test"),
    }
    assert names(all_clear_recipients(CONFIG, timeline)) == [
        ("Alice", "slack"),
        ("Carol", "slack"),
        ("Web", "webhook"),
    ]
    # Pages of an earlier episode are not answered again; nor are all-clears pages.
    again = [*timeline, ("reopened", AT, {}), reached("Bob", "slack", "b.test")]
    again += [reached("Alice", "slack", "a.test", notification="resolved")]
    assert names(all_clear_recipients(CONFIG, again)) == [("Bob", "slack")]
    # A channel that moved to another host since the page is not guessed at.
    assert all_clear_recipients(CONFIG, [reached("Bob", "slack", "old.test")]) == []


def test_the_all_clear_is_claimed_once_per_resolution_and_its_deliveries_settle():
    resolved = [("opened", AT, {}), reached("Alice", "slack", "a.test"), ("resolved", AT, {})]
    assert last_all_clear(resolved) is None
    claimed = [*resolved, ("all_clear", AT, {"recipients": ["Alice", "Bob"]})]
    claim = last_all_clear(claimed)
    assert claim is not None
    assert claim.recipients == ("Alice", "Bob")
    assert unsettled(claim, [ALICE, BOB]) == [ALICE, BOB]
    # A page's delivery does not settle the all-clear; the all-clear's own does.
    sent = [*claimed, reached("Alice", "slack", "a.test")]
    assert unsettled(last_all_clear(sent), [ALICE, BOB]) == [ALICE, BOB]
    sent.append(reached("Alice", "slack", "a.test", notification="resolved"))
    gave_up = ("delivery_failed", AT, {**reached("Bob", "slack", "b.test", "resolved")[2]})
    assert unsettled(last_all_clear(sent), [ALICE, BOB]) == [BOB]
    gave_up[2]["gave_up"] = True
    assert unsettled(last_all_clear([*sent, gave_up]), [ALICE, BOB]) == []
    # Reopened and resolved again: the earlier all-clear does not count.
    assert last_all_clear([*sent, ("reopened", AT, {}), ("resolved", AT, {})]) is None
    # Nor does an all-clear's delivery settle a step's.
    stepped = last_step([("opened", AT, {}), escalated(0, 0), gave_up])
    assert stepped is not None
    assert unsettled(stepped, [ALICE, BOB]) == [ALICE, BOB]
