"""Who is on call at T: rotations across daylight-saving changes, layers, overrides, handoffs.

Each case is a schedule (as YAML) and the person expected at an instant; the
instants are UTC so that the expectations do not depend on the code under test
to convert them. Europe/Berlin switches on 2026-03-29 (01:00 UTC) and
2026-10-25 (01:00 UTC); America/New_York on 2026-03-08 (07:00 UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sloctl.oncall.config import OnCallConfig, parse_oncall
from sloctl.oncall.schedule import on_call, recipients, shift_at

PEOPLE = ["a", "b", "c", "d"]


def config(schedule: str) -> OnCallConfig:
    people = "\n".join(
        f"    - {{id: {p}, name: {p.upper()}, channels: [{{kind: email, address: {p}@x.test}}]}}"
        for p in PEOPLE
    )
    text = f"""\
apiVersion: sloctl.dev/v1
kind: OnCall
spec:
  people:
{people}
  teams:
    - {{id: t, name: T, escalationPolicy: p, channel: {{kind: slack, url: "http://x.test/t"}}}}
  schedules:
    - id: s
{schedule}
  escalationPolicies:
    - id: p
      steps: [{{waitMinutes: 5, targets: [{{schedule: s}}, {{person: a}}, {{teamChannel: t}}]}}]
  defaultRoute: {{team: t}}
"""
    return parse_oncall(text, "oncall.yaml")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


BERLIN_DAILY_SPRING = """\
      timeZone: Europe/Berlin
      layers:
        - {name: daily, people: [a, b, c], start: 2026-03-26, shiftLength: 1d, handoffTime: "09:00"}
"""
BERLIN_DAILY_AUTUMN = BERLIN_DAILY_SPRING.replace("2026-03-26", "2026-10-22")
BERLIN_0230_SPRING = """\
      timeZone: Europe/Berlin
      layers:
        - {name: daily, people: [a, b], start: 2026-03-27, shiftLength: 1d, handoffTime: "02:30"}
"""
BERLIN_0230_AUTUMN = BERLIN_0230_SPRING.replace("2026-03-27", "2026-10-23")
BERLIN_12H = """\
      timeZone: Europe/Berlin
      layers:
        - {name: halves, people: [a, b], start: 2026-03-28, shiftLength: 12h, handoffTime: "08:00"}
"""
NEW_YORK_WEEKLY = """\
      timeZone: America/New_York
      layers:
        - {name: weekly, people: [a, b], start: 2026-03-02, shiftLength: 7d, handoffTime: "10:00"}
"""
LAYERED = """\
      timeZone: UTC
      layers:
        - {name: base, people: [a], start: 2026-01-05, shiftLength: 7d}
        - name: office
          people: [b]
          start: 2026-01-05
          shiftLength: 7d
          days: [mon, tue, wed, thu, fri]
          hours: "09:00-17:00"
        - name: friday-night
          people: [c]
          start: 2026-01-05
          shiftLength: 1d
          days: [fri]
          hours: "22:00-06:00"
        - {name: later, people: [d], start: 2026-12-01, end: 2026-12-03, shiftLength: 1d}
      overrides:
        - {person: c, start: "2026-11-23T10:00:00", end: "2026-11-23T12:00:00"}
        - {person: d, start: "2026-11-23T11:00:00+00:00", end: "2026-11-23T11:30:00+00:00"}
"""
BERLIN_OVERRIDE = """\
      timeZone: Europe/Berlin
      layers:
        - {name: weekly, people: [a], start: 2026-01-05}
      overrides:
        - {person: b, start: "2026-11-24T09:00:00", end: "2026-11-24T10:00:00"}
"""

WHO_CASES = [
    # Daily 09:00 Berlin handoff: before spring the handoff is 08:00 UTC, after it 07:00 UTC.
    ("spring: first shift", BERLIN_DAILY_SPRING, "2026-03-26T08:00", "a"),
    ("spring: before first shift", BERLIN_DAILY_SPRING, "2026-03-26T07:59", None),
    ("spring: third shift, winter time", BERLIN_DAILY_SPRING, "2026-03-28T08:00", "c"),
    ("spring: 09:00 CEST handoff is 07:00 UTC", BERLIN_DAILY_SPRING, "2026-03-29T07:00", "a"),
    ("spring: one minute before it", BERLIN_DAILY_SPRING, "2026-03-29T06:59", "c"),
    ("spring: the day after", BERLIN_DAILY_SPRING, "2026-03-30T07:00", "b"),
    # Autumn: the shift across the change lasts 25 hours; 09:00 CET is 08:00 UTC again.
    ("autumn: shift over the change", BERLIN_DAILY_AUTUMN, "2026-10-25T07:30", "c"),
    ("autumn: 09:00 CET handoff is 08:00 UTC", BERLIN_DAILY_AUTUMN, "2026-10-25T08:00", "a"),
    ("autumn: summer-time handoff", BERLIN_DAILY_AUTUMN, "2026-10-24T07:00", "c"),
    # 02:30 does not exist on 2026-03-29 (it becomes 03:30 CEST = 01:30 UTC).
    ("skipped handoff: not yet", BERLIN_0230_SPRING, "2026-03-29T01:15", "b"),
    ("skipped handoff: done", BERLIN_0230_SPRING, "2026-03-29T01:30", "a"),
    # 02:30 happens twice on 2026-10-25: the first (CEST, 00:30 UTC) is the handoff.
    ("repeated handoff: before", BERLIN_0230_AUTUMN, "2026-10-25T00:15", "b"),
    ("repeated handoff: first occurrence", BERLIN_0230_AUTUMN, "2026-10-25T00:45", "a"),
    ("repeated handoff: second occurrence", BERLIN_0230_AUTUMN, "2026-10-25T01:45", "a"),
    # 12h shifts hand off at 08:00 and 20:00 local on both sides of the change.
    ("12h: 20:00 CET", BERLIN_12H, "2026-03-28T19:00", "b"),
    ("12h: 08:00 CEST is 06:00 UTC", BERLIN_12H, "2026-03-29T06:00", "a"),
    ("12h: just before", BERLIN_12H, "2026-03-29T05:59", "b"),
    # New York goes to EDT on 2026-03-08: Monday 10:00 is 14:00 UTC, not 15:00.
    ("new york: before the change", NEW_YORK_WEEKLY, "2026-03-02T15:00", "a"),
    ("new york: 10:00 EDT", NEW_YORK_WEEKLY, "2026-03-09T14:00", "b"),
    ("new york: 09:59 EDT", NEW_YORK_WEEKLY, "2026-03-09T13:59", "a"),
    # Layers: a higher layer wins where it has someone; the lower answers elsewhere.
    ("layers: office hours", LAYERED, "2026-11-24T10:00", "b"),
    ("layers: office closes at 17:00", LAYERED, "2026-11-24T17:00", "a"),
    ("layers: weekend", LAYERED, "2026-11-28T10:00", "a"),
    ("layers: friday night past midnight", LAYERED, "2026-11-28T03:00", "c"),
    ("layers: friday night ends 06:00", LAYERED, "2026-11-28T06:00", "a"),
    ("layers: thursday night is not friday's", LAYERED, "2026-11-27T03:00", "a"),
    ("layers: friday 23:00", LAYERED, "2026-11-27T23:00", "c"),
    ("layers: not started yet", LAYERED, "2026-11-30T23:00", "a"),
    ("layers: started", LAYERED, "2026-12-01T10:00", "d"),
    ("layers: last minute", LAYERED, "2026-12-03T08:59", "d"),
    ("layers: ended at the end date's handoff", LAYERED, "2026-12-03T09:00", "b"),
    # Overrides win over every layer; the later listed wins where they overlap.
    ("override over office hours", LAYERED, "2026-11-23T10:00", "c"),
    ("later override wins", LAYERED, "2026-11-23T11:15", "d"),
    ("override end is exclusive", LAYERED, "2026-11-23T12:00", "b"),
    ("override in the schedule's zone", BERLIN_OVERRIDE, "2026-11-24T08:30", "b"),
    ("override over in that zone", BERLIN_OVERRIDE, "2026-11-24T09:00", "a"),
]


@pytest.mark.parametrize(
    ("schedule", "at", "expected"),
    [case[1:] for case in WHO_CASES],
    ids=[case[0] for case in WHO_CASES],
)
def test_who_is_on_call(schedule: str, at: str, expected: str | None) -> None:
    people = on_call(config(schedule), "s", utc(at))
    assert [p.id for p in people] == ([expected] if expected else [])


SHIFT_CASES = [
    # The shift across spring forward is 23 hours, across fall back 25.
    ("spring 23h", BERLIN_DAILY_SPRING, "2026-03-28T12:00", "2026-03-28T08:00", "2026-03-29T07:00"),
    ("autumn 25h", BERLIN_DAILY_AUTUMN, "2026-10-25T03:00", "2026-10-24T07:00", "2026-10-25T08:00"),
    ("office hours", LAYERED, "2026-11-24T10:00", "2026-11-24T09:00", "2026-11-24T17:00"),
    # The base layer's shift is cut by the layers above it.
    ("base after office", LAYERED, "2026-11-24T20:00", "2026-11-24T17:00", "2026-11-25T09:00"),
    ("override", LAYERED, "2026-11-23T10:30", "2026-11-23T10:00", "2026-11-23T11:00"),
    ("new york week", NEW_YORK_WEEKLY, "2026-03-10T00:00", "2026-03-09T14:00", "2026-03-16T14:00"),
]


@pytest.mark.parametrize(
    ("schedule", "at", "start", "end"),
    [case[1:] for case in SHIFT_CASES],
    ids=[case[0] for case in SHIFT_CASES],
)
def test_shift_bounds(schedule: str, at: str, start: str, end: str) -> None:
    shift = shift_at(config(schedule), "s", utc(at))
    assert shift is not None
    assert (shift.start, shift.end) == (utc(start), utc(end))


def test_nobody_on_call_has_no_shift() -> None:
    assert shift_at(config(BERLIN_DAILY_SPRING), "s", utc("2026-03-01T00:00")) is None


@pytest.mark.usefixtures("new_york_local_time")
def test_naive_instants_are_utc() -> None:
    cfg = config(BERLIN_DAILY_SPRING)
    naive = datetime(2026, 3, 29, 7, 0)
    assert on_call(cfg, "s", naive) == on_call(cfg, "s", naive.replace(tzinfo=UTC))
    # 05:00 UTC is 07:00 in Berlin, before a's 09:00 handoff: c. Read as New York's
    # local 05:00 (09:00 UTC, 11:00 Berlin) it would be a.
    assert [p.id for p in on_call(cfg, "s", datetime(2026, 3, 29, 5, 0))] == ["c"]


def test_recipients_cover_every_target_once() -> None:
    cfg = config(BERLIN_DAILY_SPRING)
    step = cfg.policy("p").steps[0]
    # a is on call and also named: one email to a, then the team's channel.
    found = recipients(cfg, step, utc("2026-03-26T10:00"))
    assert [(r.person, r.team, r.channel.kind) for r in found] == [
        ("a", None, "email"),
        (None, "t", "slack"),
    ]
    found = recipients(cfg, step, utc("2026-03-27T10:00"))
    assert [(r.person, r.team) for r in found] == [("b", None), ("a", None), (None, "t")]
