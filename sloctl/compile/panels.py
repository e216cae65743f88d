"""The Grafana panels of one SLO, built with grafana-foundation-sdk's typed builders.

Every PromQL expression here reads series sloctl records (names from
:mod:`sloctl.compile.series`) or Prometheus's own ``ALERTS``; thresholds that
the alerts use (burn-rate factors, the objective, the budget policy) are known
when compiling and drawn as lines. The Jaeger query has no builder in the SDK,
so :class:`JaegerQuery` adds one in the SDK's own style, following the query
model of Grafana's Jaeger data source (``queryType: search``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import elasticsearch as es_b
from grafana_foundation_sdk.builders import logs as logs_b
from grafana_foundation_sdk.builders import prometheus as prom_b
from grafana_foundation_sdk.builders import stat as stat_b
from grafana_foundation_sdk.builders import table as table_b
from grafana_foundation_sdk.builders import timeseries as ts_b
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import common as common_m
from grafana_foundation_sdk.models import dashboard as dash_m
from grafana_foundation_sdk.models import prometheus as prom_m

from sloctl.compile import series
from sloctl.compile.sli import source_for
from sloctl.durations import format_duration
from sloctl.promql import format_number
from sloctl.slo_math import BASE_WINDOW, slo_conditions
from sloctl.spec.models import SLO, Severity

#: Panels read their data source from these dashboard variables.
PROMETHEUS = dash_m.DataSourceRef(type_val="prometheus", uid="${datasource}")
JAEGER = dash_m.DataSourceRef(type_val="jaeger", uid="${traces}")
ELASTICSEARCH = dash_m.DataSourceRef(type_val="elasticsearch", uid="${logs}")

SEVERITIES: tuple[Severity, ...] = ("page", "ticket")
SEVERITY_COLOR: dict[Severity, str] = {"page": "red", "ticket": "orange"}
PanelBuilder = cogbuilder.Builder[dash_m.Panel]


class JaegerQuery(cogvariants.Dataquery):
    """A search of Jaeger traces, as Grafana's Jaeger data source stores it."""

    def __init__(
        self,
        *,
        ref_id: str,
        service: str,
        operation: str | None,
        tags: str,
        limit: int,
        datasource: dash_m.DataSourceRef,
    ) -> None:
        self.ref_id = ref_id
        self.service = service
        self.operation = operation
        self.tags = tags
        self.limit = limit
        self.datasource = datasource

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "datasource": self.datasource,
            "limit": self.limit,
            "queryType": "search",
            "refId": self.ref_id,
            "service": self.service,
            "tags": self.tags,
        }
        if self.operation is not None:
            payload["operation"] = self.operation
        return payload


@dataclass(frozen=True)
class JaegerSearch(cogbuilder.Builder[cogvariants.Dataquery]):
    """Builder of :class:`JaegerQuery`: the error traces of one service (and operation)."""

    service: str
    operation: str | None = None
    tags: str = "error=true"
    limit: int = 20
    ref_id: str = "A"

    def build(self) -> JaegerQuery:
        return JaegerQuery(
            ref_id=self.ref_id,
            service=self.service,
            operation=self.operation,
            tags=self.tags,
            limit=self.limit,
            datasource=JAEGER,
        )


def prom(
    expr: str, legend: str, ref_id: str, *, instant: bool = False, table: bool = False
) -> prom_b.Dataquery:
    """A Prometheus query on the dashboard's Prometheus variable.

    ``instant`` asks for the latest value only (bar gauges); ``table`` also
    returns it as one row per series with the labels as columns (tables).
    """
    query = prom_b.Dataquery().expr(expr).legend_format(legend).ref_id(ref_id)
    query = query.datasource(PROMETHEUS)
    if instant or table:
        query = query.instant()
    if table:
        query = query.format(prom_m.PromQueryFormat.TABLE)
    return query


def thresholds(steps: Sequence[tuple[float | None, str]]) -> dash_b.ThresholdsConfig:
    """Absolute thresholds from (value, colour) steps; the first value is None (the base)."""
    return (
        dash_b.ThresholdsConfig()
        .mode(dash_m.ThresholdsMode.ABSOLUTE)
        .steps([dash_m.Threshold(value=value, color=color) for value, color in steps])
    )


def dashed_thresholds() -> common_b.GraphThresholdsStyleConfig:
    return common_b.GraphThresholdsStyleConfig().mode(common_m.GraphThresholdsStyleMode.DASHED)


def link(title: str, url: str) -> dash_b.DashboardLink:
    return dash_b.DashboardLink(title).url(url).target_blank(True)


def slo_page(server_url: str, slo_id: str) -> str:
    """The sloctl server's page of one SLO."""
    return f"{server_url.rstrip('/')}/slos/{slo_id}"


def legend(slo: SLO, prefix: str = "") -> str:
    """A legend that names the groupBy values, so grouped SLOs show one line per group."""
    parts = [prefix] if prefix else []
    parts.extend("{{" + label + "}}" for label in slo.group_by)
    return " ".join(parts) or slo.id


def budget_steps(slo: SLO) -> list[tuple[float | None, str]]:
    """Red when the budget policy says freeze, orange below its warning level, else green."""
    policy = slo.budget_policy
    steps: list[tuple[float | None, str]] = [(None, "red")]
    freeze, warn = policy.freeze_at / 100, policy.warn_below / 100
    if warn > freeze:
        steps.append((freeze, "orange"))
    steps.append((warn, "green"))
    return steps


def alert_windows(slo: SLO, severity: Severity) -> tuple[list[int], list[float]]:
    """The windows an alert of ``severity`` reads and its burn-rate factors (reachable ones)."""
    windows: list[int] = []
    factors: list[float] = []
    for condition in slo_conditions(slo):
        if condition.severity != severity or not condition.reachable(slo.error_budget):
            continue
        for window in (condition.long, condition.short):
            if window not in windows:
                windows.append(window)
        if condition.factor not in factors:
            factors.append(condition.factor)
    return windows, sorted(factors)


def condition_text(slo: SLO, severity: Severity) -> str:
    parts = [
        f"both the {format_duration(c.long)} and {format_duration(c.short)} burn rates "
        f"exceed {format_number(c.factor)}"
        for c in slo_conditions(slo)
        if c.severity == severity and c.reachable(slo.error_budget)
    ]
    return f"{severity.capitalize()} when " + ", or ".join(parts) + "."


# ------------------------------------------------------------------- panels


def sli_stat(slo: SLO, server_url: str) -> PanelBuilder:
    sel = series.slo_selector(slo.id)
    window = slo.window.seconds
    return (
        stat_b.Panel()
        .title(f"SLI over {slo.window}")
        .description(f"Good events over all events in the {slo.window} window.")
        .datasource(PROMETHEUS)
        .with_target(prom(f"1 - {series.error_ratio(window)}{sel}", legend(slo), "A"))
        .unit("percentunit")
        .decimals(3)
        .thresholds(thresholds([(None, "red"), (slo.target, "green")]))
        .links([link("SLO page in sloctl", slo_page(server_url, slo.id))])
        .span(6)
        .height(5)
    )


def budget_stat(slo: SLO) -> PanelBuilder:
    sel = series.slo_selector(slo.id)
    return (
        stat_b.Panel()
        .title("Error budget remaining")
        .description(
            f"Share of the {slo.window} error budget left; warning below "
            f"{format_number(slo.budget_policy.warn_below)} %, freeze at "
            f"{format_number(slo.budget_policy.freeze_at)} %."
        )
        .datasource(PROMETHEUS)
        .with_target(prom(f"{series.BUDGET_REMAINING}{sel}", legend(slo), "A"))
        .unit("percentunit")
        .decimals(1)
        .thresholds(thresholds(budget_steps(slo)))
        .span(6)
        .height(5)
    )


def burn_stat(slo: SLO) -> PanelBuilder:
    sel = series.slo_selector(slo.id)
    _, page_factors = alert_windows(slo, "page")
    steps: list[tuple[float | None, str]] = [(None, "green"), (1.0, "orange")]
    if page_factors:
        steps.append((page_factors[0], "red"))
    return (
        stat_b.Panel()
        .title("Current burn rate (1h)")
        .description(
            "How many times faster than sustainable the budget burns; 1x spends it "
            "exactly over the window."
        )
        .datasource(PROMETHEUS)
        .with_target(prom(f"{series.CURRENT_BURN_RATE}{sel}", legend(slo), "A"))
        .unit("suffix:x")
        .decimals(2)
        .thresholds(thresholds(steps))
        .span(6)
        .height(5)
    )


def alerts_stat(slo: SLO) -> PanelBuilder:
    expr = f'ALERTS{{slo="{slo.id}",alertstate="firing"}}'
    panel = (
        stat_b.Panel()
        .title("Firing alerts")
        .description("Alerts of this SLO that Prometheus fires now (page, ticket, absent data).")
        .datasource(PROMETHEUS)
        .with_target(prom(expr, legend(slo, "{{alertname}} {{severity}}"), "A"))
        .mappings(
            [dash_m.ValueMap(options={"1": dash_m.ValueMappingResult(text="FIRING", color="red")})]
        )
        .no_value("none firing")
        .thresholds(thresholds([(None, "green"), (1.0, "red")]))
        .span(6)
        .height(5)
    )
    if slo.alerting.runbook_url:
        panel = panel.links([link("Runbook", slo.alerting.runbook_url)])
    return panel


def sli_timeseries(slo: SLO) -> PanelBuilder:
    sel = series.slo_selector(slo.id)
    window = slo.window.seconds
    return (
        ts_b.Panel()
        .title(f"SLI over {slo.window} against the {format_number(slo.objective)} % objective")
        .description("The dashed line is the objective; below it the budget is overspent.")
        .datasource(PROMETHEUS)
        .with_target(prom(f"1 - {series.error_ratio(window)}{sel}", legend(slo, "SLI"), "A"))
        .unit("percentunit")
        .decimals(3)
        .thresholds(thresholds([(None, "red"), (slo.target, "green")]))
        .thresholds_style(dashed_thresholds())
        .span(12)
        .height(8)
    )


def budget_timeseries(slo: SLO) -> PanelBuilder:
    sel = series.slo_selector(slo.id)
    return (
        ts_b.Panel()
        .title("Error budget remaining over time")
        .description("Dashed lines: the budget policy's warning and freeze levels.")
        .datasource(PROMETHEUS)
        .with_target(prom(f"{series.BUDGET_REMAINING}{sel}", legend(slo, "remaining"), "A"))
        .unit("percentunit")
        .thresholds(thresholds(budget_steps(slo)))
        .thresholds_style(dashed_thresholds())
        .span(12)
        .height(8)
    )


def burn_timeseries(slo: SLO, severity: Severity, width: int) -> PanelBuilder:
    sel = series.slo_selector(slo.id)
    budget = format_number(slo.error_budget)
    windows, factors = alert_windows(slo, severity)
    panel = (
        ts_b.Panel()
        .title(f"Burn rate: {severity} windows")
        .description(condition_text(slo, severity) + " Dashed lines are the thresholds.")
        .datasource(PROMETHEUS)
        .unit("suffix:x")
        .thresholds(
            thresholds([(None, "green"), *((f, SEVERITY_COLOR[severity]) for f in factors)])
        )
        .thresholds_style(dashed_thresholds())
        .scale_distribution(
            common_b.ScaleDistributionConfig().type(common_m.ScaleDistribution.LOG).log(10)
        )
        .span(width)
        .height(8)
    )
    for i, window in enumerate(windows):
        expr = f"{series.error_ratio(window)}{sel} / {budget}"
        panel = panel.with_target(prom(expr, legend(slo, format_duration(window)), chr(65 + i)))
    return panel


def traffic_timeseries(slo: SLO, width: int) -> PanelBuilder:
    sel = series.slo_selector(slo.id)
    panel = ts_b.Panel().datasource(PROMETHEUS).span(width).height(8)
    if source_for(slo).events:
        return (
            panel.title("Traffic and errors (5m rates)")
            .description("All and bad events per second, as the SLI counts them.")
            .unit("ops")
            .with_target(prom(f"{series.total_events(BASE_WINDOW)}{sel}", legend(slo, "all"), "A"))
            .with_target(prom(f"{series.error_events(BASE_WINDOW)}{sel}", legend(slo, "bad"), "B"))
        )
    return (
        panel.title("Error ratio (5m)")
        .description("A raw error-ratio SLI has no event counts; this is its 5m error ratio.")
        .unit("percentunit")
        .with_target(prom(f"{series.error_ratio(BASE_WINDOW)}{sel}", legend(slo, "errors"), "A"))
    )


def traces_table(slo: SLO, width: int) -> PanelBuilder | None:
    jaeger = slo.evidence.jaeger
    if jaeger is None:
        return None
    what = jaeger.service + (f" {jaeger.operation}" if jaeger.operation else "")
    return (
        table_b.Panel()
        .title(f"Error traces: {what}")
        .description("Jaeger traces tagged error=true, newest first.")
        .datasource(JAEGER)
        .with_target(JaegerSearch(jaeger.service, jaeger.operation))
        .span(width)
        .height(10)
    )


def logs_panel(slo: SLO, width: int) -> PanelBuilder | None:
    elastic = slo.evidence.elasticsearch
    if elastic is None:
        return None
    query = (
        es_b.Dataquery()
        .query(elastic.query)
        .metrics([es_b.Logs().id("1")])
        .bucket_aggs([])
        .ref_id("A")
        .datasource(ELASTICSEARCH)
    )
    return (
        logs_b.Panel()
        .title(f"Error logs: {elastic.index}")
        .description(f"Elasticsearch documents matching {elastic.query}.")
        .datasource(ELASTICSEARCH)
        .with_target(query)
        .show_time(True)
        .enable_log_details(True)
        .wrap_log_message(True)
        .sort_order(common_m.LogsSortOrder.DESCENDING)
        .span(width)
        .height(10)
    )


def slo_panels(slo: SLO, server_url: str) -> list[PanelBuilder]:
    """Every panel of one SLO's row, in grid order (rows of 24 columns)."""
    panels: list[PanelBuilder] = [
        sli_stat(slo, server_url),
        budget_stat(slo),
        burn_stat(slo),
        alerts_stat(slo),
        sli_timeseries(slo),
        budget_timeseries(slo),
    ]
    severities = [s for s in SEVERITIES if alert_windows(slo, s)[0]]
    for severity in severities:
        panels.append(burn_timeseries(slo, severity, 24 // len(severities)))
    evidence = [p for p in (traces_table(slo, 12), logs_panel(slo, 12)) if p is not None]
    panels.append(traffic_timeseries(slo, 24 if len(evidence) != 1 else 12))
    panels.extend(evidence)
    return panels
