"""Commands over spec files: validate, apply, diff."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.markup import escape
from rich.syntax import Syntax
from rich.text import Text

from sloctl import promtool
from sloctl.apply import ApplyResult, TargetReport, Targets, apply_outputs
from sloctl.build import OPERATOR_RULES_DIR, Layout, RulesFormat, build, default_paths
from sloctl.cli.common import (
    OutputFormat,
    OutputOption,
    SpecPaths,
    print_data,
    print_warnings,
    stderr,
    stdout,
    table,
)
from sloctl.compile.dashboards import DashboardSettings
from sloctl.errors import TargetError, UsageError
from sloctl.lock import apply_lock
from sloctl.oncall.config import read_oncall
from sloctl.outputs import Change, apply_changes, plan
from sloctl.promql import format_number
from sloctl.slo_math import slo_conditions
from sloctl.spec.models import SLO
from sloctl.spec.routing import default_routing, load_routing
from sloctl.targets import new_client
from sloctl.targets.alertmanager import AlertmanagerClient
from sloctl.targets.grafana import GrafanaClient
from sloctl.targets.prometheus import PrometheusClient
from sloctl.targets.server import ServerClient

DEFAULT_ROUTING = "routing.yaml"

DEFAULT_RULES_DIR = Path("alert_rules")


class Format(StrEnum):
    """What apply writes: plain Prometheus files, or objects for prometheus-operator."""

    prometheus = "prometheus"
    prometheus_operator = "prometheus-operator"


FormatOption = Annotated[
    Format,
    typer.Option(
        "--format",
        help="prometheus: rule files, alertmanager.yml and JSON dashboards; "
        "prometheus-operator: PrometheusRule objects and Grafana sidecar ConfigMaps "
        f"(default directory {OPERATOR_RULES_DIR.as_posix()}, docs/delivery.md).",
    ),
]
RulesDirOption = Annotated[
    Path | None,
    typer.Option(
        "--rules-dir",
        help="Where the Prometheus rule files and alertmanager.yml go "
        f"(PrometheusRule objects with --format prometheus-operator). Default: "
        f"{DEFAULT_RULES_DIR}, or {OPERATOR_RULES_DIR.as_posix()}.",
        envvar="SLOCTL_RULES_DIR",
        show_default=False,
    ),
]
DashboardsDirOption = Annotated[
    Path | None,
    typer.Option(
        "--dashboards-dir",
        help="Where the Grafana dashboards go. Default: dashboards/ beside the rules directory.",
        envvar="SLOCTL_DASHBOARDS_DIR",
        show_default=False,
    ),
]
RoutingOption = Annotated[
    Path | None,
    typer.Option(
        "--routing",
        help="Routing file for alertmanager.yml (docs/routing.md). Default: routing.yaml "
        "when it exists, else everything goes to the sloctl server's webhook.",
        envvar="SLOCTL_ROUTING",
        show_default=False,
    ),
]
DashboardServerOption = Annotated[
    str,
    typer.Option(
        "--dashboard-server-url",
        help="The sloctl server as browsers reach it; dashboards link to <url>/slos/<id>.",
        envvar="SLOCTL_DASHBOARD_SERVER_URL",
    ),
]
PrometheusUidOption = Annotated[
    str,
    typer.Option(
        "--prometheus-datasource",
        help="Uid of the Grafana Prometheus data source the dashboards select by default.",
        envvar="SLOCTL_GRAFANA_PROMETHEUS_UID",
    ),
]
JaegerUidOption = Annotated[
    str,
    typer.Option(
        "--jaeger-datasource",
        help="Uid of the Grafana Jaeger data source for trace panels.",
        envvar="SLOCTL_GRAFANA_JAEGER_UID",
    ),
]
ElasticsearchUidOption = Annotated[
    str,
    typer.Option(
        "--elasticsearch-datasource",
        help="Uid of the Grafana Elasticsearch data source for log panels.",
        envvar="SLOCTL_GRAFANA_ELASTICSEARCH_UID",
    ),
]
FileOption = Annotated[
    list[str] | None,
    typer.Option(
        "--file",
        "-f",
        help="Spec file or directory; repeat for more. Default: slo_specs/.",
    ),
]


def _layout(
    *,
    output_format: Format = Format.prometheus,
    rules_dir: Path | None,
    dashboards_dir: Path | None,
    routing: Path | None,
    dashboard_server_url: str,
    prometheus_datasource: str,
    jaeger_datasource: str,
    elasticsearch_datasource: str,
) -> Layout:
    """Where outputs go and what besides the specs they are made from."""
    if routing is None and Path(DEFAULT_ROUTING).is_file():
        routing = Path(DEFAULT_ROUTING)
    fmt: RulesFormat = output_format.value
    if rules_dir is None:
        rules_dir = OPERATOR_RULES_DIR if fmt == "prometheus-operator" else DEFAULT_RULES_DIR
    return Layout(
        format=fmt,
        rules_dir=rules_dir,
        dashboards_dir=dashboards_dir or rules_dir.parent / "dashboards",
        routing=load_routing(routing) if routing is not None else default_routing(),
        routing_source=str(routing) if routing is not None else None,
        dashboards=DashboardSettings(
            server_url=dashboard_server_url,
            prometheus_uid=prometheus_datasource,
            jaeger_uid=jaeger_datasource,
            elasticsearch_uid=elasticsearch_datasource,
        ),
    )


def slo_summary(slo: SLO) -> dict[str, Any]:
    alerts = sorted({c.severity for c in slo_conditions(slo)})
    return {
        "id": slo.id,
        "service": slo.service,
        "team": slo.team,
        "sli": slo.sli.kind,
        "objective": slo.objective,
        "window": str(slo.window),
        "group_by": list(slo.group_by),
        "alerts": alerts,
        "source": slo.source,
    }


def validate(paths: SpecPaths = None, output: OutputOption = OutputFormat.table) -> None:
    """Check spec files: every problem is reported as path:line: field: message."""
    result = build(default_paths(paths))
    print_warnings(result.warnings)
    summaries = [slo_summary(s) for s in result.specs.slos]
    if output is not OutputFormat.table:
        print_data(
            {
                "files": result.specs.files,
                "slos": summaries,
                "warnings": [str(w) for w in result.warnings],
            },
            output,
        )
        return
    rows = [
        (
            s["id"],
            s["sli"],
            f"{format_number(s['objective'])}%",
            s["window"],
            ", ".join(s["group_by"]) or "-",
            ", ".join(s["alerts"]) or "none",
        )
        for s in summaries
    ]
    console = stdout()
    console.print(table(None, ["SLO", "SLI", "objective", "window", "group by", "alerts"], rows))
    console.print(
        f"[green]ok[/]: {len(summaries)} SLOs in {len(result.specs.files)} files are valid"
    )


def _change_rows(
    changes: list[Change], written: set[int] | None = None
) -> list[tuple[str, str, Text]]:
    styles = {"created": "green", "updated": "yellow", "removed": "red", "unchanged": "dim"}
    rows: list[tuple[str, str, Text]] = []
    for c in changes:
        status = Text(c.status, style=styles[c.status])
        if written is not None and id(c) not in written and c.status != "unchanged":
            status = Text.assemble(("not written", "red"), f" ({c.status})")
        rows.append((c.path.as_posix(), c.kind, status))
    return rows


def _summary(changes: list[Change]) -> str:
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.status] = counts.get(change.status, 0) + 1
    parts = [f"{n} {status}" for status, n in sorted(counts.items())]
    return f"{len(changes)} files: " + (", ".join(parts) if parts else "nothing to do")


def _changes_data(changes: list[Change], written: set[int] | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for c in changes:
        item: dict[str, Any] = {"path": c.path.as_posix(), "kind": c.kind, "status": c.status}
        if written is not None:
            item["written"] = id(c) in written or c.status == "unchanged"
        out.append(item)
    return out


def _target_rows(reports: list[TargetReport]) -> list[tuple[str, str, Text, str]]:
    styles = {"changed": "green", "unchanged": "dim", "failed": "red", "skipped": "yellow"}
    return [
        (
            r.target,
            r.url,
            Text(r.status, style=styles[r.status]),
            "\n".join(r.errors if r.status == "failed" else r.changes) or "-",
        )
        for r in reports
    ]


def _targets(
    *,
    client: httpx.Client,
    prometheus_url: str | None,
    alertmanager_url: str | None,
    alertmanager_config: Path | None,
    grafana_url: str | None,
    grafana_token: str | None,
    grafana_folder: str,
    server_url: str | None,
    server_token: str | None,
    oncall: str | None,
) -> Targets:
    """The configured targets; a URL without its token is a usage error."""
    if grafana_url and not grafana_token:
        raise UsageError("--grafana-url needs --grafana-token (or SLOCTL_GRAFANA_TOKEN)")
    if server_url and not server_token:
        raise UsageError("--server-url needs --server-token (or SLOCTL_SERVER_API_TOKEN)")
    if alertmanager_config and not alertmanager_url:
        raise UsageError("--alertmanager-config needs --alertmanager-url")
    return Targets(
        prometheus=PrometheusClient(prometheus_url, client) if prometheus_url else None,
        prometheus_url=prometheus_url or "",
        alertmanager=AlertmanagerClient(alertmanager_url, client) if alertmanager_url else None,
        alertmanager_url=alertmanager_url or "",
        alertmanager_config=alertmanager_config,
        grafana=GrafanaClient(grafana_url, grafana_token or "", client) if grafana_url else None,
        grafana_url=grafana_url or "",
        grafana_folder=grafana_folder,
        server=ServerClient(server_url, server_token or "", client) if server_url else None,
        server_url=server_url or "",
        oncall=oncall,
    )


def _oncall_text(path: Path | None, server_url: str | None) -> str | None:
    """The on-call file's text once it validates (SpecError, exit 1, when it does not)."""
    if path is None:
        return None
    if not server_url:
        raise UsageError("--oncall needs --server-url (or SLOCTL_SERVER_URL)")
    return read_oncall(path)


def _write_objects(changes: list[Change]) -> ApplyResult:
    """prometheus-operator: write the objects, checked by promtool; no target to push to."""
    apply_changes(changes, {"prometheusrules": promtool.check_rule_objects})
    return ApplyResult(written=list(changes), not_written=[], reports=[])


def apply(
    file: FileOption = None,
    rules_dir: RulesDirOption = None,
    dashboards_dir: DashboardsDirOption = None,
    routing: RoutingOption = None,
    prometheus_url: Annotated[
        str | None,
        typer.Option(
            help="Reload this Prometheus (lifecycle API on) and check it runs the new rules.",
            envvar="SLOCTL_PROMETHEUS_URL",
        ),
    ] = None,
    alertmanager_url: Annotated[
        str | None,
        typer.Option(
            help="Reload this Alertmanager and check it runs the new configuration.",
            envvar="SLOCTL_ALERTMANAGER_URL",
        ),
    ] = None,
    alertmanager_config: Annotated[
        Path | None,
        typer.Option(
            help="The file the live Alertmanager reads, when it is not the generated "
            "alert_rules/alertmanager.yml; apply writes it too (and restores it on failure).",
            envvar="SLOCTL_ALERTMANAGER_CONFIG",
            show_default=False,
        ),
    ] = None,
    grafana_url: Annotated[
        str | None,
        typer.Option(help="Save the dashboards to this Grafana.", envvar="SLOCTL_GRAFANA_URL"),
    ] = None,
    grafana_token: Annotated[
        str | None,
        typer.Option(
            help="Grafana service account token (Editor).",
            envvar="SLOCTL_GRAFANA_TOKEN",
            show_default=False,
        ),
    ] = None,
    grafana_folder: Annotated[
        str,
        typer.Option(
            help="Uid of the Grafana folder for the dashboards (created if needed).",
            envvar="SLOCTL_GRAFANA_FOLDER",
        ),
    ] = "sloctl",
    server_url: Annotated[
        str | None,
        typer.Option(help="Register the SLOs with this sloctl server.", envvar="SLOCTL_SERVER_URL"),
    ] = None,
    server_token: Annotated[
        str | None,
        typer.Option(
            help="The sloctl server's API token.",
            envvar="SLOCTL_SERVER_API_TOKEN",
            show_default=False,
        ),
    ] = None,
    lock_timeout: Annotated[
        float,
        typer.Option(
            help="Seconds to wait for another running apply before giving up.",
            envvar="SLOCTL_LOCK_TIMEOUT",
        ),
    ] = 60.0,
    dashboard_server_url: DashboardServerOption = "http://localhost:8080",
    prometheus_datasource: PrometheusUidOption = "prometheus",
    jaeger_datasource: JaegerUidOption = "jaeger",
    elasticsearch_datasource: ElasticsearchUidOption = "elasticsearch",
    oncall: Annotated[
        Path | None,
        typer.Option(
            "--oncall",
            help="On-call file (docs/oncall.md): validated, then sent to the sloctl server "
            "(--server-url) after the SLOs.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change without writing anything.")
    ] = False,
    output_format: FormatOption = Format.prometheus,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Compile specs into rules, routing and dashboards; write them and push them to targets."""
    result = build(default_paths(file))
    oncall_text = _oncall_text(oncall, server_url)
    print_warnings(result.warnings)
    targets_given = (prometheus_url, alertmanager_url, alertmanager_config, grafana_url, server_url)
    if output_format is Format.prometheus_operator and any(targets_given):
        raise UsageError(
            "--format prometheus-operator writes Kubernetes objects only; "
            "the operator and the Grafana sidecar load them, so no target URL applies"
        )
    layout = _layout(
        output_format=output_format,
        rules_dir=rules_dir,
        dashboards_dir=dashboards_dir,
        routing=routing,
        dashboard_server_url=dashboard_server_url,
        prometheus_datasource=prometheus_datasource,
        jaeger_datasource=jaeger_datasource,
        elasticsearch_datasource=elasticsearch_datasource,
    )
    console, progress_console = stdout(), stderr()

    def progress(message: str) -> None:
        progress_console.print(f"[dim]{escape(message)}[/]", highlight=False)

    with new_client() as client:
        targets = _targets(
            client=client,
            prometheus_url=prometheus_url,
            alertmanager_url=alertmanager_url,
            alertmanager_config=alertmanager_config,
            grafana_url=grafana_url,
            grafana_token=grafana_token,
            grafana_folder=grafana_folder,
            server_url=server_url,
            server_token=server_token,
            oncall=oncall_text,
        )
        if dry_run:
            changes = plan(result.outputs(layout), layout.managed)
            if output is not OutputFormat.table:
                print_data({"dry_run": True, "changes": _changes_data(changes)}, output)
                return
            console.print(
                f"compiled {len(result.specs.slos)} SLOs from {len(result.specs.files)} "
                "spec files; would write:",
                highlight=False,
            )
            console.print(table(None, ["file", "kind", "status"], _change_rows(changes)))
            console.print(_summary(changes) + " (dry run: nothing written, no target contacted)")
            return
        with apply_lock(layout.rules_dir, lock_timeout, on_wait=progress):
            changes = plan(result.outputs(layout), layout.managed)
            if layout.format == "prometheus-operator":
                outcome = _write_objects(changes)
            else:
                outcome = apply_outputs(
                    build=result, changes=changes, targets=targets, progress=progress
                )
    written = {id(c) for c in outcome.written}
    if output is not OutputFormat.table:
        print_data(
            {
                "dry_run": False,
                "changes": _changes_data(changes, written),
                "targets": [
                    {
                        "target": r.target,
                        "url": r.url,
                        "status": r.status,
                        "changes": r.changes,
                        "errors": r.errors,
                    }
                    for r in outcome.reports
                ],
            },
            output,
        )
    else:
        n_slos = len(result.specs.slos)
        console.print(
            f"compiled {n_slos} SLOs from {len(result.specs.files)} spec files; wrote:",
            highlight=False,
        )
        console.print(table(None, ["file", "kind", "status"], _change_rows(changes, written)))
        if outcome.reports:
            console.print(
                table(
                    None, ["target", "url", "result", "what changed"], _target_rows(outcome.reports)
                )
            )
        console.print(_summary(outcome.written), highlight=False)
    for report in outcome.failed:
        assert report.error is not None
        err = report.error
        raise TargetError(err.target, err.message, [*err.details, report.after])


def diff(
    file: FileOption = None,
    rules_dir: RulesDirOption = None,
    dashboards_dir: DashboardsDirOption = None,
    routing: RoutingOption = None,
    dashboard_server_url: DashboardServerOption = "http://localhost:8080",
    prometheus_datasource: PrometheusUidOption = "prometheus",
    jaeger_datasource: JaegerUidOption = "jaeger",
    elasticsearch_datasource: ElasticsearchUidOption = "elasticsearch",
    output_format: FormatOption = Format.prometheus,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show what apply would change in rules, alertmanager.yml and dashboards; exit 1 if any."""
    result = build(default_paths(file))
    print_warnings(result.warnings)
    layout = _layout(
        output_format=output_format,
        rules_dir=rules_dir,
        dashboards_dir=dashboards_dir,
        routing=routing,
        dashboard_server_url=dashboard_server_url,
        prometheus_datasource=prometheus_datasource,
        jaeger_datasource=jaeger_datasource,
        elasticsearch_datasource=elasticsearch_datasource,
    )
    changes = [c for c in plan(result.outputs(layout), layout.managed) if c.status != "unchanged"]
    if output is not OutputFormat.table:
        print_data({"changes": _changes_data(changes)}, output)
    else:
        console = stdout()
        for change in changes:
            console.print(Syntax(change.diff(), "diff", theme="ansi_dark", word_wrap=True))
        if changes:
            stderr().print(f"{len(changes)} generated files differ from the specs")
        else:
            console.print("no changes: generated files match the specs")
    if changes:
        raise typer.Exit(1)
