"""``sloctl evidence``: the exemplars, traces and logs behind an SLO's burn, from the server."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from sloctl.cli.common import OutputFormat, OutputOption, print_data, stdout, table, when
from sloctl.cli.server import ServerURLOption, TokenOption
from sloctl.evidence_client import EvidenceClient, EvidenceReport, TraceSummary
from sloctl.server_client import DEFAULT_SERVER_URL

#: The server answers within its evidence deadline (10 s by default); leave room for it.
CLIENT_TIMEOUT = 60.0
SOURCE_STYLE = {"ok": "green", "failed": "red", "timeout": "red", "skipped": "dim"}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _traces(console: Console, title: str, traces: list[TraceSummary]) -> None:
    if not traces:
        console.print(f"{title}: none found")
        return
    rows = [
        [
            trace.trace_id,
            f"{trace.service or '?'} {trace.operation or ''}".strip(),
            _ms(trace.duration_seconds),
            Text(
                str(trace.http_status or ("error" if trace.error else "ok")),
                style="red" if trace.error else "",
            ),
            when(trace.start),
            len(trace.logs),
        ]
        for trace in traces
    ]
    columns = ["trace", "operation", "duration", "status", "started", "logs"]
    console.print(table(title, columns, rows))
    for trace in traces:
        for line in trace.logs[:3]:
            console.print(
                f"  {trace.trace_id[:8]} {when(line.timestamp)} {line.level or '-'}: "
                + line.message,
                highlight=False,
                markup=False,
            )


def _print(report: EvidenceReport) -> None:
    console = stdout()
    target = report.target
    console.print(
        f"[bold]{report.slo_id}[/] ({report.sli_kind}) from {when(report.start)} "
        f"to {when(report.end)} UTC"
    )
    where = f"jaeger {target.jaeger_service}" + (
        f" {target.jaeger_operation}" if target.jaeger_operation else ""
    )
    where += f"; logs {target.elasticsearch_index}"
    if target.threshold_seconds is not None:
        where += f"; slow above {_ms(target.threshold_seconds)}"
    console.print(where, highlight=False, markup=False)
    for source in report.sources:
        style = SOURCE_STYLE.get(source.status, "yellow")
        message = f": {source.message}" if source.message else ""
        console.print(
            Text(f"  {source.backend} {source.call}: ")
            + Text(source.status, style=style)
            + Text(message)
        )
    if report.exemplars:
        rows = [
            [e.trace_id, f"{e.value:g}", when(e.timestamp), e.series.get("__name__", "")]
            for e in report.exemplars
        ]
        console.print(table("exemplars of bad requests", ["trace", "value", "at", "series"], rows))
    _traces(console, "failing traces", report.failing_traces)
    _traces(console, "slowest traces", report.slowest_traces)
    if report.exemplar_traces:
        _traces(console, "traces of exemplars", report.exemplar_traces)
    if report.error_counts:
        rows = [[c.service, c.operation, c.status, str(c.count)] for c in report.error_counts]
        console.print(
            table("errors in these traces", ["service", "operation", "status", "spans"], rows)
        )
    logs = report.error_logs
    if logs is not None:
        more = "+" if logs.total_is_lower_bound else ""
        console.print(f"error logs in {logs.index}: {logs.total}{more}", highlight=False)
        for line in logs.lines[:10]:
            console.print(
                f"  {when(line.timestamp)} {line.level or '-'} {line.service or ''}: "
                + line.message,
                highlight=False,
                markup=False,
            )
    for name, link in (("traces", report.links.jaeger_search), ("logs", report.links.logs)):
        if link:
            console.print(f"{name}: {link}", highlight=False, markup=False, soft_wrap=True)
    if report.partial:
        console.print(f"[yellow]partial:[/] {', '.join(report.failed)} did not answer")


def evidence(
    slo_id: Annotated[str, typer.Argument(help="The SLO id (<service>-<name>).")],
    start: Annotated[
        str,
        typer.Option("--from", help="Window start: a duration back from now (2h) or an ISO time."),
    ] = "1h",
    end: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Window end: a duration back or an ISO time (default: now).",
            show_default=False,
        ),
    ] = None,
    server_url: ServerURLOption = DEFAULT_SERVER_URL,
    token: TokenOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show the exemplars, failing and slowest traces and error logs behind an SLO's burn."""
    with EvidenceClient(server_url, token=token, timeout=CLIENT_TIMEOUT) as client:
        report = client.evidence(slo_id, start=start, end=end)
    if output is not OutputFormat.table:
        print_data(report.model_dump(mode="json"), output)
        return
    _print(report)
