"""``sloctl oncall who``: who is on call now or at a given time, as the server says."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from sloctl.cli.common import OutputFormat, OutputOption, print_data, stdout, table
from sloctl.cli.server import ServerURLOption, TokenOption
from sloctl.oncall_client import OnCallClient, OnCallNow
from sloctl.server_client import DEFAULT_SERVER_URL

app = typer.Typer(
    name="oncall",
    help="On-call schedules on the sloctl server.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError as err:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 time such as 2026-11-24T18:00:00+01:00"
        ) from err
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _local(at: datetime | None, zone: str) -> str:
    """A shift bound in the schedule's own time zone, where people read their shifts."""
    if at is None:
        return "-"
    return f"{at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M %Z}"


def rows(answer: OnCallNow) -> list[list[str]]:
    out = []
    for team in answer.data:
        for row in team.schedules:
            out.append(
                [
                    team.team,
                    row.schedule,
                    f"{row.person.name} ({row.person.id})" if row.person else "nobody",
                    _local(row.shift_start, row.time_zone),
                    _local(row.shift_end, row.time_zone),
                    row.source or "-",
                ]
            )
    return out


@app.command("who")
def who(
    team: Annotated[str | None, typer.Option(help="Only this team.", show_default=False)] = None,
    at: Annotated[
        str | None,
        typer.Option(
            help="ISO 8601 time to ask about (default: now); without an offset it is UTC.",
            show_default=False,
        ),
    ] = None,
    server_url: ServerURLOption = DEFAULT_SERVER_URL,
    token: TokenOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show who is on call in each schedule of each team, now or at --at."""
    when = _instant(at)
    with OnCallClient(server_url, token=token) as client:
        answer = client.who(team=team, at=when)
    if output is not OutputFormat.table:
        print_data(answer.model_dump(mode="json"), output)
        return
    console = stdout()
    console.print(
        table(
            f"on call at {answer.at:%Y-%m-%d %H:%M} UTC",
            ["team", "schedule", "on call", "since", "until", "from"],
            rows(answer),
        )
    )
