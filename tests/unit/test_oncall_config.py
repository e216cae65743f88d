"""The on-call file: the sample loads, and every bad file gives one line per problem,
``path:line: field: message``, naming where the problem is."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloctl.errors import SpecError
from sloctl.oncall.config import Target, load_oncall, parse_oncall
from sloctl.spec.loader import load_specs
from tests.helpers import ROOT

GOOD = """\
apiVersion: sloctl.dev/v1
kind: OnCall
spec:
  people:
    - id: alice
      name: Alice
      channels:
        - {kind: email, address: alice@example.com}
    - id: bob
      name: Bob
      channels:
        - {kind: webhook, url: "http://127.0.0.1:9/hook", headers: {X-Key: k}}
  teams:
    - id: shop
      name: Shop
      channel: {kind: slack, url: "http://127.0.0.1:9/slack"}
      escalationPolicy: pages
  schedules:
    - id: primary
      timeZone: Europe/Berlin
      layers:
        - name: weekly
          people: [alice, bob]
          start: 2026-01-05
          shiftLength: 7d
          handoffTime: "09:00"
      overrides:
        - {person: bob, start: "2026-12-24T00:00:00", end: "2026-12-27T00:00:00"}
  escalationPolicies:
    - id: pages
      steps:
        - waitMinutes: 5
          targets: [{schedule: primary}]
        - waitMinutes: 10
          targets: [{person: bob}, {teamChannel: shop}]
      repeat: 1
      ackTimeoutMinutes: 30
  routes:
    - matchers: ['team="shop"']
      team: shop
  defaultRoute:
    policy: pages
"""


def test_good_file_loads() -> None:
    config = parse_oncall(GOOD, "oncall.yaml")
    assert config.policy("pages").steps[1].targets[1] == Target(team_channel="shop")
    assert config.team_schedules("shop") == ("primary",)
    assert config.routes[0].matchers[0].value == "shop"
    assert config.policy("pages").send_resolved is True  # the default, as in Alertmanager


def test_send_resolved_can_be_switched_off() -> None:
    text = GOOD.replace(
        "      ackTimeoutMinutes: 30\n", "      ackTimeoutMinutes: 30\n      sendResolved: false\n"
    )
    assert parse_oncall(text, "x.yaml").policy("pages").send_resolved is False


def test_snake_case_keys_are_accepted() -> None:
    text = GOOD.replace("escalationPolicy:", "escalation_policy:").replace(
        "waitMinutes", "wait_minutes"
    )
    assert parse_oncall(text, "x.yaml").teams[0].escalation_policy == "pages"


def test_sample_file_loads_and_covers_the_teams_of_the_specs() -> None:
    config = load_oncall(ROOT / "oncall.yaml")
    spec_teams = {slo.team for slo in load_specs([ROOT / "slo_specs"]).slos}
    assert spec_teams <= {team.id for team in config.teams}


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# (what is wrong, replace this, by this, the line holding this text, field, message part)
BAD = [
    (
        "two people with one name",
        "      name: Bob\n",
        '      name: "Alice"\n',
        'name: "Alice"',
        "spec.people[1].name",
        "'Alice' is already the name of person 'alice'",
    ),
    (
        "send resolved not a boolean",
        "      ackTimeoutMinutes: 30\n",
        "      ackTimeoutMinutes: 30\n      sendResolved: sometimes\n",
        "sendResolved: sometimes",
        "spec.escalationPolicies[0].sendResolved",
        "valid boolean",
    ),
    (
        "unknown field",
        "      name: Alice\n",
        "      name: Alice\n      phone: 1\n",
        "phone: 1",
        "spec.people[0].phone",
        "unknown field",
    ),
    (
        "unknown channel kind",
        "kind: email",
        "kind: pager",
        "kind: pager",
        "spec.people[0].channels[0]",
        "does not match any of the expected tags",
    ),
    (
        "bad email",
        "alice@example.com",
        "alice",
        "address: alice}",
        "spec.people[0].channels[0].email.address",
        "is not an email address",
    ),
    (
        "bad url",
        '"http://127.0.0.1:9/slack"',
        "slack.example",
        "channel:",
        "spec.teams[0].channel.slack.url",
        "is not an http(s) URL",
    ),
    (
        "missing policy",
        "      escalationPolicy: pages\n",
        "",
        "- id: shop",
        "spec.teams[0].escalationPolicy",
        "required field is missing",
    ),
    (
        "unknown policy",
        "escalationPolicy: pages",
        "escalationPolicy: nope",
        "escalationPolicy",
        "spec.teams[0].escalationPolicy",
        "escalation policy 'nope' is not defined",
    ),
    (
        "unknown person in a layer",
        "[alice, bob]",
        "[alice, eve]",
        "people: [alice, eve]",
        "spec.schedules[0].layers[0].people[1]",
        "person 'eve' is not defined",
    ),
    (
        "bad time zone",
        "Europe/Berlin",
        "Europe/Gotham",
        "timeZone",
        "spec.schedules[0].timeZone",
        "is not an IANA time zone",
    ),
    (
        "bad shift length",
        "shiftLength: 7d",
        "shiftLength: weekly",
        "shiftLength",
        "spec.schedules[0].layers[0].shiftLength",
        "is not a duration",
    ),
    (
        "bad handoff",
        '"09:00"',
        '"9am"',
        "handoffTime",
        "spec.schedules[0].layers[0].handoffTime",
        "is not a time of day",
    ),
    (
        "override backwards",
        '"2026-12-27T00:00:00"',
        '"2026-12-20T00:00:00"',
        "person: bob, start",
        "spec.schedules[0].overrides[0]",
        "end must be after start",
    ),
    (
        "duplicate id",
        "  teams:\n",
        "    - {id: alice, name: Again, channels: [{kind: email, address: a@b.c}]}\n  teams:\n",
        "name: Again",
        "spec.people[2].id",
        "'alice' is defined twice",
    ),
    (
        "unknown schedule",
        "{schedule: primary}",
        "{schedule: secondary}",
        "schedule: secondary",
        "spec.escalationPolicies[0].steps[0].targets[0].schedule",
        "schedule 'secondary'",
    ),
    (
        "target with two kinds",
        "{person: bob}",
        "{person: bob, schedule: primary}",
        "person: bob, schedule",
        "spec.escalationPolicies[0].steps[1].targets[0]",
        "exactly one of schedule, person or teamChannel",
    ),
    (
        "negative wait",
        "waitMinutes: 5",
        "waitMinutes: -5",
        "waitMinutes: -5",
        "spec.escalationPolicies[0].steps[0].waitMinutes",
        "greater than or equal to 0",
    ),
    (
        "bad matcher",
        "'team=\"shop\"'",
        "'team~\"shop\"'",
        "matchers:",
        "spec.routes[0].matchers[0]",
        "is not a matcher",
    ),
    (
        "bad regex",
        "'team=\"shop\"'",
        "'team=~\"(shop\"'",
        "matchers:",
        "spec.routes[0].matchers[0]",
        "invalid regular expression",
    ),
    (
        "route to unknown team",
        "      team: shop\n  default",
        "      team: ops\n  default",
        "team: ops",
        "spec.routes[0].team",
        "team 'ops' is not defined",
    ),
    (
        "empty default route",
        "    policy: pages\n",
        "    {}\n",
        "defaultRoute",
        "spec.defaultRoute",
        "names a team, a policy or both",
    ),
    (
        "team channel missing",
        '      channel: {kind: slack, url: "http://127.0.0.1:9/slack"}\n',
        "",
        "teamChannel: shop",
        "spec.escalationPolicies[0].steps[1].targets[1].teamChannel",
        "team 'shop' has no channel",
    ),
    ("wrong kind", "kind: OnCall", "kind: Oncall", "kind: Oncall", "kind", "Input should be"),
]


@pytest.mark.parametrize(
    ("old", "new", "where", "field", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_file_names_file_line_field(
    tmp_path: Path, old: str, new: str, where: str, field: str, message: str
) -> None:
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    path = tmp_path / "oncall.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_oncall(path)
    lines = err.value.lines()
    assert len(lines) == 1, lines
    expected = f"{path}:{line_of(text, where)}: {field}: "
    assert lines[0].startswith(expected), lines[0]
    assert message in lines[0]
    assert "\n" not in lines[0]


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"^x.yaml:4: invalid YAML"):
        parse_oncall("apiVersion: sloctl.dev/v1\nkind: OnCall\nspec: [\n", "x.yaml")
    with pytest.raises(SpecError, match="cannot read on-call file"):
        load_oncall(tmp_path / "missing.yaml")
