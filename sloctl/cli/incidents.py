"""``sloctl incidents``, ``sloctl ack`` and ``sloctl resolve``: incidents on the server."""

from __future__ import annotations

import getpass
from enum import StrEnum
from typing import Annotated

import typer

from sloctl.cli.common import OutputFormat, OutputOption, print_data, stdout, table, when
from sloctl.cli.server import ServerURLOption, TokenOption
from sloctl.incidents_client import Incident, IncidentsClient
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
