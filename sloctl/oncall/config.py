"""The on-call configuration: teams, people, schedules, escalation policies, routes.

```yaml
apiVersion: sloctl.dev/v1
kind: OnCall
spec:
  people:
    - id: alice
      name: Alice Example
      channels: [{kind: email, address: alice@example.com}]
  teams:
    - {id: shop, name: Shop, escalationPolicy: shop}
  schedules:
    - id: shop-primary
      timeZone: Europe/Berlin
      layers:
        - {name: weekly, people: [alice], start: 2026-01-05, shiftLength: 7d, handoffTime: "09:00"}
  escalationPolicies:
    - id: shop
      steps: [{waitMinutes: 10, targets: [{schedule: shop-primary}]}]
  routes:
    - {matchers: ['team="shop"'], team: shop}
  defaultRoute: {team: shop}
```

Keys are camelCase in YAML (snake_case is accepted too). Every problem is
reported as ``path:line: field: message``; see docs/oncall.md for every field.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, TypeVar

from pydantic import AfterValidator, Field, field_validator, model_validator

from sloctl.durations import parse_duration
from sloctl.promql import LABEL_NAME_RE, MatchOp, parse_matcher
from sloctl.promql import Matcher as PromQLMatcher
from sloctl.spec.errors import raise_problems, validated
from sloctl.spec.models import Model
from sloctl.spec.yamlsrc import Loc, only_document, read_source

ID_RE = re.compile(r"^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
#: ``label op value`` with no quote in the value: taken as it is, as amtool does.
_BARE_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*([^"\n]*?)\s*$')
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _check_id(value: str) -> str:
    if not ID_RE.match(value):
        raise ValueError(f"{value!r} is not an id (lower-case letters, digits, '-', '_', '.')")
    return value


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def parse_hhmm(value: str) -> time:
    """``"09:30"`` as a time of day."""
    match = _HHMM.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a time of day such as 09:00")
    return time(int(match.group(1)), int(match.group(2)))


def _zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin") from err
    return value


Id = Annotated[str, AfterValidator(_check_id)]


def _non_empty(value: tuple[Any, ...]) -> tuple[Any, ...]:
    # An after-validator rather than min_length: pydantic would report a too-short
    # tuple on top of the real error whenever an item fails.
    if not value:
        raise ValueError("must list at least one item")
    return value


NON_EMPTY = AfterValidator(_non_empty)


# --- contact channels ---------------------------------------------------------------


class EmailChannel(Model):
    """Email over SMTP (the server's SMTP settings)."""

    kind: Literal["email"]
    address: str

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if "@" not in value or value.startswith("@") or value.endswith("@") or " " in value:
            raise ValueError(f"{value!r} is not an email address")
        return value


class SlackChannel(Model):
    """A Slack-compatible incoming webhook."""

    kind: Literal["slack"]
    url: str

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)


class WebhookChannel(Model):
    """A generic JSON webhook; ``headers`` are sent with every request."""

    kind: Literal["webhook"]
    url: str
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)


Channel = Annotated[EmailChannel | SlackChannel | WebhookChannel, Field(discriminator="kind")]


# --- people and teams -----------------------------------------------------------------


class Person(Model):
    """Someone who can be paged, over every one of their channels."""

    id: Id
    name: str
    channels: Annotated[tuple[Channel, ...], NON_EMPTY]


class Team(Model):
    """A team: its own channel (optional) and the escalation policy of its pages."""

    id: Id
    name: str
    channel: Channel | None = None
    escalation_policy: str


class Recipient(Model):
    """Who a step notifies over which channel: a person, or a team's channel."""

    name: str
    person: str | None = None
    team: str | None = None
    channel: Channel


# --- schedules ------------------------------------------------------------------------


class Rotation(Model):
    """One layer of a schedule: people take turns, one shift each, in list order.

    Shift ``k`` starts at ``start + k * shiftLength`` on the local wall clock of
    the time zone at ``handoffTime``, so a daily 09:00 handoff stays at 09:00
    local across daylight-saving changes (that shift is 23 or 25 hours long).
    ``days``/``hours`` restrict when the layer has anyone; outside them the
    layers below answer.
    """

    name: str
    people: Annotated[tuple[str, ...], NON_EMPTY]
    start: date
    shift_length: str = "7d"
    handoff_time: str = "09:00"
    time_zone: str | None = None
    end: date | None = None
    days: tuple[Weekday, ...] = WEEKDAYS
    hours: str | None = None

    @field_validator("shift_length")
    @classmethod
    def _shift(cls, value: str) -> str:
        if parse_duration(value) % 60:
            raise ValueError(f"{value!r}: shifts are whole minutes")
        return value

    @field_validator("handoff_time")
    @classmethod
    def _handoff(cls, value: str) -> str:
        parse_hhmm(value)
        return value

    @field_validator("time_zone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else _zone(value)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is None:
            return None
        first, sep, second = value.partition("-")
        if not sep:
            raise ValueError(f"{value!r} is not a range of times such as 09:00-17:00")
        if parse_hhmm(first.strip()) == parse_hhmm(second.strip()):
            raise ValueError(f"{value!r} is empty; leave hours out for the whole day")
        return value

    @model_validator(mode="after")
    def _end_after_start(self) -> Rotation:
        if self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    @property
    def shift_seconds(self) -> int:
        return parse_duration(self.shift_length)

    @property
    def hours_range(self) -> tuple[time, time] | None:
        """(from, to) local times; ``to`` earlier than ``from`` wraps past midnight."""
        if self.hours is None:
            return None
        first, _, second = self.hours.partition("-")
        return parse_hhmm(first.strip()), parse_hhmm(second.strip())


class Override(Model):
    """Someone on call instead of whoever the layers say, from ``start`` to ``end``.

    Times without an offset are wall-clock times in the schedule's time zone.
    """

    person: str
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _order(self) -> Override:
        if (self.start.tzinfo is None) != (self.end.tzinfo is None):
            raise ValueError("give start and end both with or both without a UTC offset")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Schedule(Model):
    """Layers listed bottom to top (a later layer wins where it has someone), then overrides."""

    id: Id
    name: str | None = None
    time_zone: str = "UTC"
    layers: Annotated[tuple[Rotation, ...], NON_EMPTY]
    overrides: tuple[Override, ...] = ()

    @field_validator("time_zone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _zone(value)


# --- escalation -------------------------------------------------------------------------


class Target(Model):
    """Whom a step notifies: exactly one of ``schedule``, ``person``, ``teamChannel``."""

    schedule: str | None = None
    person: str | None = None
    team_channel: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Target:
        given = [v for v in (self.schedule, self.person, self.team_channel) if v is not None]
        if len(given) != 1:
            raise ValueError("a target names exactly one of schedule, person or teamChannel")
        return self


class Step(Model):
    """Notify the targets, then wait ``waitMinutes`` before the next step."""

    wait_minutes: float = Field(ge=0)
    targets: Annotated[tuple[Target, ...], NON_EMPTY]


class EscalationPolicy(Model):
    """Ordered steps, run ``repeat`` more times after the last while nobody acknowledges.

    ``ackTimeoutMinutes``: an acknowledged incident still firing after this long
    goes back to firing and notifies again (unset: acknowledgements never time out).
    ``sendResolved``: when the incident resolves, tell everyone its pages reached
    (as Alertmanager's ``send_resolved``).
    """

    id: Id
    steps: Annotated[tuple[Step, ...], NON_EMPTY]
    repeat: int = Field(0, ge=0, le=100)
    ack_timeout_minutes: float | None = Field(None, gt=0)
    send_resolved: bool = True


# --- routing ----------------------------------------------------------------------------


class Matcher(Model):
    """``label op value`` as in Alertmanager; regexes are anchored at both ends.

    The value is a PromQL string (``team="shop"``), or bare (``team=shop``) as
    amtool accepts it; written back with :func:`str` it is always a PromQL string.
    """

    label: str
    op: MatchOp
    value: str

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        return _split_matcher(data) if isinstance(data, str) else data

    @model_validator(mode="after")
    def _check(self) -> Matcher:
        if not LABEL_NAME_RE.match(self.label):
            raise ValueError(f"{self.label!r} is not a label name")
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as err:
                raise ValueError(f"{self!s}: invalid regular expression: {err}") from err
        return self

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """Parse ``team="shop"``, ``severity=~"page|ticket"`` or ``env!=prod``."""
        return cls.model_validate(text)

    @functools.cached_property
    def as_promql(self) -> PromQLMatcher:
        """The same matcher as PromQL's, which matches and quotes (made once: routing is hot)."""
        return PromQLMatcher(self.label, self.op, self.value)

    def matches(self, labels: Mapping[str, object]) -> bool:
        """Whether ``labels`` satisfy this matcher (a missing label is the empty string)."""
        return self.as_promql.matches(str(labels.get(self.label, "")))

    def __str__(self) -> str:
        return self.as_promql.render()


def _split_matcher(text: str) -> dict[str, str]:
    """The on-call rule on top of PromQL's: a value without quotes is taken as it is."""
    bare = _BARE_MATCHER.match(text)
    if bare is not None:
        label, op, value = bare.groups()
        return {"label": label, "op": op, "value": value}
    try:
        parsed = parse_matcher(text)
    except ValueError as err:
        raise ValueError(
            f'{text!r} is not a matcher such as team="shop" or slo=~"orders-.*": {err}'
        ) from err
    return {"label": parsed.name, "op": parsed.op, "value": parsed.value}


class Route(Model):
    """Alerts whose labels satisfy every matcher go to ``team`` with ``policy``.

    ``policy`` defaults to the team's escalation policy.
    """

    matchers: tuple[Matcher, ...] = ()
    team: str | None = None
    policy: str | None = None

    @model_validator(mode="after")
    def _target(self) -> Route:
        if self.team is None and self.policy is None:
            raise ValueError("a route names a team, a policy or both")
        return self


class DefaultRoute(Model):
    """Where alerts go that no route matches."""

    team: str | None = None
    policy: str | None = None

    @model_validator(mode="after")
    def _target(self) -> DefaultRoute:
        if self.team is None and self.policy is None:
            raise ValueError("the default route names a team, a policy or both")
        return self


# --- the whole configuration ------------------------------------------------------------


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


_WithId = TypeVar("_WithId", bound=_HasId)


def _by_id(items: Sequence[_WithId], item_id: str) -> _WithId:
    for item in items:
        if item.id == item_id:
            return item
    raise KeyError(item_id)


class OnCallConfig(Model):
    """The validated configuration; every id it refers to exists."""

    people: tuple[Person, ...] = ()
    teams: tuple[Team, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    escalation_policies: Annotated[tuple[EscalationPolicy, ...], NON_EMPTY]
    routes: tuple[Route, ...] = ()
    default_route: DefaultRoute

    def policy(self, policy_id: str) -> EscalationPolicy:
        """The escalation policy with this id (KeyError when there is none)."""
        return _by_id(self.escalation_policies, policy_id)

    def person(self, person_id: str) -> Person:
        """The person with this id (KeyError when there is none)."""
        return _by_id(self.people, person_id)

    def team(self, team_id: str) -> Team:
        """The team with this id (KeyError when there is none)."""
        return _by_id(self.teams, team_id)

    def schedule(self, schedule_id: str) -> Schedule:
        """The schedule with this id (KeyError when there is none)."""
        return _by_id(self.schedules, schedule_id)

    def team_schedules(self, team_id: str) -> tuple[str, ...]:
        """Schedules the team's escalation policy pages, in step order, without repeats."""
        policy = self.policy(self.team(team_id).escalation_policy)
        seen: list[str] = []
        for step in policy.steps:
            for target in step.targets:
                if target.schedule is not None and target.schedule not in seen:
                    seen.append(target.schedule)
        return tuple(seen)


class OnCallDocument(Model):
    """The file: the usual apiVersion/kind/spec envelope."""

    api_version: Literal["sloctl.dev/v1"]
    kind: Literal["OnCall"]
    spec: OnCallConfig


def _duplicates(items: Sequence[_HasId], loc: Loc) -> Iterator[tuple[Loc, str]]:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.id in seen:
            yield (*loc, i, "id"), f"{item.id!r} is defined twice"
        seen.add(item.id)


def _same_names(config: OnCallConfig) -> Iterator[tuple[Loc, str]]:
    """People and teams sharing a name: notifications and the timeline name them by it."""
    everyone: list[tuple[Loc, str, str]] = [
        (("people", i, "name"), p.name, f"person {p.id!r}") for i, p in enumerate(config.people)
    ]
    everyone += [
        (("teams", i, "name"), t.name, f"team {t.id!r}") for i, t in enumerate(config.teams)
    ]
    named: dict[str, str] = {}
    for loc, name, who in everyone:
        if name in named:
            yield loc, f"{name!r} is already the name of {named[name]}"
        else:
            named[name] = who


def reference_problems(config: OnCallConfig) -> list[tuple[Loc, str]]:
    """Ids defined twice or referred to without being defined: (location, message)."""
    problems: list[tuple[Loc, str]] = []
    for name, items in (
        ("people", config.people),
        ("teams", config.teams),
        ("schedules", config.schedules),
        ("escalationPolicies", config.escalation_policies),
    ):
        problems.extend(_duplicates(items, (name,)))
    problems.extend(_same_names(config))
    people = {p.id for p in config.people}
    teams = {t.id: t for t in config.teams}
    schedules = {s.id for s in config.schedules}
    policies = {p.id for p in config.escalation_policies}

    def known(value: str | None, pool: set[str] | dict[str, Team], what: str, loc: Loc) -> None:
        if value is not None and value not in pool:
            listed = ", ".join(sorted(pool)) or "none"
            problems.append((loc, f"{what} {value!r} is not defined (defined: {listed})"))

    for i, team in enumerate(config.teams):
        known(
            team.escalation_policy, policies, "escalation policy", ("teams", i, "escalationPolicy")
        )
    for i, schedule in enumerate(config.schedules):
        for j, layer in enumerate(schedule.layers):
            for k, person in enumerate(layer.people):
                known(person, people, "person", ("schedules", i, "layers", j, "people", k))
        for j, override in enumerate(schedule.overrides):
            known(override.person, people, "person", ("schedules", i, "overrides", j, "person"))
    for i, policy in enumerate(config.escalation_policies):
        for j, step in enumerate(policy.steps):
            for k, target in enumerate(step.targets):
                loc: Loc = ("escalationPolicies", i, "steps", j, "targets", k)
                known(target.schedule, schedules, "schedule", (*loc, "schedule"))
                known(target.person, people, "person", (*loc, "person"))
                known(target.team_channel, teams, "team", (*loc, "teamChannel"))
                named = teams.get(target.team_channel or "")
                if named is not None and named.channel is None:
                    problems.append(
                        ((*loc, "teamChannel"), f"team {named.id!r} has no channel to notify")
                    )
    routes: list[tuple[Loc, Route | DefaultRoute]] = [
        (("routes", i), r) for i, r in enumerate(config.routes)
    ]
    routes.append((("defaultRoute",), config.default_route))
    for loc, route in routes:
        known(route.team, teams, "team", (*loc, "team"))
        known(route.policy, policies, "escalation policy", (*loc, "policy"))
    return problems


def parse_oncall(text: str, source: str) -> OnCallConfig:
    """Validate on-call YAML (or JSON, which is YAML) read from ``source``.

    Raises:
        SpecError: every problem as ``source:line: field: message``.
    """
    doc = only_document(source, text, "an on-call file")
    config = validated(doc, OnCallDocument).spec
    raise_problems(doc, ("spec",), reference_problems(config))
    return config


def read_oncall(path: Path) -> str:
    """An on-call file's text, read once and validated, to hand on as it is.

    Raises:
        SpecError: the file is missing or invalid; every problem as path:line: field: message.
    """
    text = read_source(path, "on-call file")
    parse_oncall(text, str(path))
    return text


def load_oncall(path: Path) -> OnCallConfig:
    """Read and validate an on-call file.

    Raises:
        SpecError: the file is missing or invalid; every problem as path:line: field: message.
    """
    return parse_oncall(read_source(path, "on-call file"), str(path))
