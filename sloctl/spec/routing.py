"""The routing file: who gets the pages and tickets of each team's SLOs.

```yaml
apiVersion: sloctl.dev/v1
kind: Routing
spec:
  server:                       # the sloctl server's Alertmanager webhook
    url: http://127.0.0.1:8080
    credentialsFile: /etc/alertmanager/sloctl-webhook-token
  defaults: {page: sloctl-server, ticket: sloctl-server}
  receivers:
    - name: shop-tickets
      webhook: [{url: https://tickets.example.com/hooks/alertmanager}]
  teams:
    shop: {ticket: shop-tickets}
```

Secrets are never in this file: receivers name files that Alertmanager
reads (``credentialsFile``, ``apiUrlFile``, ``routingKeyFile``). See
docs/routing.md for every field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from sloctl.durations import parse_duration
from sloctl.spec.errors import raise_problems, validated
from sloctl.spec.models import Model
from sloctl.spec.yamlsrc import Loc, only_document, read_source

#: The receiver sloctl defines itself: the server's webhook.
SERVER_RECEIVER = "sloctl-server"
WEBHOOK_PATH = "/api/v1/alerts/alertmanager"


def _duration(value: str) -> str:
    parse_duration(value)
    return value


class Timing(Model):
    """How long Alertmanager waits before the first, next and repeated notification."""

    group_wait: str
    group_interval: str
    repeat_interval: str

    @field_validator("group_wait", "group_interval", "repeat_interval")
    @classmethod
    def _durations(cls, value: str) -> str:
        return _duration(value)


def _page_timing() -> Timing:
    return Timing(group_wait="30s", group_interval="5m", repeat_interval="1h")


def _ticket_timing() -> Timing:
    return Timing(group_wait="5m", group_interval="30m", repeat_interval="24h")


class Timings(Model):
    page: Timing = Field(default_factory=_page_timing)
    ticket: Timing = Field(default_factory=_ticket_timing)


class ServerWebhook(Model):
    """The sloctl server as Alertmanager reaches it; the token is read from a file."""

    url: str = "http://127.0.0.1:8080"
    credentials_file: str = "/etc/alertmanager/sloctl-webhook-token"
    ca_file: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @property
    def webhook_url(self) -> str:
        return self.url + WEBHOOK_PATH


class Webhook(Model):
    url: str
    credentials_file: str | None = None
    ca_file: str | None = None
    send_resolved: bool = True
    max_alerts: int = Field(0, ge=0)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value


class Slack(Model):
    api_url_file: str
    channel: str
    send_resolved: bool = True


class PagerDuty(Model):
    routing_key_file: str
    send_resolved: bool = True


class Receiver(Model):
    """A named receiver; without integrations it drops what it receives."""

    name: str = Field(min_length=1)
    webhook: tuple[Webhook, ...] = ()
    slack: tuple[Slack, ...] = ()
    pagerduty: tuple[PagerDuty, ...] = ()


class TeamRouting(Model):
    """The receivers of one team's pages and tickets (unset: the defaults)."""

    page: str | None = None
    ticket: str | None = None


class Defaults(Model):
    page: str = SERVER_RECEIVER
    ticket: str = SERVER_RECEIVER


class RoutingSpec(Model):
    server: ServerWebhook = Field(default_factory=ServerWebhook)
    defaults: Defaults = Field(default_factory=Defaults)
    timing: Timings = Field(default_factory=Timings)
    receivers: tuple[Receiver, ...] = ()
    teams: dict[str, TeamRouting] = Field(default_factory=dict)

    def receivers_of(self, team: str | None) -> tuple[str, str]:
        """(page receiver, ticket receiver) of a team, falling back to the defaults."""
        routing = self.teams.get(team or "", TeamRouting())
        return routing.page or self.defaults.page, routing.ticket or self.defaults.ticket


class Routing(Model):
    """A routing document."""

    api_version: Literal["sloctl.dev/v1"]
    kind: Literal["Routing"]
    spec: RoutingSpec = Field(default_factory=RoutingSpec)


def reference_problems(spec: RoutingSpec) -> list[tuple[Loc, str]]:
    """Receivers defined twice, reserved, or named without being defined: (location, message)."""
    problems: list[tuple[Loc, str]] = []
    seen: set[str] = set()
    for i, receiver in enumerate(spec.receivers):
        loc: Loc = ("receivers", i, "name")
        if receiver.name == SERVER_RECEIVER:
            problems.append(
                (loc, f"{SERVER_RECEIVER!r} is defined by sloctl; configure it in server")
            )
        elif receiver.name in seen:
            problems.append((loc, f"receiver {receiver.name!r} is defined twice"))
        seen.add(receiver.name)
    known = {*seen, SERVER_RECEIVER}
    used: list[tuple[Loc, str | None]] = [
        (("defaults", "page"), spec.defaults.page),
        (("defaults", "ticket"), spec.defaults.ticket),
    ]
    for team, routing in spec.teams.items():
        used += [
            (("teams", team, "page"), routing.page),
            (("teams", team, "ticket"), routing.ticket),
        ]
    for loc, name in used:
        if name is not None and name not in known:
            problems.append(
                (loc, f"receiver {name!r} is not defined (defined: {', '.join(sorted(known))})")
            )
    return problems


def default_routing() -> RoutingSpec:
    """Everything to the sloctl server's webhook, with the default timings."""
    return RoutingSpec()


def load_routing(path: Path) -> RoutingSpec:
    """Read a routing file.

    Raises:
        SpecError: the file is missing or invalid; every problem as path:line: field: message.
    """
    doc = only_document(str(path), read_source(path, "routing file"), "a routing file")
    spec = validated(doc, Routing).spec
    raise_problems(doc, ("spec",), reference_problems(spec))
    return spec
