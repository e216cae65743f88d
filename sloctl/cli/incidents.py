"""``sloctl incidents``, ``incident``, ``ack`` and ``resolve``: incidents on the server."""

from __future__ import annotations

import getpass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.text import Text

from sloctl.cli.common import OutputFormat, OutputOption, print_data, stdout, table, when
from sloctl.cli.server import ServerURLOption, TokenOption
from sloctl.incidents_client import Incident, IncidentDetail, IncidentsClient
from sloctl.server_client import DEFAULT_SERVER_URL

ByOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="Who acknowledges or resolves, as the timeline shows it (default: your user name).",
        show_default=False,
    ),
]
IdArgument = Annotated[int, typer.Argument(help="The incident id (see sloctl incidents).")]


class StatusFilter(StrEnum):
    firing = "firing"
    acknowledged = "acknowledged"
    resolved = "resolved"


def _who(by: str | None) -> str:
    return by or getpass.getuser()


def _row(incident: Incident) -> list[str]:
    who = incident.acknowledged_by if incident.status == "acknowledged" else incident.resolved_by
    return [
        str(incident.id),
        incident.status,
        incident.slo or "-",
        incident.team or "-",
        incident.severity or "-",
        when(incident.opened_at),
        who or "-",
        incident.title,
    ]


def _print(incidents: list[Incident], output: OutputFormat, title: str | None = None) -> None:
    if output is not OutputFormat.table:
        print_data([i.model_dump(mode="json") for i in incidents], output)
        return
    columns = ["id", "status", "slo", "team", "severity", "opened (UTC)", "by", "title"]
    stdout().print(table(title, columns, [_row(i) for i in incidents]))


def incidents(
    status: Annotated[
        StatusFilter | None,
        typer.Option("--status", help="Only incidents in this state.", show_default=False),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="At most this many.")
    ] = 100,
    server_url: ServerURLOption = DEFAULT_SERVER_URL,
    output: OutputOption = OutputFormat.table,
) -> None:
    """List incidents from Alertmanager's pages, newest first."""
    with IncidentsClient(server_url) as client:
        found = client.incidents(status=status.value if status else None, limit=limit)
    if output is OutputFormat.table and not found.data:
        stdout().print("no incidents")
        return
    shown = len(found.data)
    title = f"newest {shown} of {found.count} incidents (--limit)" if found.count > shown else None
    _print(found.data, output, title)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _detail(detail: dict[str, Any]) -> str:
    """A timeline entry's detail as ``key: value`` pairs, empty values left out."""
    return ", ".join(
        f"{key}: {_cell(value)}" for key, value in sorted(detail.items()) if value not in (None, [])
    )


def _by(at: datetime | None, who: str | None) -> str | None:
    return f"{when(at)} by {who}" if at else None


def _print_detail(incident: IncidentDetail) -> None:
    out = stdout()
    # Text, not markup: the title and facts come from alert annotations and labels.
    out.print(Text.assemble((f"incident {incident.id}", "bold"), ": ", incident.title))
    facts = {
        "status": incident.status,
        "slo": incident.slo,
        "service": incident.service,
        "team": incident.team,
        "severity": incident.severity,
        "policy": incident.policy,
        "opened (UTC)": when(incident.opened_at),
        "acknowledged (UTC)": _by(incident.acknowledged_at, incident.acknowledged_by),
        "resolved (UTC)": _by(incident.resolved_at, incident.resolved_by),
        "summary": incident.summary,
    }
    for name, value in facts.items():
        if value:
            out.print(Text(f"{name}: {value}"))
    alerts = [
        [
            a.alertname or "-",
            a.status,
            when(a.starts_at),
            when(a.ends_at),
            " ".join(f"{k}={v}" for k, v in sorted(a.labels.items())),
        ]
        for a in incident.alerts
    ]
    out.print(table("alerts", ["alert", "status", "since (UTC)", "ended (UTC)", "labels"], alerts))
    events = [[when(e.at), e.kind, _detail(e.detail)] for e in incident.timeline]
    out.print(table("timeline", ["at (UTC)", "event", "detail"], events))


def incident(
    incident_id: IdArgument,
    server_url: ServerURLOption = DEFAULT_SERVER_URL,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show one incident: its alerts and its timeline (pages, deliveries, acknowledgements).

    ``-o json|yaml`` prints every field of the server's answer.
    """
    with IncidentsClient(server_url) as client:
        found = client.incident(incident_id)
    if output is OutputFormat.table:
        _print_detail(found)
    else:
        print_data(found.model_dump(mode="json"), output)


def ack(
    incident_id: IdArgument,
    by: ByOption = None,
    server_url: ServerURLOption = DEFAULT_SERVER_URL,
    token: TokenOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Acknowledge an incident: its escalation stops."""
    with IncidentsClient(server_url, token=token) as client:
        incident = client.acknowledge(incident_id, by=_who(by))
    _print([incident], output, f"incident {incident.id} acknowledged")


def resolve(
    incident_id: IdArgument,
    by: ByOption = None,
    server_url: ServerURLOption = DEFAULT_SERVER_URL,
    token: TokenOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Resolve an incident by hand (a new firing episode of its alerts reopens it)."""
    with IncidentsClient(server_url, token=token) as client:
        incident = client.resolve(incident_id, by=_who(by))
    _print([incident], output, f"incident {incident.id} resolved")
