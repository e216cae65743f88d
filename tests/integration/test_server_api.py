"""The server's HTTP API with a real database and a Prometheus double.

The double answers the engine's queries in Prometheus's shape and records
them, so these tests pin the API contract (apply, auth, filters, errors,
history), the query count and the metrics; the numbers themselves are
checked against a real Prometheus in test_server_budgets.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from server.alerts import FIRING_QUERY
from server.app import create_app
from server.budget import queries
from server.prometheus import Sample
from server.settings import Settings
from sloctl.spec.models import SLO
from tests.helpers import (
    CliResult,
    app_handed_to_uvicorn,
    assert_only_the_served_app_freezes,
    scrub_env,
    write,
)
from tests.support.clock import NOW, FakeClock
from tests.support.databases import database
from tests.support.server import PrometheusDouble

pytestmark = pytest.mark.integration

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def spec(service: str, name: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "service": service,
        "name": name,
        "team": "shop" if service != "billing" else "money",
        "objective": 99.9,
        "window": "30d",
        "sli": {"ratio": {"errors": 'req_total{code="500"}', "total": "req_total"}},
        "labels": {"tier": "1" if service == "orders" else "2"},
    }
    data.update(extra)
    return SLO.model_validate(data).model_dump(mode="json", by_alias=True)


class Answers:
    """Error ratios per SLO id for the double to serve; covered SLOs use recorded series."""

    def __init__(self) -> None:
        self.ratios: dict[str, float] = {}
        self.groups: dict[str, dict[str, float]] = {}
        self.covered: set[str] = set()

    def __call__(self, expr: str, at: datetime) -> list[Sample]:
        ts = at.timestamp()
        if "last_over_time(slo:sli_total_events:increase5m" in expr:  # coverage
            offsets = re.findall(r'"sloctl_window", "([^"]+)"', expr)
            return [
                Sample({"slo": i, queries.WINDOW_LABEL: w}, 1.0, ts)
                for i in sorted(self.covered)
                for w in offsets
            ]
        if expr == queries.RECORDED_RATIOS:
            out = []
            for slo_id, ratio in self.ratios.items():
                for window in ("5m", "1h", "6h", "1d", "3d", "30d", "7d"):
                    labels = {"__name__": f"slo:sli_error:ratio_rate{window}", "slo": slo_id}
                    out.append(Sample(labels, ratio, ts))
            for slo_id, by_route in self.groups.items():
                for route, ratio in by_route.items():
                    for window in ("1h", "30d"):
                        labels = {
                            "__name__": f"slo:sli_error:ratio_rate{window}",
                            "slo": slo_id,
                            "route": route,
                        }
                        out.append(Sample(labels, ratio, ts))
            return out
        labelled = re.findall(r'"slo", "([^"]+)", "", ""\), "sloctl_window", "([^"]+)"', expr)
        if labelled:  # the combined raw query: answer as if from raw series
            return [
                Sample({"slo": i, queries.WINDOW_LABEL: k}, self.ratios[i], ts)
                for i, k in labelled
                if i in self.ratios
            ]
        if "sloctl_window" in expr:  # calendar periods from recorded series
            ids = re.findall(r'slo=~"([^"]+)"', expr)[0].replace("\\", "").split("|")
            return [
                Sample({"slo": i, queries.WINDOW_LABEL: "period"}, self.ratios[i], ts)
                for i in ids
                if i in self.ratios
            ]
        if expr == FIRING_QUERY:  # firing alerts: none
            return []
        raise AssertionError(f"unexpected query: {expr}")


@pytest.fixture
def answers() -> Answers:
    return Answers()


@pytest.fixture
def double(answers: Answers) -> PrometheusDouble:
    return PrometheusDouble(answer=answers)


def make_app(tmp_path: Path, double: PrometheusDouble, clock: FakeClock, **settings: Any):
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'server.db'}",
        "api_token": TOKEN,
        "prometheus_url": "http://prometheus.invalid:9090",
    }
    values.update(settings)
    return create_app(
        Settings(**values),
        prometheus=double,
        clock=clock,
        metrics_registry=CollectorRegistry(),
        start_scheduler=False,
    )


@pytest.fixture
def client(tmp_path: Path, double: PrometheusDouble, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(make_app(tmp_path, double, clock)) as test_client:
        yield test_client


def refresh(client: TestClient) -> bool:
    return bool(client.app.state.context.refresher.refresh())  # type: ignore[attr-defined]


# ------------------------------------------------------------------- apply


def test_apply_is_declarative_and_reports_changes(client: TestClient):
    body = {"slos": [spec("orders", "availability"), spec("orders", "latency")]}
    first = client.put("/api/v1/slos", json=body, headers=AUTH)
    assert first.status_code == 200, first.text
    result = first.json()
    assert result["created"] == ["orders-availability", "orders-latency"]
    assert result["count"] == 2
    assert [d["id"] for d in result["data"]] == result["created"]
    assert result["updated"] == result["unchanged"] == result["removed"] == []

    changed = {"slos": [spec("orders", "availability", objective=99.5)]}
    second = client.put("/api/v1/slos", json=changed, headers=AUTH).json()
    assert second["updated"] == ["orders-availability"]
    assert second["removed"] == ["orders-latency"]
    assert second["count"] == 1
    assert second["data"][0]["objective"] == 0.995
    assert second["data"][0]["version"] == 2

    again = client.put("/api/v1/slos", json=changed, headers=AUTH).json()
    assert again["unchanged"] == ["orders-availability"]
    assert client.get("/api/v1/slos/orders-latency").status_code == 404
    versions = client.get("/api/v1/slos/orders-availability/versions").json()
    assert [(v["version"], v["spec"]["objective"]) for v in versions["data"]] == [
        (1, 99.9),
        (2, 99.5),
    ]
    assert versions["data"][0]["origin"] == "api"
    # A retired SLO keeps its versions.
    assert client.get("/api/v1/slos/orders-latency/versions").json()["count"] == 1
    assert client.get("/api/v1/slos/orders-never/versions").status_code == 404


def test_apply_needs_the_bearer_token(client: TestClient):
    body = {"slos": [spec("orders", "availability")]}
    missing = client.put("/api/v1/slos", json=body)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = client.put("/api/v1/slos", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    basic = client.put("/api/v1/slos", json=body, headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401
    assert client.get("/api/v1/slos").json()["count"] == 0, "nothing was written"


def test_without_a_token_configured_writes_are_refused(
    tmp_path: Path, double: PrometheusDouble, clock: FakeClock
):
    app = make_app(tmp_path, double, clock, api_token=None)
    with TestClient(app) as client:
        refused = client.put("/api/v1/slos", json={"slos": [spec("orders", "a")]}, headers=AUTH)
        assert refused.status_code == 403
        error = refused.json()["error"]
        assert error["code"] == "writes_disabled"
        assert "SLOCTL_SERVER_API_TOKEN" in error["message"]
        assert client.get("/api/v1/slos").json()["count"] == 0


def test_invalid_body_names_the_field(client: TestClient):
    bad = spec("orders", "availability")
    bad["objective"] = 120
    response = client.put("/api/v1/slos", json={"slos": [spec("orders", "x"), bad]}, headers=AUTH)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["details"][0]["field"] == "slos[1].objective"
    assert "objective is a percentage" in error["details"][0]["message"]
    assert client.get("/api/v1/slos").json()["count"] == 0

    dup = {"slos": [spec("orders", "a"), spec("orders", "b"), spec("orders", "a")]}
    response = client.put("/api/v1/slos", json=dup, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"field": "slos[2].name", "message": "SLO id 'orders-a' is already given at slos[0]"}
    ]
    missing = client.put("/api/v1/slos", json={"items": []}, headers=AUTH)
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["field"] == "slos"


# ------------------------------------------------------------------- reads


def test_numbers_status_and_filters(client: TestClient, answers: Answers):
    slos = [
        spec("orders", "availability"),
        spec("orders", "latency", budgetPolicy={"warnBelow": 50, "freezeAt": 10}),
        spec("billing", "availability"),
        spec("billing", "fresh"),
    ]
    assert client.put("/api/v1/slos", json={"slos": slos}, headers=AUTH).status_code == 200
    answers.ratios = {
        "orders-availability": 0.0002,  # 80 % of the budget left: ok
        "orders-latency": 0.00055,  # 45 % left: warning below 50 %
        "billing-availability": 0.0015,  # overspent
    }
    answers.covered = {"orders-availability", "orders-latency", "billing-availability"}
    assert refresh(client)
    data = {d["id"]: d for d in client.get("/api/v1/slos").json()["data"]}
    ok = data["orders-availability"]
    assert ok["sli"] == pytest.approx(0.9998)
    assert ok["error_budget"] == pytest.approx({"total": 1.0, "consumed": 0.2, "remaining": 0.8})
    assert ok["burn_rates"]["1h"] == pytest.approx(0.2)
    assert ok["time_to_exhaustion_seconds"] == pytest.approx(0.8 * 30 * 86400 / 0.2)
    assert ok["status"] == "ok"
    assert ok["stale"] is False
    assert ok["updated_at"] == NOW.isoformat().replace("+00:00", "Z")
    assert ok["computed_from"] == "recorded"
    assert data["orders-latency"]["status"] == "warning"
    assert data["billing-availability"]["error_budget"]["remaining"] == pytest.approx(-0.5)
    assert data["billing-availability"]["status"] == "exhausted"
    # No recorded history and no raw data: no numbers, never NaN.
    assert data["billing-fresh"]["status"] == "unknown"
    assert data["billing-fresh"]["sli"] is None

    def ids(**params: Any) -> list[str]:
        response = client.get("/api/v1/slos", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["count"] == len(body["data"])
        return [d["id"] for d in body["data"]]

    assert ids(service="orders") == ["orders-availability", "orders-latency"]
    assert ids(team="money") == ["billing-availability", "billing-fresh"]
    assert ids(status="exhausted") == ["billing-availability"]
    assert ids(label="tier=1") == ["orders-availability", "orders-latency"]
    assert ids(label=["tier=2", "team=money"], status="unknown") == ["billing-fresh"]
    bad = client.get("/api/v1/slos", params={"label": "tier"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "label"
    bad_status = client.get("/api/v1/slos", params={"status": "great"})
    assert bad_status.status_code == 422
    assert bad_status.json()["error"]["details"][0]["field"] == "status"


def test_group_by_top_level_is_the_worst_group(client: TestClient, answers: Answers):
    routes = spec("orders", "routes", groupBy=["route"])
    client.put("/api/v1/slos", json={"slos": [routes]}, headers=AUTH)
    answers.groups = {"orders-routes": {"/a": 0.0001, "/b": 0.0009}}
    answers.covered = {"orders-routes"}
    refresh(client)
    slo = client.get("/api/v1/slos/orders-routes").json()
    assert [g["labels"] for g in slo["groups"]] == [{"route": "/a"}, {"route": "/b"}]
    assert slo["sli"] == pytest.approx(0.9991)
    assert slo["error_budget"]["remaining"] == pytest.approx(0.1)
    assert slo["status"] == "warning"
    assert slo["burn_rates"]["1h"] == pytest.approx(0.9)


def test_unknown_slo_and_route_keep_the_error_shape(client: TestClient):
    response = client.get("/api/v1/slos/nope-nothing")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "not_found",
            "message": "no SLO with id 'nope-nothing' is registered",
            "details": [],
        }
    }
    assert client.get("/api/v2/else").json()["error"]["code"] == "not_found"
    assert client.delete("/api/v1/slos").json()["error"]["code"] == "method_not_allowed"


def test_openapi_describes_the_api(client: TestClient):
    schema = client.get("/openapi.json").json()
    assert {"/api/v1/slos", "/api/v1/slos/{slo_id}", "/api/v1/slos/{slo_id}/history"} <= set(
        schema["paths"]
    )
    assert "put" in schema["paths"]["/api/v1/slos"]


# -------------------------------------------------------- refresh and cost


def test_refresh_query_count_is_constant(
    tmp_path: Path, double: PrometheusDouble, clock: FakeClock, answers: Answers
):
    """Every shape (covered, uncovered, calendar covered, calendar uncovered) in one SLO
    each, then 100 of each: the same five queries per refresh (four for the budgets, one
    for the firing alerts)."""

    def shapes(prefix: str) -> list[dict[str, Any]]:
        return [
            spec(prefix, "covered"),
            spec(prefix, "fresh"),
            spec(prefix, "month-covered", window="month"),
            spec(prefix, "week-fresh", window={"calendar": "week", "timeZone": "Asia/Tokyo"}),
        ]

    counts = []
    for n in (1, 100):
        double.queries.clear()
        slos = [s for i in range(n) for s in shapes(f"svc{i}")]
        answers.ratios = {
            f"svc{i}-{name}": 0.0001
            for i in range(n)
            for name in ("covered", "fresh", "month-covered", "week-fresh")
        }
        answers.covered = {f"svc{i}-{c}" for i in range(n) for c in ("covered", "month-covered")}
        app = make_app(tmp_path / str(n), double, clock)
        with TestClient(app) as client:
            client.put("/api/v1/slos", json={"slos": slos}, headers=AUTH)
            assert refresh(client)
            counts.append(len(double.queries))
            body = client.get("/api/v1/slos").json()
            assert body["count"] == 4 * n
            by_id = {d["id"]: d for d in body["data"]}
            assert by_id["svc0-fresh"]["computed_from"] == "raw"
            assert by_id["svc0-covered"]["computed_from"] == "recorded"
            assert by_id["svc0-month-covered"]["period"] is not None
            assert by_id["svc0-month-covered"]["sli"] == pytest.approx(0.9999)
            assert by_id["svc0-week-fresh"]["computed_from"] == "raw"
    assert counts == [5, 5]


def test_history_and_series_from_snapshots(
    tmp_path: Path, double: PrometheusDouble, clock: FakeClock, answers: Answers
):
    app = make_app(tmp_path, double, clock, history_interval=300)
    with TestClient(app) as client:
        client.put("/api/v1/slos", json={"slos": [spec("orders", "a")]}, headers=AUTH)
        answers.covered = {"orders-a"}
        for minute in range(0, 60, 1):
            clock.now = NOW + timedelta(minutes=minute)
            answers.ratios = {"orders-a": 0.0001 * (1 + minute // 10)}
            refresh(client)
        history = client.get("/api/v1/slos/orders-a/history", params={"since": "2h"}).json()
        # One snapshot every history_interval (5 min), not one per refresh.
        assert history["count"] == 12
        times = [datetime.fromisoformat(h["taken_at"]) for h in history["data"]]
        assert times == [NOW + timedelta(minutes=5 * i) for i in range(12)]
        assert history["data"][-1]["burn_rates"]["1h"] == pytest.approx(0.6)
        assert history["data"][0]["error_budget"]["remaining"] == pytest.approx(0.9)
        since = (NOW + timedelta(minutes=30)).isoformat()
        later = client.get("/api/v1/slos/orders-a/history", params={"since": since}).json()
        assert later["count"] == 6
        series = client.get("/api/v1/slos/orders-a/series", params={"range": "1h"}).json()
        assert series["step"] == "5m"
        assert series["range"] == "1h"
        assert [p["burn_rates"]["1h"] for p in series["data"]] == pytest.approx(
            [0.1 * (1 + (5 * i) // 10) for i in range(12)]
        )
        bad = client.get("/api/v1/slos/orders-a/history", params={"since": "yesterday"})
        assert bad.status_code == 422
        assert bad.json()["error"]["details"][0]["field"] == "since"
        assert client.get("/api/v1/slos/nope-x/series").status_code == 404


def test_failed_refresh_serves_last_values_as_stale(
    client: TestClient, answers: Answers, double: PrometheusDouble, clock: FakeClock
):
    client.put("/api/v1/slos", json={"slos": [spec("orders", "a")]}, headers=AUTH)
    answers.ratios = {"orders-a": 0.0005}
    answers.covered = {"orders-a"}
    assert refresh(client)
    assert client.get("/readyz").status_code == 200
    double.down = True
    clock.now = NOW + timedelta(minutes=1)
    assert not refresh(client)
    slo = client.get("/api/v1/slos/orders-a").json()
    assert slo["stale"] is True
    assert slo["sli"] == pytest.approx(0.9995)
    assert slo["updated_at"] == NOW.isoformat().replace("+00:00", "Z")
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "connection refused" in ready.json()["checks"]["prometheus"]["message"]
    double.down = False
    clock.now = NOW + timedelta(minutes=2)
    assert refresh(client)
    assert client.get("/api/v1/slos/orders-a").json()["stale"] is False


def test_values_too_old_are_stale(client: TestClient, answers: Answers, clock: FakeClock):
    client.put("/api/v1/slos", json={"slos": [spec("orders", "a")]}, headers=AUTH)
    answers.covered = {"orders-a"}
    refresh(client)
    clock.now = NOW + timedelta(seconds=89)  # 3 refresh intervals of 30 s
    assert client.get("/api/v1/slos/orders-a").json()["stale"] is False
    clock.now = NOW + timedelta(seconds=91)
    assert client.get("/api/v1/slos/orders-a").json()["stale"] is True
    assert client.get("/readyz").status_code == 503


# ------------------------------------------------- metrics, tracing, start


def test_metrics_on_a_fresh_registry_per_app(client: TestClient, answers: Answers):
    client.put(
        "/api/v1/slos", json={"slos": [spec("orders", "a"), spec("orders", "b")]}, headers=AUTH
    )
    answers.covered = {"orders-a", "orders-b"}
    refresh(client)
    text = client.get("/metrics").text
    values = dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert values["sloctl_server_slos"] == "2.0"
    assert values["sloctl_server_refresh_duration_seconds_count"] == "1.0"
    assert values["sloctl_server_prometheus_queries_total"] == "3.0"
    assert values["sloctl_server_prometheus_query_errors_total"] == "0.0"


def test_requests_are_traced(tmp_path: Path, double: PrometheusDouble, clock: FakeClock):
    exporter = InMemorySpanExporter()
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 's.db'}"),
        prometheus=double,
        clock=clock,
        metrics_registry=CollectorRegistry(),
        span_exporter=exporter,
        start_scheduler=False,
    )
    with TestClient(app) as client:
        client.get("/api/v1/slos")
        client.get("/healthz")
    spans = exporter.get_finished_spans()
    server_spans = [s for s in spans if s.kind.name == "SERVER"]
    assert [s.name for s in server_spans] == ["GET /api/v1/slos"]
    assert server_spans[0].attributes is not None
    assert server_spans[0].resource.attributes["service.name"] == "sloctl-server"


def test_specs_dir_is_loaded_at_start(tmp_path: Path, double: PrometheusDouble, clock: FakeClock):
    write(
        tmp_path / "specs" / "orders.yaml",
        """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: orders
spec:
  slos:
    - name: availability
      objective: 99.9
      sli:
        ratio:
          errors: req_total{code="500"}
          total: req_total
""",
    )
    app = make_app(tmp_path, double, clock, specs_dir=tmp_path / "specs")
    with TestClient(app) as client:
        body = client.get("/api/v1/slos").json()
        assert [d["id"] for d in body["data"]] == ["orders-availability"]
        assert body["data"][0]["source"].endswith("orders.yaml:7")
        assert client.get("/healthz").json() == {"status": "ok"}


def test_the_api_on_postgresql(tmp_path: Path, double: PrometheusDouble, clock: FakeClock):
    with database("postgresql", tmp_path) as (_url, engine):
        app = create_app(
            Settings(api_token=TOKEN),
            prometheus=double,
            clock=clock,
            metrics_registry=CollectorRegistry(),
            database=engine,
            start_scheduler=False,
        )
        with TestClient(app) as client:
            body = {"slos": [spec("orders", "a"), spec("orders", "b")]}
            assert client.put("/api/v1/slos", json=body, headers=AUTH).json()["created"] == [
                "orders-a",
                "orders-b",
            ]
            refresh(client)
            history = client.get("/api/v1/slos/orders-a/history").json()
            assert history["count"] == 1
            assert client.get("/readyz").json()["checks"]["database"]["ok"] is True


def test_serve_freezes_the_start_up_heap(
    cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sloctl serve`` keeps start-up objects out of full collections (gc.freeze).

    A full collection that walks them stalls every request for 100 ms or more
    (bench/webhook_ingest.py); apps built by tests must not freeze, or their
    cycles would never be freed.
    """
    scrub_env(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")

    def serve() -> None:
        result = cli("serve", "--port", "1")
        assert result.code == 0, result.err

    served = app_handed_to_uvicorn(monkeypatch, serve)
    assert_only_the_served_app_freezes(
        served, make_app(tmp_path, PrometheusDouble(), FakeClock(NOW))
    )
