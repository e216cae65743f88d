"""Links from an SLO page to Grafana and to Prometheus graphs of the queries behind it. Pure.

The Grafana dashboard uid is the one ``sloctl apply`` generates for the
SLO's service (:func:`sloctl.compile.dashboards.service_uid`); the Prometheus
expressions read the series the generated rules record
(:mod:`sloctl.compile.series`), plus the SLI's own raw query, so an engineer
can check every number on the page at its source.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from server.budget.queries import raw_ratio
from sloctl.compile import series
from sloctl.compile.dashboards import service_uid
from sloctl.durations import format_duration
from sloctl.promql import format_number
from sloctl.slo_math import BASE_WINDOW, slo_conditions
from sloctl.spec.models import SLO


@dataclass(frozen=True)
class QueryLink:
    """One PromQL expression, what it shows, and its graph in Prometheus (None: no URL set)."""

    label: str
    expr: str
    url: str | None


def grafana_dashboard(base: str | None, slo: SLO, range_seconds: int) -> str | None:
    """The service's dashboard in Grafana, over the page's time range."""
    if not base:
        return None
    params = urlencode({"from": f"now-{format_duration(range_seconds)}", "to": "now"})
    return f"{base}/d/{quote(service_uid(slo.service), safe='')}?{params}"


def prometheus_graph(base: str | None, expr: str, range_seconds: int) -> str | None:
    """Prometheus's graph page for ``expr`` over the page's time range."""
    if not base:
        return None
    params = urlencode(
        {"g0.expr": expr, "g0.tab": "0", "g0.range_input": format_duration(range_seconds)}
    )
    return f"{base}/graph?{params}"


def query_links(base: str | None, slo: SLO, range_seconds: int) -> list[QueryLink]:
    """The queries behind the page's numbers, recorded series first, then the raw SLI."""
    selector = series.slo_selector(slo.id)
    budget = format_number(slo.error_budget)
    window = format_duration(slo.window.seconds)
    exprs = [
        (f"SLI over {window}", f"1 - {series.error_ratio(slo.window.seconds)}{selector}"),
        ("Error budget remaining", f"{series.BUDGET_REMAINING}{selector}"),
    ]
    windows = sorted({w for c in slo_conditions(slo) for w in (c.long, c.short)})
    for w in windows:
        exprs.append(
            (
                f"Burn rate over {format_duration(w)}",
                f"{series.error_ratio(w)}{selector} / {budget}",
            )
        )
    exprs.append(
        (
            f"Error ratio over {format_duration(BASE_WINDOW)} from the SLI's own series",
            raw_ratio(slo, BASE_WINDOW),
        )
    )
    exprs.append(("Firing alerts", f"ALERTS{selector}"))
    return [
        QueryLink(label, expr, prometheus_graph(base, expr, range_seconds)) for label, expr in exprs
    ]


def jaeger_search(
    base: str | None, service: str, operation: str | None, lookback: int
) -> str | None:
    """Jaeger UI's search for the service's error traces over the page's time range."""
    if not base:
        return None
    params = {"service": service, "tags": '{"error":"true"}', "lookback": format_duration(lookback)}
    if operation:
        params["operation"] = operation
    return f"{base}/search?{urlencode(params)}"
