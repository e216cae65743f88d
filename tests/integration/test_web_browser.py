"""The web pages in real headless Chromium, against the server with a real Prometheus.

One Prometheus per module, backfilled with two days of synthetic traffic for
``shop`` (errors only in busy hours) and three hours of a failing ``checkout``
(a third of its requests fail, so its page alert fires), with the generated
rules loaded. The server runs under uvicorn on a free loopback port; its
history comes from real refreshes: a few at earlier times (the clock is the
server's injected clock) and some now. Screenshots of every page go to
``test-artifacts/``. The last test stops Prometheus: the pages must say the
numbers are stale instead of failing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect
from prometheus_client import CollectorRegistry

from server.app import create_app
from server.settings import Settings
from server.web import format as fmt
from sloctl.compile import render_rule_file
from sloctl.compile.rules import compile_service
from sloctl.spec.loader import load_specs
from tests.helpers import write
from tests.support.browser import Watched, chromium, screenshot, watched_page
from tests.support.processes import Prometheus, backfill, prometheus_config, run_prometheus
from tests.support.server import serve_in_thread
from tests.support.traffic import COUNTER_OFFSET, make_traffic

pytestmark = pytest.mark.integration

XSS = "<script>alert(1)</script>"
SPECS = {
    "shop.yaml": """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: shop
spec:
  team: web
  labels:
    tier: "1"
  slos:
    - name: availability
      description: Shop requests answered without a server error.
      objective: 99.5
      window: 30d
      sli:
        ratio:
          errors: http_requests_total{code="500"}
          total: http_requests_total
    - name: routes
      objective: 99
      window: 7d
      groupBy: [route]
      sli:
        events:
          errorQuery: sum by (route) (rate(http_requests_total{code="500"}[{{window}}]))
          totalQuery: sum by (route) (rate(http_requests_total[{{window}}]))
    - name: weekly
      objective: 99
      window:
        calendar: week
        timeZone: Europe/Berlin
      sli:
        ratio:
          good: http_requests_total{code="200"}
          total: http_requests_total
""",
    "checkout.yaml": """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: checkout
spec:
  team: payments
  labels:
    tier: "0"
  slos:
    - name: availability
      objective: 99.9
      window: 30d
      sli:
        ratio:
          errors: checkout_requests_total{code="500"}
          total: checkout_requests_total
      evidence:
        jaeger: {service: checkout, operation: POST /pay}
""",
    "xss.yaml": """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: xss
spec:
  team: "<script>alert(1)</script>"
  labels:
    note: "<script>alert(1)</script>"
  slos:
    - name: escaped
      description: "<script>alert(1)</script><img src=x onerror=alert(2)>"
      objective: 99
      window: 30d
      sli:
        ratio:
          errors: http_requests_total{code="500"}
          total: http_requests_total
""",
}
RULE_INTERVAL = "10s"
#: Refreshes at earlier times, so the charts have history: every 20 minutes for 4 hours.
PAST_REFRESHES = [timedelta(minutes=20 * k) for k in range(12, 0, -1)]


@dataclass
class World:
    prometheus: Prometheus
    app: FastAPI
    url: str
    browser: Browser

    def api(self, path: str) -> Any:
        response = httpx.get(self.url + path, timeout=30)
        response.raise_for_status()
        return response.json()


class Clock:
    """The server's clock: the wall clock, or a fixed earlier time while history is made."""

    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def __call__(self) -> datetime:
        return self.fixed or datetime.now(UTC)


def _checkout_traffic(end: int) -> list[str]:
    """Three hours of checkout requests, a third of them failing, one sample a minute."""
    lines = ["# TYPE checkout_requests counter"]
    for code, per_minute in (("200", 40), ("500", 20)):
        value = COUNTER_OFFSET
        for t in range(end - 3 * 3600, end + 1, 60):
            value += per_minute
            lines.append(f'checkout_requests_total{{code="{code}"}} {value} {t}')
    return lines


def _wait(prom: Prometheus, expr: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if prom.query(expr):
            return
        time.sleep(1)
    raise AssertionError(f"{expr} returned nothing within {timeout}s")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    workdir = tmp_path_factory.mktemp("web")
    end = int(time.time()) // 60 * 60 - 60
    specs = workdir / "specs"
    for name, text in SPECS.items():
        write(specs / name, text)
    loaded = load_specs([specs])
    lines = make_traffic(end, days=2).openmetrics("http_requests") + _checkout_traffic(end)
    data = workdir / "prometheus-data"
    backfill("\n".join(lines) + "\n# EOF\n", data, workdir)
    rule_files = []
    for service in sorted({slo.service for slo in loaded.slos}):
        slos = [slo for slo in loaded.slos if slo.service == service]
        rules = compile_service(service, slos, [str(specs)])
        rules = dataclasses.replace(
            rules,
            groups=tuple(dataclasses.replace(g, interval=RULE_INTERVAL) for g in rules.groups),
        )
        rule_files.append(write(workdir / f"{service}.rules.yml", render_rule_file(rules)))
    config = prometheus_config(rule_files, evaluation_interval=RULE_INTERVAL)
    clock = Clock()
    with run_prometheus(workdir, config, data_dir=data) as prom:
        _wait(prom, 'ALERTS{slo="checkout-availability",alertstate="firing",severity="page"}')
        _wait(prom, 'slo:sli_error:ratio_rate6h{slo="shop-availability"}')
        app = create_app(
            Settings(
                prometheus_url=prom.url,
                prometheus_public_url="http://prometheus.example:9090",
                grafana_url="http://grafana.example:3000",
                jaeger_url="http://jaeger.example:16686",
                database_url=f"sqlite:///{workdir / 'server.db'}",
                specs_dir=specs,
                history_interval=60,
                refresh_interval=3600,
                web_refresh_interval=30,
            ),
            clock=clock,
            metrics_registry=CollectorRegistry(),
            start_scheduler=False,
        )
        with serve_in_thread(app) as url, chromium() as browser:
            refresher = app.state.context.refresher
            now = datetime.now(UTC)
            for back in PAST_REFRESHES:
                clock.fixed = now - back
                assert refresher.refresh()
            clock.fixed = None
            assert refresher.refresh()
            yield World(prom, app, url, browser)


@pytest.fixture
def watched(world: World) -> Iterator[Watched]:
    page = watched_page(world.browser, viewport={"width": 1440, "height": 900})
    yield page
    page.page.context.close()


def _row(page: Page, slo_id: str):  # type: ignore[no-untyped-def]
    return page.locator(f'tr.slo[data-id="{slo_id}"]')


def test_overview_lists_every_slo_with_the_numbers_the_api_gives(world: World, watched: Watched):
    page = watched.page
    api = world.api("/api/v1/slos")
    response = page.goto(world.url + "/")
    assert response is not None
    assert response.status == 200
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    expect(page.locator("tr.slo")).to_have_count(api["count"])
    assert api["count"] == 5
    for slo in api["data"]:
        row = _row(page, slo["id"])
        expect(row.locator(".c-objective")).to_have_text(fmt.objective(slo["objective"]))
        expect(row.locator(".c-sli")).to_have_text(fmt.sli(slo["sli"], slo["objective"]))
        expect(row.locator(".c-budget .num")).to_have_text(
            fmt.percent(slo["error_budget"]["remaining"], 1)
        )
        for window in ("1h", "6h", "1d", "3d"):
            expect(row.locator(f".c-burn{window}")).to_contain_text(
                fmt.burn(slo["burn_rates"].get(window))
            )
        expect(row.locator(".c-status")).to_have_text(slo["status"])
    checkout = next(s for s in api["data"] if s["id"] == "checkout-availability")
    assert checkout["burn_rates"]["1h"] > 14.4
    expect(_row(page, "checkout-availability").locator(".c-burn1h")).to_have_class(
        "c-burn1h num burn page"
    )
    expect(_row(page, "checkout-availability").locator(".c-alerts")).to_contain_text("page")
    expect(page.locator("#count-total .n")).to_have_text("5")
    # What fires, as the server read it from Prometheus in its last refresh: checkout's page,
    # and whatever shop's busy-hour errors raise at the time the test runs.
    firing = world.app.state.context.alerts_view().firing
    assert "checkout-availability" in firing
    pages = sum(1 for alerts in firing.values() for a in alerts if a.severity == "page")
    tickets = sum(1 for alerts in firing.values() for a in alerts if a.severity == "ticket")
    expect(page.locator("#count-firing")).to_contain_text(f"{len(firing)} with firing alerts")
    expect(page.locator("#count-firing")).to_contain_text(f"{pages} page · {tickets} ticket")
    # Grouped by service, worst budget first: checkout's group leads.
    expect(page.locator("tbody.group").first).to_have_attribute("data-service", "checkout")
    expect(page.locator("#refresh-status")).to_contain_text("next in")
    screenshot(page, "overview")
    assert not watched.dialogs
    assert not watched.page_errors
    assert not watched.console_errors


def test_filter_sort_and_open_an_slo(world: World, watched: Watched):
    page = watched.page
    page.goto(world.url + "/")
    page.select_option("#f-service", "shop")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**service=shop**")
    expect(page.locator("tr.slo")).to_have_count(3)
    expect(page.locator("#shown-count")).to_have_text("3")

    page.goto(world.url + "/?q=tier%3D0")
    expect(page.locator("tr.slo")).to_have_count(1)
    page.goto(world.url + "/?status=firing")
    firing = sorted(world.app.state.context.alerts_view().firing)
    shown = page.locator("tr.slo").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert sorted(shown) == firing
    assert "checkout-availability" in shown

    # Sorting by the 1h burn rate, flat: highest first, then a second click reverses it.
    page.goto(world.url + "/?group=none")
    page.locator("th.c-burn1h a").click()
    page.wait_for_url("**sort=burn1h**")
    expect(page.locator("th.c-burn1h")).to_have_attribute("aria-sort", "descending")
    api = world.api("/api/v1/slos")["data"]
    expected = sorted(
        (s for s in api if "1h" in s["burn_rates"]),
        key=lambda s: (-s["burn_rates"]["1h"], s["id"]),
    )
    ids = page.locator("tr.slo").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert ids[: len(expected)] == [s["id"] for s in expected]
    page.locator("th.c-burn1h a").click()
    page.wait_for_url("**order=asc**")
    expect(page.locator("th.c-burn1h")).to_have_attribute("aria-sort", "ascending")
    reversed_ids = page.locator("tr.slo").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert reversed_ids[0] != ids[0]

    # Typing in the search box filters at once (JavaScript), before any submit.
    page.goto(world.url + "/")
    page.fill("#f-q", "weekly")
    expect(page.locator("tr.slo:visible")).to_have_count(1)
    expect(page.locator("#shown-count")).to_have_text("1")

    page.locator('tr.slo[data-id="shop-weekly"] a').first.click()
    page.wait_for_url("**/slos/shop-weekly")
    expect(page.locator("h1")).to_contain_text("weekly")
    assert not watched.dialogs
    assert not watched.page_errors


def test_slo_page_draws_its_charts_from_the_stored_history(world: World, watched: Watched):
    page = watched.page
    series = world.api("/api/v1/slos/shop-availability/series?range=6h")
    assert series["count"] >= len(PAST_REFRESHES)
    response = page.goto(world.url + "/slos/shop-availability?range=6h")
    assert response is not None
    assert response.status == 200
    expect(page.locator('.ranges a[aria-current="true"]')).to_have_text("last 6h")
    budget = page.locator("#chart-budget .series.remaining circle.pt")
    known = [p for p in series["data"] if p["error_budget_remaining"] is not None]
    expect(budget).to_have_count(len(known))
    expect(page.locator("#chart-budget polyline.guide")).to_have_count(1)
    for window in ("1d", "3d"):
        points = [p for p in series["data"] if window in p["burn_rates"]]
        expect(
            page.locator(f'#chart-burn .series[data-series="{window}"] circle.pt')
        ).to_have_count(len(points))
    expect(page.locator("#chart-burn .rule.page")).not_to_have_count(0)
    expect(page.locator("#chart-burn .rule.ticket")).not_to_have_count(0)
    expect(page.locator("#chart-sli .rule.objective")).to_have_count(1)
    assert int(page.locator("#chart-sli svg").get_attribute("data-points") or 0) > 0
    link = page.locator("#links a", has_text="Grafana dashboard")
    expect(link).to_have_attribute(
        "href", "http://grafana.example:3000/d/sloctl-shop?from=now-6h&to=now"
    )
    query = page.locator("#links .queries a").first
    assert (query.get_attribute("href") or "").startswith("http://prometheus.example:9090/graph?")
    screenshot(page, "slo-detail")

    page.goto(world.url + "/slos/checkout-availability?range=1h")
    expect(page.locator("#panel-alerts .firing-now")).to_contain_text("SLOErrorBudgetBurn")
    expect(page.locator("#panel-alerts table.episodes tbody tr")).not_to_have_count(0)
    expect(page.locator("#conditions tr.met")).not_to_have_count(0)
    expect(page.locator("#panel-evidence")).to_contain_text(
        "Jaeger service checkout, operation POST /pay"
    )
    expect(page.locator("#gather-evidence")).to_have_attribute(
        "href", "/slos/checkout-availability/evidence?range=1h"
    )
    screenshot(page, "slo-detail-burning")

    page.goto(world.url + "/slos/shop-routes?range=window")
    expect(page.locator("#groups tbody tr")).to_have_count(2)
    page.goto(world.url + "/slos/shop-weekly?range=window")
    expect(page.locator('.ranges a[aria-current="true"]')).to_have_text("this week")
    assert not watched.dialogs
    assert not watched.page_errors
    assert not watched.console_errors


def test_script_in_a_spec_is_shown_as_text_and_runs_nothing(world: World, watched: Watched):
    page = watched.page
    page.goto(world.url + "/?service=xss")
    row = _row(page, "xss-escaped")
    expect(row.locator(".c-team")).to_have_text(XSS)
    expect(row.locator(".lbl")).to_have_text(f"note={XSS}")
    page.goto(world.url + "/slos/xss-escaped")
    expect(page.locator(".desc")).to_have_text(
        "<script>alert(1)</script><img src=x onerror=alert(2)>"
    )
    assert page.locator("img").count() == 0
    scripts = page.locator("script").evaluate_all("s => s.map(e => e.getAttribute('src'))")
    assert len(scripts) == 1
    assert scripts[0].startswith("/static/app.js")
    page.wait_for_timeout(500)
    assert watched.dialogs == []
    assert watched.page_errors == []


#: Elements sticking out of the viewport, except inside frames that scroll themselves.
OVERFLOWING = """() => {
  const out = [];
  for (const e of document.querySelectorAll("main *, header *")) {
    const r = e.getBoundingClientRect();
    if (r.width && r.right > window.innerWidth + 1 && !e.closest(".table-wrap, .chart")) {
      out.push(`${e.tagName}.${e.className} right=${Math.round(r.right)}`);
    }
  }
  return out.slice(0, 10);
}"""


def test_readable_on_a_phone(world: World):
    watched = watched_page(
        world.browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = watched.page
    try:
        page.goto(world.url + "/")
        # No sideways scrolling: the table turns into one card per SLO.
        assert page.evaluate(OVERFLOWING) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        expect(page.locator('tr.slo[data-id="checkout-availability"] .c-budget')).to_be_visible()
        screenshot(page, "overview-phone")
        page.goto(world.url + "/slos/checkout-availability")
        assert page.evaluate(OVERFLOWING) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        screenshot(page, "slo-detail-phone")
    finally:
        page.context.close()


def test_keyboard_reaches_the_table_and_focus_is_visible(world: World, watched: Watched):
    page = watched.page
    page.goto(world.url + "/")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.keyboard.press("/")
    expect(page.locator("#f-q")).to_be_focused()
    outline = page.evaluate(
        "() => { const a = document.querySelector('tr.slo a'); a.focus();"
        " return getComputedStyle(a).outlineStyle; }"
    )
    assert outline == "solid"


def test_prometheus_down_shows_stale_numbers_instead_of_failing(world: World, watched: Watched):
    """Runs last: it stops the module's Prometheus."""
    page = watched.page
    before = world.api("/api/v1/slos/shop-availability")
    world.prometheus.stop()
    assert not world.app.state.context.refresher.refresh()
    response = page.goto(world.url + "/")
    assert response is not None
    assert response.status == 200
    expect(page.locator("#stale-banner")).to_contain_text("Stale numbers")
    expect(page.locator("#stale-banner")).to_contain_text("did not answer")
    expect(page.locator("tr.slo.is-stale")).to_have_count(5)
    expect(_row(page, "shop-availability").locator(".c-budget .num")).to_have_text(
        fmt.percent(before["error_budget"]["remaining"], 1)
    )
    screenshot(page, "overview-stale")
    response = page.goto(world.url + "/slos/shop-availability")
    assert response is not None
    assert response.status == 200
    expect(page.locator("#stale-banner")).to_be_visible()
    expect(page.locator("#panel-alerts")).to_contain_text("Not current")
