"""The pages rendered by the app in-process (TestClient, SQLite, a Prometheus double),
and the pure parts behind them: formatting, filters, sorting, thresholds, charts, links."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from server.alerts import FIRING_QUERY
from server.app import create_app
from server.budget import queries
from server.prometheus import Sample
from server.settings import Settings
from server.web import charts, links, overview
from server.web import format as fmt
from server.web.security import CONTENT_SECURITY_POLICY
from sloctl.spec.models import SLO
from tests.support.clock import NOW, FakeClock
from tests.support.server import PrometheusDouble

TOKEN = "t0ken"
XSS = "<script>alert(1)</script>"


def spec(service: str, name: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "service": service,
        "name": name,
        "team": "shop",
        "objective": 99.9,
        "window": "30d",
        "sli": {"ratio": {"errors": 'req_total{code="500"}', "total": "req_total"}},
        "labels": {"tier": "1"},
    }
    data.update(extra)
    return SLO.model_validate(data).model_dump(mode="json", by_alias=True)


class Answers:
    """Every SLO covered by recorded series; error ratios per id; firing alerts per id."""

    def __init__(self) -> None:
        self.ratios: dict[str, float] = {}
        self.firing: dict[str, str] = {}

    def __call__(self, expr: str, at: datetime) -> list[Sample]:
        ts = at.timestamp()
        if "last_over_time" in expr:
            offsets = re.findall(r'"sloctl_window", "([^"]+)"', expr)
            return [
                Sample({"slo": i, queries.WINDOW_LABEL: w}, 1.0, ts)
                for i in self.ratios
                for w in offsets
            ]
        if expr == queries.RECORDED_RATIOS:
            return [
                Sample({"slo": i, "__name__": f"slo:sli_error:ratio_rate{w}"}, ratio, ts)
                for i, ratio in self.ratios.items()
                for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")
            ]
        if expr == FIRING_QUERY:
            return [
                Sample(
                    {"slo": i, "alertname": "SLOErrorBudgetBurn", "severity": sev},
                    ts - 600,
                    ts,
                )
                for i, sev in self.firing.items()
            ]
        return []


@pytest.fixture
def world(tmp_path: Path):
    answers = Answers()
    double = PrometheusDouble(answers)
    clock = FakeClock(NOW)
    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'web.db'}",
            api_token=TOKEN,
            history_interval=60,
            grafana_url="https://grafana.example",
        ),
        prometheus=double,
        clock=clock,
        metrics_registry=CollectorRegistry(),
        start_scheduler=False,
    )
    with TestClient(app) as client:
        slos = [
            spec("orders", "availability"),
            spec("orders", "latency", objective=99),
            spec(
                "billing",
                "pay",
                team=XSS,
                labels={"note": XSS},
                description=f"{XSS}<img src=x onerror=alert(2)>",
            ),
        ]
        response = client.put(
            "/api/v1/slos", json={"slos": slos}, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.status_code == 200
        answers.ratios = {"orders-availability": 0.02, "orders-latency": 0.001, "billing-pay": 0}
        answers.firing = {"orders-availability": "page"}
        for minutes in range(0, 60, 10):
            clock.now = NOW + timedelta(minutes=minutes)
            assert app.state.context.refresher.refresh()
        yield client, answers, double, clock


def test_pages_carry_the_security_headers(world):
    client = world[0]
    for path in ("/", "/slos/orders-availability", "/static/app.css", "/static/app.js", "/nope"):
        response = client.get(path, headers={"Accept": "text/html"})
        headers = response.headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    # The API docs load Swagger UI from a CDN: they keep working, without the page policy.
    assert "content-security-policy" not in client.get("/docs").headers


def test_no_inline_script_or_style_in_any_page(world):
    client = world[0]
    for path in ("/", "/slos/orders-availability", "/slos/billing-pay?range=window"):
        html = client.get(path).text
        assert re.findall(r"<script(?![^>]*\bsrc=)", html) == [], path
        assert " style=" not in html, path
        assert "<style" not in html, path


def test_overview_renders_every_slo_with_its_numbers(world):
    client = world[0]
    html = client.get("/").text
    assert html.count('<tr class="slo') == 3
    api = {s["id"]: s for s in client.get("/api/v1/slos").json()["data"]}
    row = html.split('data-id="orders-availability"')[1].split("</tr>")[0]
    assert fmt.percent(api["orders-availability"]["error_budget"]["remaining"], 1) in row
    assert "20.0×" in row  # 0.02 / 0.001
    assert 'class="c-burn1h num burn page"' in row
    assert '<span class="alert page"' in row
    assert re.search(r'id="count-firing">\s*<span class="n">1</span>', html)


def test_text_from_specs_is_escaped(world):
    client = world[0]
    for path in ("/", "/slos/billing-pay"):
        html = client.get(path).text
        assert XSS not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<img" not in html


def test_filters_and_sorting_from_the_query_string(world):
    client = world[0]

    def ids(path: str) -> list[str]:
        return re.findall(r'<tr class="slo[^"]*" data-id="([^"]+)"', client.get(path).text)

    assert ids("/?service=billing") == ["billing-pay"]
    assert ids("/?q=latency") == ["orders-latency"]
    assert ids("/?q=note%3D%3Cscript%3Ealert(1)%3C%2Fscript%3E") == ["billing-pay"]
    assert ids("/?status=firing") == ["orders-availability"]
    assert ids("/?status=exhausted") == ["orders-availability"]
    assert ids("/?sort=burn1h&group=none") == [
        "orders-availability",
        "orders-latency",
        "billing-pay",
    ]
    assert ids("/?sort=burn1h&order=asc&group=none")[0] == "billing-pay"
    assert ids("/?sort=name&group=none") == sorted(ids("/?group=none"))
    # Grouped by service: a group's rows stay together.
    assert ids("/?sort=name") == ["billing-pay", "orders-availability", "orders-latency"]
    # Unknown values fall back to the defaults rather than failing the page.
    assert client.get("/?sort=bogus&order=sideways&status=nope").status_code == 200


def test_slo_page_charts_have_a_point_per_snapshot(world):
    client = world[0]
    html = client.get("/slos/orders-availability?range=1h").text
    series = client.get("/api/v1/slos/orders-availability/series?range=1h").json()
    assert series["count"] == 6
    budget = html.split('id="chart-budget"')[1].split("</figure>")[0]
    assert budget.count('<circle class="pt"') == 6
    burn = html.split('id="chart-burn"')[1].split("</figure>")[0]
    assert burn.count('<circle class="pt"') == 6 * 4  # 1h, 6h, 1d, 3d
    assert 'class="rule page"' in burn
    assert 'class="rule ticket"' in burn
    assert "https://grafana.example/d/sloctl-orders?from=now-1h&amp;to=now" in html
    assert "SLOErrorBudgetBurn" in html.split('id="panel-alerts"')[1]
    assert 'class="big gate closed"' in html  # 20x for an hour on a full window: exhausted


def test_unknown_slo_and_page_are_html_404_for_browsers_json_for_the_api(world):
    client = world[0]
    page = client.get("/slos/nope-x")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "nope-x" in page.text
    api = client.get("/api/v1/nothing", headers={"Accept": "text/html"})
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"


def test_stale_banner_when_prometheus_is_down(world):
    client, _answers, double, clock = world
    double.down = True
    clock.now += timedelta(minutes=1)
    assert not client.app.state.context.refresher.refresh()
    html = client.get("/").text
    assert 'id="stale-banner"' in html
    assert "connection refused" in html
    assert html.count("is-stale") == 3
    detail_html = client.get("/slos/orders-availability").text
    assert 'id="stale-banner"' in detail_html
    assert "Not current" in detail_html


# ---------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.999, "99.9 %"), (1.0, "100 %"), (-0.5, "-50 %"), (None, "–"), (float("nan"), "–")],
)
def test_percent(value, text):
    assert fmt.percent(value) == text


@pytest.mark.parametrize(
    ("rate", "text"),
    [(14.43, "14.4×"), (333.3, "333×"), (1.0, "1×"), (0.05, "0.05×"), (0.001, "<0.01×"), (0, "0×")],
)
def test_burn(rate, text):
    assert fmt.burn(rate) == text


def test_duration_and_exhaustion():
    assert fmt.duration(3 * 86400 + 4 * 3600 + 5) == "3d 4h"
    assert fmt.duration(5 * 3600 + 12 * 60) == "5h 12m"
    assert fmt.duration(42 * 60) == "42m"
    assert fmt.exhaustion(100, -0.1) == "spent"
    assert fmt.exhaustion(None, 0.5) == "–"


def test_thresholds_come_from_the_alert_conditions():
    slo = SLO.model_validate(spec("a", "b"))
    cells = {
        c.window: c for c in overview.burn_cells(slo, {"1h": 15, "6h": 5, "1d": 3.5, "3d": 0.5})
    }
    assert cells["1h"].level == "page"  # 14.4
    assert cells["6h"].level == "ticket"  # page 6, ticket 1 (3d and 6h)
    assert cells["1d"].level == "ticket"  # 3
    assert cells["3d"].level == "ok"
    quiet = SLO.model_validate(spec("a", "c", alerting={"page": {"enabled": False}}))
    assert overview.burn_cells(quiet, {"1h": 100})[0].level == "fast"


def test_query_urls_drop_defaults_and_toggle_the_order():
    query = overview.Query.parse({})
    assert query.url() == "/"
    assert query.sort_url("budget") == "/?order=desc"
    assert query.sort_url("burn1h") == "/?sort=burn1h"
    flipped = overview.Query.parse({"sort": "burn1h"})
    assert flipped.order == "desc"
    assert flipped.sort_url("burn1h") == "/?sort=burn1h&order=asc"
    assert overview.Query.parse({"q": "x", "group": "none"}).url() == "/?q=x&group=none"


def test_chart_breaks_lines_at_gaps_and_counts_points():
    t0 = NOW
    values = [(t0 + timedelta(minutes=i), None if i == 2 else 0.5) for i in range(5)]
    chart = charts.line_chart(
        id="c",
        title="t",
        description="d",
        t0=t0,
        t1=t0 + timedelta(minutes=4),
        series=[charts.Series("s", "s", values, fmt.percent)],
        low=0,
        high=1,
        y_format=fmt.percent,
        rules=[(0.9, "objective", "objective"), (2.0, "off the chart", "x")],
    )
    assert chart.point_count == 4
    assert len(chart.lines[0].segments) == 2
    assert [r.label for r in chart.rules] == ["objective"]
    assert chart.lines[0].points[0].x == charts.LEFT
    assert chart.lines[0].points[-1].x == charts.WIDTH - charts.RIGHT
    empty = charts.line_chart(
        id="e",
        title="t",
        description="d",
        t0=t0,
        t1=t0,
        series=[],
        low=0,
        high=1,
        y_format=fmt.percent,
    )
    assert empty.empty


def test_prometheus_links_read_the_recorded_series():
    slo = SLO.model_validate(spec("orders", "availability"))
    found = links.query_links("http://prom:9090", slo, 3600)
    exprs = [q.expr for q in found]
    assert '1 - slo:sli_error:ratio_rate30d{slo="orders-availability"}' in exprs
    assert 'slo:sli_error:ratio_rate1h{slo="orders-availability"} / 0.001' in exprs
    assert all(q.url and q.url.startswith("http://prom:9090/graph?g0.expr=") for q in found)
    assert links.query_links(None, slo, 3600)[0].url is None
    assert links.grafana_dashboard(None, slo, 3600) is None
