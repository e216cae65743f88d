"""Which team and escalation policy an alert goes to, from its labels.

Routes are tried in order and the first whose matchers all hold wins; when
none does, the default route applies. Matchers behave as Alertmanager's: a
missing label is the empty string and regexes must match the whole value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sloctl.oncall.config import DefaultRoute, OnCallConfig, Route


@dataclass(frozen=True)
class RouteMatch:
    """Where an alert goes: the team (if any), the escalation policy, and which route said so.

    ``route`` is the index of the matching route, None for the default route.
    """

    team: str | None
    policy: str
    route: int | None = None


def _policy(config: OnCallConfig, rule: Route | DefaultRoute) -> str:
    if rule.policy is not None:
        return rule.policy
    # The loader checked that the team exists; a route names a team or a policy.
    return config.team(rule.team or "").escalation_policy


def route(config: OnCallConfig, labels: Mapping[str, str]) -> RouteMatch:
    """The first route whose matchers all match ``labels``, else the default route."""
    for index, rule in enumerate(config.routes):
        if all(matcher.matches(labels) for matcher in rule.matchers):
            return RouteMatch(team=rule.team, policy=_policy(config, rule), route=index)
    default = config.default_route
    return RouteMatch(team=default.team, policy=_policy(config, default), route=None)
