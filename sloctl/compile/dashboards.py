"""Grafana dashboards of SLOs: one per service (a row per SLO) and one overview.

Built with grafana-foundation-sdk, whose typed builders are generated from
Grafana's own schemas (the pinned build targets Grafana 11.6), rather than
JSON templates. Output is deterministic: uids derive from service names,
panel ids count up in grid order, and the JSON is written with sorted keys.
JSON has no comments, so the "generated, do not edit" header is the
dashboard's ``description``. See docs/dashboards.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from grafana_foundation_sdk.builders import bargauge as bargauge_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import table as table_b
from grafana_foundation_sdk.builders import timeseries as ts_b
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_m
from grafana_foundation_sdk.models import dashboard as dash_m

from sloctl.compile import generated_header, series
from sloctl.compile.panels import (
    PROMETHEUS,
    PanelBuilder,
    link,
    prom,
    slo_page,
    slo_panels,
    thresholds,
)
from sloctl.durations import format_duration
from sloctl.promql import format_number
from sloctl.spec.models import SLO

#: Grafana's limit on a dashboard uid.
MAX_UID = 40
TAG = "sloctl"
OVERVIEW_UID = "sloctl-overview"
OVERVIEW_FILE = "slo-overview.json"


@dataclass(frozen=True)
class DashboardSettings:
    """What the dashboards link to and read from; each is configurable (see the README)."""

    server_url: str = "http://localhost:8080"
    prometheus_uid: str = "prometheus"
    jaeger_uid: str = "jaeger"
    elasticsearch_uid: str = "elasticsearch"


@dataclass(frozen=True)
class DashboardFile:
    """One generated dashboard: its uid, file name and JSON text."""

    uid: str
    filename: str
    title: str
    content: str


def service_uid(service: str) -> str:
    """``sloctl-<service>``; long names are cut and made unique with a hash (uids max 40)."""
    uid = f"{TAG}-{service}"
    if len(uid) <= MAX_UID:
        return uid
    digest = hashlib.sha256(service.encode()).hexdigest()[:8]
    return f"{uid[: MAX_UID - 9]}-{digest}"


def _datasource_variable(name: str, label: str, kind: str, uid: str) -> dash_b.DatasourceVariable:
    return (
        dash_b.DatasourceVariable(name)
        .label(label)
        .type(kind)
        .current(dash_m.VariableOption(selected=True, text=uid, value=uid))
    )


def _links(settings: DashboardSettings) -> list[cogbuilder.Builder[dash_m.DashboardLink]]:
    return [
        dash_b.DashboardLink("SLO dashboards")
        .type(dash_m.DashboardLinkType.DASHBOARDS)
        .tags([TAG])
        .as_dropdown(True)
        .include_vars(True)
        .keep_time(True),
        link("sloctl server", settings.server_url.rstrip("/") + "/"),
    ]


def _number_panels(board: dash_m.Dashboard) -> dash_m.Dashboard:
    """Give every panel and row an id, counting up in grid order (the SDK leaves them 0)."""
    for number, panel in enumerate(board.panels or [], start=1):
        panel.id_val = number
    return board


def render(board: dash_m.Dashboard) -> str:
    """The dashboard's JSON text: sorted keys, two-space indent, final newline."""
    return json.dumps(board, cls=JSONEncoder, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _description(sources: Sequence[str], what: str) -> str:
    return " ".join(generated_header(tuple(sources))) + " " + what


def service_dashboard(
    service: str, slos: Sequence[SLO], sources: Sequence[str], settings: DashboardSettings
) -> DashboardFile:
    """The dashboard of one service: a row per SLO, sorted by SLO id."""
    ordered = sorted(slos, key=lambda s: s.id)
    teams = sorted({s.team for s in ordered if s.team})
    longest = max(s.window.seconds for s in ordered)
    title = f"SLOs: {service}"
    board = (
        dash_b.Dashboard(title)
        .uid(service_uid(service))
        .description(
            _description(
                sources,
                f"SLOs of {service}" + (f" (team {', '.join(teams)})" if teams else "") + ".",
            )
        )
        .tags([TAG, f"service:{service}"])
        .time(f"now-{format_duration(longest)}", "now")
        .refresh("1m")
        .timezone("browser")
        .readonly()
        .links(_links(settings))
        .with_variable(
            _datasource_variable("datasource", "Prometheus", "prometheus", settings.prometheus_uid)
        )
        .with_variable(dash_b.ConstantVariable("service").value(service))
    )
    if any(s.evidence.jaeger for s in ordered):
        board = board.with_variable(
            _datasource_variable("traces", "Jaeger", "jaeger", settings.jaeger_uid)
        )
    if any(s.evidence.elasticsearch for s in ordered):
        board = board.with_variable(
            _datasource_variable(
                "logs", "Elasticsearch", "elasticsearch", settings.elasticsearch_uid
            )
        )
    for slo in ordered:
        row = dash_b.Row(f"{slo.id}: {format_number(slo.objective)} % over {slo.window}").collapsed(
            False
        )
        board = board.with_row(row)
        for panel in slo_panels(slo, settings.server_url):
            board = board.with_panel(panel)
    built = _number_panels(board.build())
    return DashboardFile(built.uid or "", f"{service}.json", title, render(built))


def _overview_panels(slos: Sequence[SLO], settings: DashboardSettings) -> list[PanelBuilder]:
    group_labels = sorted({label for s in slos for label in s.group_by})
    legend = " ".join(["{{slo}}", *("{{" + label + "}}" for label in group_labels)])
    selected = '{service=~"$service"}'
    page_link = link("SLO page in sloctl", slo_page(settings.server_url, "${__field.labels.slo}"))
    row_link = link("SLO page in sloctl", slo_page(settings.server_url, "${__data.fields.slo}"))
    budget = (
        bargauge_b.Panel()
        .title("Error budget remaining")
        .description("Share of each SLO's window budget left (red: overspent).")
        .datasource(PROMETHEUS)
        .with_target(prom(f"{series.BUDGET_REMAINING}{selected}", legend, "A", instant=True))
        .unit("percentunit")
        .min(-1)
        .max(1)
        .thresholds(thresholds([(None, "red"), (0.0, "orange"), (0.25, "green")]))
        .data_links([page_link])
        .orientation(common_m.VizOrientation.HORIZONTAL)
        .span(12)
        .height(10)
    )
    burn = (
        bargauge_b.Panel()
        .title("Current burn rate (1h)")
        .description("Orange: the budget burns faster than the window allows.")
        .datasource(PROMETHEUS)
        .with_target(prom(f"{series.CURRENT_BURN_RATE}{selected}", legend, "A", instant=True))
        .unit("suffix:x")
        .thresholds(thresholds([(None, "green"), (1.0, "orange")]))
        .data_links([page_link])
        .orientation(common_m.VizOrientation.HORIZONTAL)
        .span(12)
        .height(10)
    )
    firing = (
        table_b.Panel()
        .title("Firing SLO alerts")
        .datasource(PROMETHEUS)
        .with_target(
            prom('ALERTS{alertstate="firing",slo!="",service=~"$service"}', "", "A", table=True)
        )
        .with_transformation(_organize(["alertname", "severity", "slo", "service", "team"]))
        .no_value("no SLO alert is firing")
        .override_by_name(
            "slo", [dash_m.DynamicConfigValue(id_val="links", value=[row_link.build()])]
        )
        .span(12)
        .height(8)
    )
    catalogue = (
        table_b.Panel()
        .title("SLOs")
        .datasource(PROMETHEUS)
        .with_target(prom(f"{series.INFO}{selected}", "", "A", table=True))
        .with_transformation(
            _organize(["slo", "service", "team", "objective", "window", "sli_kind"])
        )
        .override_by_name(
            "slo", [dash_m.DynamicConfigValue(id_val="links", value=[row_link.build()])]
        )
        .span(12)
        .height(8)
    )
    history = (
        ts_b.Panel()
        .title("Error budget remaining over time")
        .datasource(PROMETHEUS)
        .with_target(prom(f"{series.BUDGET_REMAINING}{selected}", legend, "A"))
        .unit("percentunit")
        .data_links([page_link])
        .span(24)
        .height(9)
    )
    return [budget, burn, firing, catalogue, history]


def _organize(columns: Sequence[str]) -> dash_m.DataTransformerConfig:
    """Show these label columns first, in this order, and hide the time and value columns."""
    return dash_m.DataTransformerConfig(
        id_val="organize",
        options={
            "excludeByName": {"Time": True, "Value": True, "__name__": True},
            "indexByName": {name: i for i, name in enumerate(columns)},
        },
    )


def overview_dashboard(
    slos: Sequence[SLO], sources: Sequence[str], settings: DashboardSettings
) -> DashboardFile:
    """One dashboard over every SLO, filtered by a service variable."""
    title = "SLOs: overview"
    services = sorted({s.service for s in slos})
    board = (
        dash_b.Dashboard(title)
        .uid(OVERVIEW_UID)
        .description(_description(sources, f"{len(slos)} SLOs of {len(services)} services."))
        .tags([TAG])
        .time("now-7d", "now")
        .refresh("1m")
        .timezone("browser")
        .readonly()
        .links(_links(settings))
        .with_variable(
            _datasource_variable("datasource", "Prometheus", "prometheus", settings.prometheus_uid)
        )
        .with_variable(
            dash_b.QueryVariable("service")
            .label("Service")
            .datasource(PROMETHEUS)
            .query(f"label_values({series.INFO}, service)")
            .refresh(dash_m.VariableRefresh.ON_DASHBOARD_LOAD)
            .sort(dash_m.VariableSort.ALPHABETICAL_ASC)
            .multi(True)
            .include_all(True)
            .all_value(".*")
            .current(dash_m.VariableOption(selected=True, text=["All"], value=["$__all"]))
        )
    )
    for panel in _overview_panels(slos, settings):
        board = board.with_panel(panel)
    built = _number_panels(board.build())
    return DashboardFile(OVERVIEW_UID, OVERVIEW_FILE, title, render(built))


def compile_dashboards(
    by_service: dict[str, tuple[list[SLO], list[str]]], settings: DashboardSettings
) -> list[DashboardFile]:
    """Every dashboard: one per service (SLOs and their spec files) and the overview."""
    files = [
        service_dashboard(service, slos, sources, settings)
        for service, (slos, sources) in sorted(by_service.items())
    ]
    every = [s for slos, _ in by_service.values() for s in slos]
    all_sources = sorted({src for _, sources in by_service.values() for src in sources})
    if every:
        files.append(overview_dashboard(every, all_sources, settings))
    return files
