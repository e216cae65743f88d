"""Jaeger, Elasticsearch and exemplar doubles with traces and logs of the orders service,
and an app wired to them: shared by the evidence API and web tests (via conftest.py)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from server.app import create_app
from server.errors import EvidenceBackendError
from server.evidence import backends_from_settings
from server.evidence.model import Exemplar
from server.settings import Settings
from tests.helpers import write
from tests.support.clock import NOW, FakeClock
from tests.support.elasticsearch_double import ElasticsearchDouble
from tests.support.http_double import serve
from tests.support.jaeger_double import JaegerDouble, fake_trace
from tests.support.server import PrometheusDouble

FAILED = "0af7651916cd43dd8448eb211c80319c"
SLOW = "4bf92f3577b34da6a3ce929d0e0e4736"
FAST = "1111111111111111aaaaaaaaaaaaaaaa"
EXEMPLAR = "5b8efff798038103d269b633813fc60c"
BILLING = "9999999999999999bbbbbbbbbbbbbbbb"

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
      evidence:
        jaeger: {service: orders, operation: GET /orders}
    - name: probe
      objective: 99
      sli:
        boolGauge:
          metric: probe_success{job="orders"}
---
apiVersion: sloctl.dev/v1
kind: ServiceSLOs
metadata:
  name: billing
spec:
  slos:
    - name: availability
      objective: 99.9
      sli:
        ratio:
          errors: http_requests_total{service="billing",code=~"5.."}
          total: http_requests_total{service="billing"}
"""


@dataclass
class ExemplarsDouble:
    """An in-process ExemplarSource: fixed exemplars, recorded queries, optional delay."""

    exemplars: list[Exemplar] = field(default_factory=list)
    queries: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    delay: float = 0.0
    fail: bool = False

    def query_exemplars(self, query: str, start: datetime, end: datetime) -> list[Exemplar]:
        self.queries.append((query, start, end))
        if self.delay:
            time.sleep(self.delay)
        if self.fail:
            raise EvidenceBackendError("prometheus", "http://double", "HTTP 503: overloaded")
        return [
            e
            for e in self.exemplars
            if start <= e.timestamp <= end and query.startswith(e.series["__name__"] + "{")
        ]


def exemplar(trace_id: str, value: float, minutes_ago: float, le: str) -> Exemplar:
    return Exemplar(
        trace_id=trace_id,
        span_id=None,
        value=value,
        timestamp=NOW - timedelta(minutes=minutes_ago),
        series={"__name__": "http_request_duration_seconds_bucket", "service": "orders", "le": le},
    )


def ecs_log(minutes_ago: float, level: str, message: str, trace: str | None, service="orders"):
    doc: dict[str, Any] = {
        "@timestamp": (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z"),
        "log": {"level": level},
        "message": message,
        "service": {"name": service},
    }
    if trace:
        doc["trace"] = {"id": trace}
    return doc


@pytest.fixture
def jaeger() -> Iterator[JaegerDouble]:
    double = JaegerDouble()
    double.add(
        fake_trace(
            FAILED,
            "orders",
            "GET /orders",
            NOW - timedelta(minutes=10),
            0.05,
            error=True,
            status=500,
            db_error=True,
        )
    )
    double.add(fake_trace(SLOW, "orders", "GET /orders", NOW - timedelta(minutes=20), 1.2))
    double.add(fake_trace(FAST, "orders", "GET /orders", NOW - timedelta(minutes=5), 0.01))
    double.add(fake_trace(EXEMPLAR, "orders", "GET /orders/{id}", NOW - timedelta(minutes=30), 0.8))
    double.add(
        fake_trace(
            BILLING,
            "billing-api",
            "POST /charge",
            NOW - timedelta(minutes=15),
            0.2,
            error=True,
            status=503,
        )
    )
    with serve(double):
        yield double


@pytest.fixture
def es() -> Iterator[ElasticsearchDouble]:
    double = ElasticsearchDouble()
    double.add(
        "logs-orders-2026.11.24",
        ecs_log(10, "error", "insert failed: deadlock detected", FAILED),
        ecs_log(20, "warn", "slow query: 1150 ms", SLOW),
        ecs_log(30, "info", "order 42 read", EXEMPLAR),
        ecs_log(2, "error", "pool exhausted", None),
        ecs_log(90, "error", "outside the window", None),
    )
    with serve(double):
        yield double


@pytest.fixture
def exemplars() -> ExemplarsDouble:
    return ExemplarsDouble(
        [
            exemplar(EXEMPLAR, 0.8, 30, "1.0"),
            exemplar(SLOW, 1.2, 20, "2.5"),
            exemplar(FAST, 0.01, 5, "0.05"),  # fast: not a bad request
            exemplar("77777777777777777777777777777777", 0.9, 75, "1.0"),  # outside the window
        ]
    )


def make_settings(tmp_path: Path, **values: Any) -> Settings:
    specs = tmp_path / "specs"
    write(specs / "slos.yaml", SPECS)
    base: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'server.db'}",
        "specs_dir": specs,
        "prometheus_url": "http://prometheus.invalid:9090",
        "elasticsearch_index": "logs-orders-*",
        "kibana_url": "http://kibana.example:5601",
        "evidence_defaults": {"billing": {"jaeger": {"service": "billing-api"}}},
    }
    base.update(values)
    return Settings(**base)


def evidence_app(settings: Settings, exemplars: ExemplarsDouble) -> FastAPI:
    """The server app on a fixed clock, with the exemplar double and the settings' backends."""
    backends = dataclasses.replace(backends_from_settings(settings), exemplars=exemplars)
    return create_app(
        settings,
        prometheus=PrometheusDouble(),
        clock=FakeClock(NOW),
        metrics_registry=CollectorRegistry(),
        start_scheduler=False,
        evidence_backends=backends,
    )


@pytest.fixture
def make_client(tmp_path: Path, jaeger, es, exemplars):
    made: list[TestClient] = []

    def make(**values: Any) -> TestClient:
        settings = make_settings(
            tmp_path, jaeger_url=jaeger.url, elasticsearch_url=es.url, **values
        )
        app = evidence_app(settings, exemplars)
        client = TestClient(app)
        client.__enter__()
        made.append(client)
        return client

    yield make
    for client in made:
        client.__exit__(None, None, None)
