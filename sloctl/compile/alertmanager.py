"""Compiling the specs' owner teams and the routing file into an Alertmanager config.

The route tree groups by ``slo``, so every alert of one SLO (page, ticket,
absent data) lands in one notification. Each team with SLOs or a routing
entry gets a branch; inside it pages and tickets go to the team's receivers
with their own timings. Alerts of SLOs without a team fall through to the
default receivers. One inhibit rule lets a page silence the ticket of the same
SLO. Written for Alertmanager 0.25: ``matchers`` only, no newer fields. Secrets
are never written: receivers name files Alertmanager reads. See docs/routing.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sloctl.compile import generated_header
from sloctl.compile.yamlout import dump
from sloctl.spec.models import SLO, Severity
from sloctl.spec.routing import SERVER_RECEIVER, Receiver, RoutingSpec, Timing

FILENAME = "alertmanager.yml"
SEVERITIES: tuple[Severity, ...] = ("page", "ticket")
#: Alertmanager's own defaults, written out so the file says what happens to other alerts.
ROOT_TIMING = Timing(group_wait="30s", group_interval="5m", repeat_interval="4h")


def matcher(label: str, value: str, op: str = "=") -> str:
    """An Alertmanager matcher with the value quoted as Alertmanager parses it."""
    return f"{label}{op}{json.dumps(value)}"


def _timing(timing: Timing) -> dict[str, str]:
    return {
        "group_wait": timing.group_wait,
        "group_interval": timing.group_interval,
        "repeat_interval": timing.repeat_interval,
    }


def _severity_routes(routing: RoutingSpec, team: str | None) -> list[dict[str, Any]]:
    page, ticket = routing.receivers_of(team)
    receivers = {"page": page, "ticket": ticket}
    timings = {"page": routing.timing.page, "ticket": routing.timing.ticket}
    return [
        {
            "matchers": [matcher("severity", severity)],
            "receiver": receivers[severity],
            **_timing(timings[severity]),
        }
        for severity in SEVERITIES
    ]


def teams_of(slos: Iterable[SLO], routing: RoutingSpec) -> list[str]:
    """Every team that owns an SLO or has a routing entry, sorted."""
    return sorted({s.team for s in slos if s.team} | set(routing.teams))


def _http_config(credentials_file: str | None, ca_file: str | None) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if credentials_file:
        config["authorization"] = {"type": "Bearer", "credentials_file": credentials_file}
    if ca_file:
        config["tls_config"] = {"ca_file": ca_file}
    return config


def _receiver(receiver: Receiver) -> dict[str, Any]:
    out: dict[str, Any] = {"name": receiver.name}
    if receiver.webhook:
        hooks = []
        for hook in receiver.webhook:
            item: dict[str, Any] = {"url": hook.url, "send_resolved": hook.send_resolved}
            if hook.max_alerts:
                item["max_alerts"] = hook.max_alerts
            http = _http_config(hook.credentials_file, hook.ca_file)
            if http:
                item["http_config"] = http
            hooks.append(item)
        out["webhook_configs"] = hooks
    if receiver.slack:
        out["slack_configs"] = [
            {"api_url_file": s.api_url_file, "channel": s.channel, "send_resolved": s.send_resolved}
            for s in receiver.slack
        ]
    if receiver.pagerduty:
        out["pagerduty_configs"] = [
            {"routing_key_file": p.routing_key_file, "send_resolved": p.send_resolved}
            for p in receiver.pagerduty
        ]
    return out


def _server_receiver(routing: RoutingSpec) -> dict[str, Any]:
    server = routing.server
    return {
        "name": SERVER_RECEIVER,
        "webhook_configs": [
            {
                "url": server.webhook_url,
                "send_resolved": True,
                "http_config": _http_config(server.credentials_file, server.ca_file),
            }
        ],
    }


def alertmanager_config(slos: Sequence[SLO], routing: RoutingSpec) -> dict[str, Any]:
    """The Alertmanager configuration as the mapping Alertmanager reads."""
    team_routes = [
        {
            "matchers": [matcher("team", team)],
            "receiver": routing.receivers_of(team)[1],
            "routes": _severity_routes(routing, team),
        }
        for team in teams_of(slos, routing)
    ]
    route = {
        "receiver": routing.defaults.ticket,
        "group_by": ["slo"],
        **_timing(ROOT_TIMING),
        "routes": [*team_routes, *_severity_routes(routing, None)],
    }
    # Both sides must have an slo label: Alertmanager applies a rule whose `equal`
    # labels are missing on both alerts, which would let any page mute any ticket.
    has_slo = matcher("slo", ".+", "=~")
    inhibit = [
        {
            "source_matchers": [matcher("severity", "page"), has_slo],
            "target_matchers": [matcher("severity", "ticket"), has_slo],
            "equal": ["slo"],
        }
    ]
    used = {routing.defaults.page, routing.defaults.ticket}
    for team in teams_of(slos, routing):
        used.update(routing.receivers_of(team))
    receivers = [_receiver(r) for r in routing.receivers]
    if SERVER_RECEIVER in used:
        receivers.append(_server_receiver(routing))
    receivers.sort(key=lambda r: str(r["name"]))
    return {"route": route, "inhibit_rules": inhibit, "receivers": receivers}


def render_alertmanager(slos: Sequence[SLO], routing: RoutingSpec, sources: Sequence[str]) -> str:
    """The YAML text of ``alertmanager.yml`` with the generated header."""
    return dump(alertmanager_config(slos, routing), generated_header(tuple(sources)))
