"""The server's budgets on a real Prometheus equal the truth computed from the same data.

Prometheus holds 30 days (and a 3-hour lead) of synthetic traffic at 1-minute
resolution, backfilled with ``promtool tsdb create-blocks-from openmetrics``,
and the generated rules are loaded when it starts: the "rules loaded a minute
ago" case. Windows longer than the recorded history must come from raw series.
Two SLOs (``shop-legacy``, ``shop-legacy-weekly``) instead have 30 days of
recorded 5-minute base series backfilled and no raw series at all, so only the
recorded path can answer them.

Tolerance, stated once: Prometheus's ``increase()``/``rate()`` counts the events
between the first and the last sample inside a range and extrapolates to the
edges; as every series has samples at the same minutes, extrapolation scales
errors and totals alike and the ratio is the ratio of the events at the
samples inside the window. So each expected ratio is bracketed by the ratios
with the window's edges moved by up to one minute (one sample) each way; for
the chained ``shop-legacy`` windows by up to five minutes (its 5-minute base
rates cover the window's first five minutes partially). Nothing else may
differ. Rule groups run every 10 s instead of 30 s / 5 m, so that the long
group evaluates within seconds; their expressions are the shipped ones.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from server.app import create_app
from server.budget.engine import Engine
from server.budget.numbers import period_of
from server.prometheus import PrometheusClient
from server.settings import Settings
from sloctl.compile import render_rule_file
from sloctl.compile.rules import compile_service
from sloctl.spec.loader import load_specs
from sloctl.spec.models import SLO
from tests.helpers import write
from tests.support.processes import Prometheus, backfill, prometheus_config, run_prometheus
from tests.support.traffic import Traffic, make_traffic

pytestmark = pytest.mark.integration

SPEC = """\
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
      objective: 99.5
      window: 30d
      sli:
        ratio:
          errors: http_requests_total{code="500"}
          total: http_requests_total
    - name: routes
      objective: 99.5
      window: 30d
      groupBy: [route]
      sli:
        events:
          errorQuery: sum by (route) (rate(http_requests_total{code="500"}[{{window}}]))
          totalQuery: sum by (route) (rate(http_requests_total[{{window}}]))
      budgetPolicy:
        warnBelow: 50
    - name: weekly
      objective: 99
      window:
        calendar: week
        timeZone: Europe/Berlin
      sli:
        ratio:
          good: http_requests_total{code="200"}
          total: http_requests_total
    - name: legacy
      objective: 99.5
      window: 30d
      sli:
        ratio:
          errors: legacy_requests_total{code="500"}
          total: legacy_requests_total
    - name: legacy-weekly
      objective: 99
      window:
        calendar: week
        timeZone: Asia/Tokyo
      sli:
        ratio:
          errors: legacy_requests_total{code="500"}
          total: legacy_requests_total
"""
RULE_INTERVAL = "10s"
BUDGET = 0.005


@dataclass
class World:
    prometheus: Prometheus
    traffic: Traffic
    slos: dict[str, SLO]
    workdir: Path


def _labels(slo: SLO) -> str:
    return ",".join(f'{k}="{v}"' for k, v in slo.rule_labels.items())


def _wait_for(prom: Prometheus, expr: str, count: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(prom.query(expr)) >= count:
            return
        time.sleep(1)
    raise AssertionError(f"{expr} did not reach {count} series within {timeout}s")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    workdir = tmp_path_factory.mktemp("budgets")
    traffic = make_traffic(int(time.time()) - 60)
    specs = write(workdir / "specs" / "shop.yaml", SPEC)
    slos = {slo.id: slo for slo in load_specs([specs]).slos}
    lines = traffic.openmetrics("http_requests")
    lines += traffic.base_rates(_labels(slos["shop-legacy"]))
    lines += traffic.base_rates(_labels(slos["shop-legacy-weekly"]))
    data = workdir / "prometheus-data"
    backfill("\n".join(lines) + "\n# EOF\n", data, workdir)
    rule_file = compile_service("shop", list(slos.values()), [str(specs)])
    rule_file = dataclasses.replace(
        rule_file,
        groups=tuple(dataclasses.replace(g, interval=RULE_INTERVAL) for g in rule_file.groups),
    )
    rules = write(workdir / "shop.rules.yml", render_rule_file(rule_file))
    config = prometheus_config([rules], evaluation_interval=RULE_INTERVAL)
    with run_prometheus(workdir, config, data_dir=data) as prom:
        _wait_for(prom, "slo:sli_error:ratio_rate6h", 4)  # 1 + 2 routes + weekly
        _wait_for(prom, 'slo:sli_error:ratio_rate30d{slo="shop-legacy"}', 1)
        _wait_for(prom, 'slo:sli_error:ratio_rate7d{slo="shop-legacy-weekly"}', 1)
        # The server queries at whole seconds: let a second evaluation pass, so its query
        # time is never just before the first samples.
        time.sleep(2 * int(RULE_INTERVAL.removesuffix("s")))
        yield World(prom, traffic, slos, workdir)


def make_client(world: World, tmp_path: Path, **settings: object) -> TestClient:
    app = create_app(
        Settings(
            prometheus_url=world.prometheus.url,
            database_url=f"sqlite:///{tmp_path / 'server.db'}",
            specs_dir=world.workdir / "specs",
            **settings,  # type: ignore[arg-type]
        ),
        metrics_registry=CollectorRegistry(),
        start_scheduler=False,
    )
    return TestClient(app)


def _ratio_in(value: float, bounds: tuple[float, float], what: str) -> None:
    low, high = bounds
    assert low - 1e-12 <= value <= high + 1e-12, f"{what}: {value} not in [{low}, {high}]"


def _eval_time(world: World, series: str, slo_id: str, at: float) -> float:
    result = world.prometheus.query(f'timestamp({series}{{slo="{slo_id}"}})', at=at)
    return min(float(r["value"][1]) for r in result)


def test_true_30_day_budget_with_rules_loaded_just_now(world: World, tmp_path: Path):
    with make_client(world, tmp_path) as client:
        assert client.app.state.context.refresher.refresh()  # type: ignore[attr-defined]
        slo = client.get("/api/v1/slos/shop-availability").json()
    t = datetime.fromisoformat(slo["updated_at"]).timestamp()
    traffic = world.traffic
    assert slo["computed_from"] == "raw", "30 days of raw data but seconds of recorded history"
    bounds = traffic.ratio_bounds(t - 30 * 86400, t)
    _ratio_in(1 - slo["sli"], bounds, "30d error ratio")
    expected_remaining = [1 - r / BUDGET for r in bounds]
    assert min(expected_remaining) - 1e-9 <= slo["error_budget"]["remaining"]
    assert slo["error_budget"]["remaining"] <= max(expected_remaining) + 1e-9
    assert slo["error_budget"]["consumed"] == pytest.approx(1 - slo["error_budget"]["remaining"])
    assert slo["objective"] == 0.995
    assert slo["window"] == "30d"
    # 0.38 % errors against a 0.5 % budget: about a fifth of the budget left.
    assert slo["status"] == "warning"
    assert slo["stale"] is False

    # Burn rates: short windows come from the rules (evaluated at their own time),
    # 1d and 3d from raw series at the refresh time.
    assert {"1h", "6h", "1d", "3d"} <= slo["burn_rates"].keys()
    for window, seconds in (("1h", 3600), ("6h", 6 * 3600)):
        evaluated = _eval_time(world, f"slo:sli_error:ratio_rate{window}", "shop-availability", t)
        low, high = traffic.ratio_bounds(evaluated - seconds, evaluated)
        _ratio_in(slo["burn_rates"][window] * BUDGET, (low, high), f"{window} burn")
    for window, seconds in (("1d", 86400), ("3d", 3 * 86400)):
        bounds = traffic.ratio_bounds(t - seconds, t)
        _ratio_in(slo["burn_rates"][window] * BUDGET, bounds, f"{window} burn")
    if slo["burn_rates"]["1h"] > 0:
        expected = slo["error_budget"]["remaining"] * 30 * 86400 / slo["burn_rates"]["1h"]
        assert slo["time_to_exhaustion_seconds"] == pytest.approx(expected)


def test_group_by_route_summarised_by_the_worst_route(world: World, tmp_path: Path):
    with make_client(world, tmp_path) as client:
        client.app.state.context.refresher.refresh()  # type: ignore[attr-defined]
        slo = client.get("/api/v1/slos/shop-routes").json()
    t = datetime.fromisoformat(slo["updated_at"]).timestamp()
    groups = {g["labels"]["route"]: g for g in slo["groups"]}
    assert set(groups) == {"/a", "/b"}
    for route, group in groups.items():
        bounds = world.traffic.ratio_bounds(t - 30 * 86400, t, {route})
        _ratio_in(1 - group["sli"], bounds, f"route {route}")
    assert groups["/a"]["status"] == "ok"
    assert groups["/b"]["status"] == "exhausted"
    assert groups["/b"]["error_budget"]["remaining"] < 0, "route /b overspent its budget"
    # The SLO is met only when every route meets it: the top level is route /b.
    assert slo["sli"] == groups["/b"]["sli"]
    assert slo["error_budget"]["remaining"] == groups["/b"]["error_budget"]["remaining"]
    assert slo["status"] == "exhausted"
    assert slo["burn_rates"]["1d"] == max(g["burn_rates"]["1d"] for g in groups.values())


def test_calendar_week_budget_is_the_week_so_far(world: World, tmp_path: Path):
    with make_client(world, tmp_path) as client:
        client.app.state.context.refresher.refresh()  # type: ignore[attr-defined]
        slo = client.get("/api/v1/slos/shop-weekly").json()
    taken = datetime.fromisoformat(slo["updated_at"])
    period = period_of(world.slos["shop-weekly"].window, taken)
    assert period is not None
    assert datetime.fromisoformat(slo["period"]["start"]) == period.start
    assert period.start.weekday() == 0
    assert period.start.utcoffset() is not None
    assert slo["window"] == "week"
    assert slo["time_zone"] == "Europe/Berlin"
    bounds = world.traffic.ratio_bounds(period.start.timestamp(), taken.timestamp())
    _ratio_in(1 - slo["sli"], bounds, "week-so-far error ratio")
    remaining = slo["error_budget"]["remaining"]
    assert remaining == pytest.approx(1 - (1 - slo["sli"]) / 0.01)


def test_recorded_history_is_used_when_it_covers_the_window(world: World, tmp_path: Path):
    with make_client(world, tmp_path) as client:
        client.app.state.context.refresher.refresh()  # type: ignore[attr-defined]
        slo = client.get("/api/v1/slos/shop-legacy").json()
    assert slo["computed_from"] == "recorded"
    evaluated = _eval_time(
        world,
        "slo:sli_error:ratio_rate30d",
        "shop-legacy",
        datetime.fromisoformat(slo["updated_at"]).timestamp(),
    )
    # Chained from 5-minute recorded counts, as the calendar test below: an edge can move
    # by more than one 5-minute step (one CI run missed slack=5 by 0.004 %).
    bounds = world.traffic.ratio_bounds(evaluated - 30 * 86400, evaluated, slack=10)
    _ratio_in(1 - slo["sli"], bounds, "chained 30d error ratio")
    bounds_1d = world.traffic.ratio_bounds(evaluated - 86400, evaluated, slack=10)
    _ratio_in(slo["burn_rates"]["1d"] * BUDGET, bounds_1d, "chained 1d burn")


def test_recorded_calendar_period(world: World, tmp_path: Path):
    with make_client(world, tmp_path) as client:
        client.app.state.context.refresher.refresh()  # type: ignore[attr-defined]
        slo = client.get("/api/v1/slos/shop-legacy-weekly").json()
    taken = datetime.fromisoformat(slo["updated_at"])
    period = period_of(world.slos["shop-legacy-weekly"].window, taken)
    assert period is not None
    assert slo["computed_from"] == "recorded"
    assert datetime.fromisoformat(slo["period"]["start"]) == period.start
    # The recorded path sums 5-minute counts: backfilled ones every 5 minutes, and the
    # rules' own every 10 s since Prometheus started (RULE_INTERVAL), so each edge can
    # move by more than one 5-minute step (one CI run missed slack=5 by 0.02 %).
    bounds = world.traffic.ratio_bounds(period.start.timestamp(), taken.timestamp(), slack=10)
    _ratio_in(1 - slo["sli"], bounds, "recorded week-so-far error ratio")


def test_refresh_query_count_does_not_grow_with_slos(world: World):
    """Five SLOs (one of each shape) and 50 take the same queries: none is per SLO.
    (bench/server.py shows the same for 1,000 SLOs.)"""
    kinds = list(world.slos.values())
    copies = [slo.model_copy(update={"service": f"shop{i}"}) for i in range(9) for slo in kinds]
    many = kinds + copies
    counts = {}
    for label, slos in (("five", kinds), ("fifty", many)):
        engine = Engine(PrometheusClient(world.prometheus.url))
        result = engine.refresh(slos, datetime.now(UTC))
        counts[label] = result.queries
        assert set(result.budgets) == {s.id for s in slos}
        # Raw windows cached, coverage known: the next refresh reads only the ratios and
        # the recorded calendar periods.
        assert engine.refresh(slos, datetime.now(UTC)).queries == 2
    # Coverage, recorded ratios, raw windows, recorded calendar periods.
    assert counts["five"] == counts["fifty"] == 4


def _wait(condition, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached within {timeout}s")


def test_prometheus_down_serves_stale_values_then_recovers_on_its_own(world: World, tmp_path: Path):
    """Runs last in the module: it stops and restarts the module's Prometheus."""
    prom = world.prometheus
    with make_client(world, tmp_path, refresh_interval=1, stale_after=30) as client:
        client.app.state.context.refresher.start()  # type: ignore[attr-defined]
        fresh = _wait(
            lambda: (r := client.get("/api/v1/slos/shop-availability").json())["sli"] and r,
            what="first refresh",
        )
        assert fresh["stale"] is False
        assert client.get("/readyz").status_code == 200

        prom.stop()
        stale = _wait(
            lambda: (r := client.get("/api/v1/slos/shop-availability").json())["stale"] and r,
            what="stale values",
        )
        # The last known numbers, with the time they were taken.
        assert stale["sli"] is not None
        assert stale["updated_at"] is not None
        assert abs(stale["sli"] - fresh["sli"]) < 1e-4
        ready = client.get("/readyz")
        assert ready.status_code == 503
        check = ready.json()["checks"]["prometheus"]
        assert check["ok"] is False
        assert "stale" in check["message"]
        listed = client.get("/api/v1/slos").json()
        assert all(item["stale"] for item in listed["data"])
        metrics = client.get("/metrics").text
        errors = [
            line
            for line in metrics.splitlines()
            if line.startswith("sloctl_server_prometheus_query_errors_total ")
        ]
        assert errors
        assert float(errors[0].split()[1]) >= 1

        prom.start()
        prom.wait_ready("/-/ready", timeout=60)
        recovered = _wait(
            lambda: not (r := client.get("/api/v1/slos/shop-availability").json())["stale"] and r,
            timeout=60,
            what="recovery",
        )
        assert recovered["updated_at"] > stale["updated_at"]
        assert client.get("/readyz").status_code == 200
