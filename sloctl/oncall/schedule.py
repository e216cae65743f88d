"""Who is on call at a given instant: rotations, layers and overrides, in real time zones.

Shift ``k`` of a rotation starts at the wall-clock time ``start + k * shiftLength``
(at ``handoffTime``) in the rotation's time zone, turned into an instant with
:mod:`zoneinfo`. A daily 09:00 handoff therefore stays at 09:00 local when
daylight saving starts or ends; the shift around the change is an hour shorter
or longer. A handoff at a wall-clock time that does not exist (the hour skipped
in spring) happens at the same wall-clock reading after the skip (02:30 becomes
03:30); a wall-clock time that happens twice (autumn) means the first one.

Precedence at an instant: the last override covering it, else the highest layer
(the last listed) that has someone, else nobody. All instants handed out are UTC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sloctl.oncall.config import (
    WEEKDAYS,
    OnCallConfig,
    Override,
    Person,
    Recipient,
    Rotation,
    Schedule,
    Step,
    Team,
    parse_hhmm,
)

#: How far either way :func:`shift_at` looks for the start and end of a shift at most.
MAX_HORIZON = timedelta(days=35)


@dataclass(frozen=True)
class Shift:
    """Someone's continuous time on call in a schedule.

    ``start``/``end`` are None when they lie beyond the horizon looked at
    (or the schedule never hands over again).
    """

    schedule: str
    person: Person
    start: datetime | None
    end: datetime | None
    source: str  # "layer:<name>" or "override"


def aware(at: datetime, tz: ZoneInfo | None = None) -> datetime:
    """``at`` as a UTC instant; naive values are wall-clock times in ``tz`` (UTC by default)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=tz or UTC)
    return at.astimezone(UTC)


class _Layer:
    """A rotation bound to its time zone, answering who it has at an instant."""

    def __init__(self, rotation: Rotation, default_tz: str) -> None:
        self.rotation = rotation
        self.tz = ZoneInfo(rotation.time_zone or default_tz)
        self.handoff = parse_hhmm(rotation.handoff_time)
        self.first = datetime.combine(rotation.start, self.handoff)
        self.shift = timedelta(seconds=rotation.shift_seconds)
        self.begins = self._instant(self.first)
        self.ends = (
            self._instant(datetime.combine(rotation.end, self.handoff))
            if rotation.end is not None
            else None
        )
        self.hours = rotation.hours_range
        self.days = {WEEKDAYS.index(day) for day in rotation.days}

    def _instant(self, wall: datetime) -> datetime:
        # fold=0: a skipped wall time keeps the offset before the change (02:30 -> 03:30),
        # a repeated one is its first occurrence.
        return wall.replace(tzinfo=self.tz).astimezone(UTC)

    def handoff_at(self, k: int) -> datetime:
        return self._instant(self.first + k * self.shift)

    def index(self, at: datetime) -> int:
        """The shift ``k`` with ``handoff_at(k) <= at < handoff_at(k + 1)``."""
        wall = at.astimezone(self.tz).replace(tzinfo=None)
        k = math.floor((wall - self.first) / self.shift)
        while self.handoff_at(k) > at:
            k -= 1
        while self.handoff_at(k + 1) <= at:
            k += 1
        return k

    def active(self, at: datetime) -> bool:
        """Whether the layer has anyone at ``at`` (its dates, days and hours)."""
        if at < self.begins or (self.ends is not None and at >= self.ends):
            return False
        local = at.astimezone(self.tz)
        if self.hours is None:
            return local.weekday() in self.days
        since, until = self.hours
        now = local.time().replace(tzinfo=None)
        if since < until:
            return local.weekday() in self.days and since <= now < until
        # Hours past midnight belong to the day the window opened.
        if now >= since:
            return local.weekday() in self.days
        return now < until and (local.weekday() - 1) % 7 in self.days

    def who(self, at: datetime) -> str | None:
        if not self.active(at):
            return None
        people = self.rotation.people
        return people[self.index(at) % len(people)]

    def boundaries(self, since: datetime, until: datetime) -> list[datetime]:
        """Every instant in [since, until] at which the answer of :meth:`who` may change."""
        out = [self.begins] + ([self.ends] if self.ends is not None else [])
        k = self.index(since)
        while (at := self.handoff_at(k)) <= until:
            out.append(at)
            k += 1
        if self.hours is not None or len(self.days) < 7:
            day = since.astimezone(self.tz).date() - timedelta(days=1)
            last = until.astimezone(self.tz).date() + timedelta(days=1)
            edges = self.hours or (time(0), time(0))
            while day <= last:
                out.extend(self._instant(datetime.combine(day, edge)) for edge in edges)
                day += timedelta(days=1)
        return [at for at in out if since <= at <= until]


def _override_span(override: Override, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return aware(override.start, tz), aware(override.end, tz)


class ScheduleView:
    """A schedule bound to its time zones: answers who is on call and since when."""

    def __init__(self, config: OnCallConfig, schedule: Schedule) -> None:
        self.config = config
        self.schedule = schedule
        self.tz = ZoneInfo(schedule.time_zone)
        self.layers = [_Layer(rotation, schedule.time_zone) for rotation in schedule.layers]
        self.overrides = [(o.person, *_override_span(o, self.tz)) for o in schedule.overrides]

    def who(self, at: datetime) -> tuple[str, str] | None:
        """(person id, source) on call at ``at``, or None."""
        for person, start, end in reversed(self.overrides):
            if start <= at < end:
                return person, "override"
        for layer in reversed(self.layers):
            person_id = layer.who(at)
            if person_id is not None:
                return person_id, f"layer:{layer.rotation.name}"
        return None

    def horizon(self) -> timedelta:
        longest = max([layer.shift for layer in self.layers] + [timedelta(days=1)])
        longest = max([end - start for _, start, end in self.overrides] + [longest])
        return min(longest + timedelta(days=1), MAX_HORIZON)

    def boundaries(self, since: datetime, until: datetime) -> list[datetime]:
        out: set[datetime] = set()
        for layer in self.layers:
            out.update(layer.boundaries(since, until))
        for _, start, end in self.overrides:
            out.update(at for at in (start, end) if since <= at <= until)
        return sorted(out)

    def shift_at(self, at: datetime) -> Shift | None:
        """The shift covering ``at``: who, and from when to when nobody else takes over."""
        current = self.who(at)
        if current is None:
            return None
        horizon = self.horizon()
        since, until = at - horizon, at + horizon
        start: datetime | None = None
        end: datetime | None = None
        for edge in self.boundaries(since, until):
            if edge <= at:
                # A change at this edge that leaves someone else on call restarts the shift.
                before = self.who(edge - timedelta(microseconds=1))
                if before is None or before[0] != current[0]:
                    start = edge
            elif end is None:
                now = self.who(edge)
                if now is None or now[0] != current[0]:
                    end = edge
        return Shift(
            schedule=self.schedule.id,
            person=self.config.person(current[0]),
            start=start,
            end=end,
            source=current[1],
        )


def view(config: OnCallConfig, schedule_id: str) -> ScheduleView:
    """The schedule ``schedule_id`` ready to answer questions (KeyError when unknown)."""
    return ScheduleView(config, config.schedule(schedule_id))


def on_call(config: OnCallConfig, schedule_id: str, at: datetime) -> tuple[Person, ...]:
    """Who is on call in a schedule at ``at`` (naive: UTC); empty when nobody is."""
    found = view(config, schedule_id).who(aware(at))
    return (config.person(found[0]),) if found is not None else ()


def shift_at(config: OnCallConfig, schedule_id: str, at: datetime) -> Shift | None:
    """The shift covering ``at`` in a schedule, with its start and end (UTC)."""
    return view(config, schedule_id).shift_at(aware(at))


def person_recipients(person: Person) -> list[Recipient]:
    """A person as recipients: one per channel."""
    return [Recipient(name=person.name, person=person.id, channel=c) for c in person.channels]


def team_recipient(team: Team) -> Recipient | None:
    """A team's channel as a recipient (None: the team has no channel)."""
    if team.channel is None:
        return None
    return Recipient(name=team.name, team=team.id, channel=team.channel)


def everyone(config: OnCallConfig) -> list[Recipient]:
    """Every channel of every person, and every team's channel."""
    out = [r for person in config.people for r in person_recipients(person)]
    out += [r for team in config.teams if (r := team_recipient(team)) is not None]
    return out


def recipients(config: OnCallConfig, step: Step, at: datetime) -> tuple[Recipient, ...]:
    """Whom a step notifies at ``at``: every channel of every person and team it targets.

    A schedule with nobody on call adds no one; the same person and channel named
    twice (say, by a schedule and by name) is notified once.
    """
    out: list[Recipient] = []
    for target in step.targets:
        if target.schedule is not None:
            people: tuple[Person, ...] = on_call(config, target.schedule, at)
        elif target.person is not None:
            people = (config.person(target.person),)
        else:
            people = ()
            if (team := team_recipient(config.team(target.team_channel or ""))) is not None:
                out.append(team)
        for person in people:
            out.extend(person_recipients(person))
    unique: list[Recipient] = []
    for recipient in out:
        if recipient not in unique:
            unique.append(recipient)
    return tuple(unique)
