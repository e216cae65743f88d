"""Exemplars end to end: a process exposing OpenMetrics exemplars, a real Prometheus with
exemplar storage scraping it, and the evidence endpoint returning the bad requests' trace ids."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from server.app import create_app
from server.errors import EvidenceBackendError
from server.evidence.exemplars import PrometheusExemplars
from server.settings import Settings
from tests.helpers import ROOT, write
from tests.support.processes import (
    ManagedProcess,
    Prometheus,
    free_port,
    prometheus_config,
    run_prometheus,
)

pytestmark = pytest.mark.integration

FAST = "00000000000000000000000000fa5700"
SLOW = "5b8efff798038103d269b633813fc60c"
SLOWER = "0af7651916cd43dd8448eb211c80319c"
ERROR = "4bf92f3577b34da6a3ce929d0e0e4736"
OK = "11111111111111112222222222222222"
OBSERVATIONS = [
    {"kind": "latency", "seconds": 0.05, "trace_id": FAST},
    {"kind": "latency", "seconds": 0.42, "trace_id": SLOW},
    {"kind": "latency", "seconds": 2.0, "trace_id": SLOWER},
    {"kind": "request", "code": "500", "trace_id": ERROR},
    {"kind": "request", "code": "200", "trace_id": OK},
]
SPECS = """\
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: orders
spec:
  slos:
    - name: latency
      objective: 99
      sli:
        latency:
          metric: http_request_duration_seconds{service="orders"}
          threshold: 0.3
    - name: availability
      objective: 99.9
      sli:
        ratio:
          errors: http_requests_total{service="orders",code=~"5.."}
          total: http_requests_total{service="orders"}
    - name: good-requests
      objective: 99.9
      sli:
        ratio:
          good: http_requests_total{service="orders",code!~"5.."}
          total: http_requests_total{service="orders"}
"""


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    workdir = tmp_path_factory.mktemp("exemplars")
    port = free_port()
    app = ManagedProcess(
        name="exemplar-app",
        args=[
            sys.executable,
            "-m",
            "tests.support.exemplar_app",
            str(port),
            json.dumps(OBSERVATIONS),
        ],
        log=workdir / "app.log",
        url=f"http://127.0.0.1:{port}",
    )
    app.args = ["env", f"PYTHONPATH={ROOT}", *app.args]
    app.start()
    try:
        app.wait_ready("/metrics", timeout=60)
        scrape = {
            "job_name": "orders",
            "scrape_interval": "1s",
            "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
        }
        config = prometheus_config(scrape=[scrape])
        with run_prometheus(
            workdir, config, extra_flags=["--enable-feature=exemplar-storage"]
        ) as prom:
            _wait_for_exemplars(prom.url, {SLOW, SLOWER, ERROR})
            yield prom
    finally:
        app.stop()


def _wait_for_exemplars(url: str, wanted: set[str], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while time.monotonic() < deadline:
        now = time.time()
        response = httpx.get(
            f"{url}/api/v1/query_exemplars",
            params={"query": '{service="orders"}', "start": now - 600, "end": now + 60},
            timeout=10,
        )
        seen = {
            e["labels"].get("trace_id")
            for series in response.json().get("data") or []
            for e in series["exemplars"]
        }
        if wanted <= seen:
            return
        time.sleep(0.5)
    raise AssertionError(f"Prometheus kept no exemplars of {wanted - seen} after {timeout}s")


def test_adapter_reads_exemplars_with_their_series(prometheus):
    now = datetime.now(UTC)
    with httpx.Client() as http:
        source = PrometheusExemplars(prometheus.url, client=http)
        found = source.query_exemplars(
            'http_request_duration_seconds_bucket{service="orders"}',
            now - timedelta(minutes=10),
            now + timedelta(minutes=1),
        )
        long_ago = source.query_exemplars(
            'http_request_duration_seconds_bucket{service="orders"}',
            now - timedelta(days=3),
            now - timedelta(days=2),
        )
    by_trace = {e.trace_id: e for e in found}
    assert set(by_trace) == {FAST, SLOW, SLOWER}
    assert by_trace[SLOW].value == pytest.approx(0.42)
    assert by_trace[SLOW].series["le"] == "0.5"
    assert by_trace[SLOWER].series["__name__"] == "http_request_duration_seconds_bucket"
    assert long_ago == []


def test_adapter_reports_a_bad_query_as_prometheus_error(prometheus):
    now = datetime.now(UTC)
    with httpx.Client() as http:
        source = PrometheusExemplars(prometheus.url, client=http)
        with pytest.raises(EvidenceBackendError) as caught:
            source.query_exemplars("sum(", now - timedelta(minutes=5), now)
    assert caught.value.backend == "prometheus"
    assert "HTTP 400" in caught.value.reason


@pytest.fixture(scope="module")
def client(prometheus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    workdir = tmp_path_factory.mktemp("server")
    write(workdir / "specs" / "orders.yaml", SPECS)
    settings = Settings(
        database_url=f"sqlite:///{workdir / 'server.db'}",
        specs_dir=workdir / "specs",
        prometheus_url=prometheus.url,
    )
    app = create_app(settings, metrics_registry=CollectorRegistry(), start_scheduler=False)
    with TestClient(app) as test_client:
        yield test_client


def _exemplar_ids(client: TestClient, slo_id: str) -> list[str]:
    response = client.get(f"/api/v1/slos/{slo_id}/evidence", params={"from": "30m"})
    assert response.status_code == 200, response.text
    body = response.json()
    (source,) = [s for s in body["sources"] if s["backend"] == "prometheus"]
    assert source["status"] == "ok", source
    return sorted(e["trace_id"] for e in body["exemplars"])


def test_latency_evidence_returns_the_slow_requests_trace_ids(client):
    assert _exemplar_ids(client, "orders-latency") == sorted([SLOW, SLOWER])


def test_error_evidence_returns_the_failed_requests_trace_ids(client):
    assert _exemplar_ids(client, "orders-availability") == [ERROR]


def test_good_selector_evidence_excludes_the_good_series(client):
    assert _exemplar_ids(client, "orders-good-requests") == [ERROR]
