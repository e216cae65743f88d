"""Routing alerts by their labels: Alertmanager's matcher operators, first match wins, default."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sloctl.oncall.config import Matcher, parse_oncall
from sloctl.oncall.routing import RouteMatch, route

MATCHERS = [
    ('team="shop"', {"team": "shop"}, True),
    ('team="shop"', {"team": "shopping"}, False),
    ('team="shop"', {}, False),
    ("team=shop", {"team": "shop"}, True),  # unquoted values, as amtool accepts
    ('team!="shop"', {"team": "ops"}, True),
    ('team!="shop"', {"team": "shop"}, False),
    ('team!="shop"', {}, True),  # a missing label is the empty string
    ('team=""', {}, True),
    ('team=""', {"team": "shop"}, False),
    ('slo=~"orders-.*"', {"slo": "orders-availability"}, True),
    ('slo=~"orders"', {"slo": "orders-availability"}, False),  # anchored: whole value
    ('slo=~"orders-.*"', {"slo": "x-orders-availability"}, False),  # anchored at the start too
    ('slo=~"a|b"', {"slo": "b"}, True),  # ^(?:a|b)$, not ^a|b$
    ('slo=~"a|b"', {"slo": "ab"}, False),
    ('slo!~"orders-.*"', {"slo": "orders-latency"}, False),
    ('slo!~"orders-.*"', {"slo": "billing-latency"}, True),
    ('slo!~".+"', {}, True),
    ('slo=~".+"', {}, False),
    ('summary="say \\"hi\\""', {"summary": 'say "hi"'}, True),
    (' severity = "page" ', {"severity": "page"}, True),
]


@pytest.mark.parametrize(("text", "labels", "expected"), MATCHERS)
def test_matcher_operators(text: str, labels: dict[str, str], expected: bool) -> None:
    assert Matcher.parse(text).matches(labels) is expected


@pytest.mark.parametrize(
    "text", ['team~"shop"', '="x"', 'team="shop', 'team=~"(x"', '9team="x"', 'a="b"c"']
)
def test_bad_matchers_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        Matcher.parse(text)


def test_matcher_round_trips_as_text() -> None:
    matcher = Matcher.parse('summary=~"a\\"b.*"')
    assert str(matcher) == 'summary=~"a\\"b.*"'
    assert Matcher.parse(str(matcher)) == matcher


@pytest.mark.parametrize(
    ("text", "value", "written"),
    [
        (r'a="x\ny"', "x\ny", r'a="x\ny"'),  # a newline is written back escaped
        ('a="tab\there"', "tab\there", 'a="tab\there"'),
        (r'a="back\\slash"', "back\\slash", r'a="back\\slash"'),
        ("team=shop", "shop", 'team="shop"'),  # a bare value comes back quoted
    ],
)
def test_escaped_values_round_trip(text: str, value: str, written: str) -> None:
    matcher = Matcher.parse(text)
    assert matcher.value == value
    assert str(matcher) == written
    assert Matcher.parse(str(matcher)) == matcher


CONFIG = """\
apiVersion: sloctl.dev/v1
kind: OnCall
spec:
  people:
    - {id: a, name: A, channels: [{kind: email, address: a@x.test}]}
  teams:
    - {id: shop, name: Shop, escalationPolicy: shop-pages}
    - {id: ops, name: Ops, escalationPolicy: ops-pages}
  escalationPolicies:
    - {id: shop-pages, steps: [{waitMinutes: 5, targets: [{person: a}]}]}
    - {id: ops-pages, steps: [{waitMinutes: 5, targets: [{person: a}]}]}
    - {id: quiet, steps: [{waitMinutes: 60, targets: [{person: a}]}]}
  routes:
    - matchers: ['team="shop"', 'severity="ticket"']
      team: shop
      policy: quiet
    - matchers: ['team="shop"']
      team: shop
    - matchers: ['slo=~"(orders|billing)-.*"']
      team: ops
  defaultRoute: {team: ops, policy: quiet}
"""

ROUTES = [
    ({"team": "shop", "severity": "ticket"}, RouteMatch("shop", "quiet", 0)),
    # First match wins: route 1 and route 2 both match, route 1 is used.
    ({"team": "shop", "severity": "page", "slo": "orders-x"}, RouteMatch("shop", "shop-pages", 1)),
    ({"slo": "billing-latency"}, RouteMatch("ops", "ops-pages", 2)),
    ({"slo": "search-latency"}, RouteMatch("ops", "quiet", None)),
    ({}, RouteMatch("ops", "quiet", None)),
]


@pytest.mark.parametrize(("labels", "expected"), ROUTES)
def test_first_matching_route_wins_else_default(
    labels: dict[str, str], expected: RouteMatch
) -> None:
    assert route(parse_oncall(CONFIG, "oncall.yaml"), labels) == expected
