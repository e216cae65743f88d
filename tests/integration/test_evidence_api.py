"""``GET /api/v1/slos/{id}/evidence`` and ``sloctl evidence`` with Jaeger and Elasticsearch doubles.

Jaeger and Elasticsearch are HTTP doubles of their documented APIs (the
adapters' requests are checked in test_evidence_jaeger.py and
test_evidence_elasticsearch.py); exemplars come from an in-process double of
the one-method ``ExemplarSource`` here, and from a real Prometheus in
test_evidence_exemplars.py. Backends that are down, hang or answer garbage
must not stop the endpoint from answering, in time, with what it has.
"""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from server.app import create_app
from tests.support.clock import NOW, FakeClock
from tests.support.evidence_setup import (
    BILLING,
    EXEMPLAR,
    FAILED,
    SLOW,
    evidence_app,
    make_settings,
)
from tests.support.processes import free_port
from tests.support.server import serve_in_thread

pytestmark = pytest.mark.integration


def test_latency_evidence_joins_traces_logs_and_exemplars(make_client, jaeger, es, exemplars):
    client = make_client(jaeger_ui_url="http://jaeger.example:16686")
    response = client.get("/api/v1/slos/orders-latency/evidence")
    assert response.status_code == 200, response.text
    assert response.headers["X-Evidence-Cache"] == "miss"
    body = response.json()

    assert body["start"] == "2026-11-24T11:00:00Z"
    assert body["end"] == "2026-11-24T12:00:00Z"
    assert body["partial"] is False
    assert body["failed"] == []
    assert {(s["backend"], s["call"], s["status"]) for s in body["sources"]} == {
        ("prometheus", "exemplars", "ok"),
        ("jaeger", "failing traces", "ok"),
        ("jaeger", "slow traces", "ok"),
        ("jaeger", "exemplar traces", "ok"),
        ("elasticsearch", "error logs", "ok"),
        ("elasticsearch", "trace logs", "ok"),
    }
    assert body["target"] == {
        "jaeger_service": "orders",
        "jaeger_operation": "GET /orders",
        "elasticsearch_index": "logs-orders-*",
        "elasticsearch_query": None,
        "threshold_seconds": 0.3,
        "exemplar_query": 'http_request_duration_seconds_bucket{service="orders"}',
    }

    # Exemplars: bad ones only (above 0.3 s), one per trace, newest first.
    assert exemplars.queries[0][0] == 'http_request_duration_seconds_bucket{service="orders"}'
    assert [e["trace_id"] for e in body["exemplars"]] == [SLOW, EXEMPLAR]
    assert body["exemplars"][0]["link"] == f"http://jaeger.example:16686/trace/{SLOW}"

    (failing,) = body["failing_traces"]
    assert failing["trace_id"] == FAILED
    assert failing["http_status"] == 500
    assert failing["error_spans"] == 2
    assert failing["found_by"] == ["failing"]
    assert [line["message"] for line in failing["logs"]] == ["insert failed: deadlock detected"]
    assert failing["link"] == f"http://jaeger.example:16686/trace/{FAILED}"
    assert failing["logs_link"].startswith("http://kibana.example:5601/app/discover#/?_g=")
    assert FAILED in failing["logs_link"]

    # Latency SLO: the slow search asks for traces above the threshold only.
    (slow,) = body["slowest_traces"]
    assert slow["trace_id"] == SLOW
    assert slow["found_by"] == ["slow", "exemplar"]
    assert slow["duration_seconds"] == pytest.approx(1.2)
    assert [line["message"] for line in slow["logs"]] == ["slow query: 1150 ms"]
    searches = [r.params for r in jaeger.requests if r.path == "/api/v3/traces"]
    failing_search, slow_search = sorted(searches, key=lambda p: "query.duration_min" in p)
    assert failing_search["query.attributes"] == '{"error": "true"}'
    assert "query.duration_min" not in failing_search
    assert slow_search["query.duration_min"] == "300ms"
    assert "query.attributes" not in slow_search
    assert all(p["query.operation_name"] == "GET /orders" for p in searches)

    # The exemplar's trace (another operation, so no search found it) is fetched by id.
    (by_exemplar,) = body["exemplar_traces"]
    assert by_exemplar["trace_id"] == EXEMPLAR
    assert by_exemplar["operation"] == "GET /orders/{id}"
    assert [line["message"] for line in by_exemplar["logs"]] == ["order 42 read"]
    assert f"/api/v3/traces/{EXEMPLAR}" in jaeger.paths()

    assert body["error_counts"] == [
        {"service": "orders", "operation": "GET /orders", "status": "500", "count": 1},
        {"service": "postgres", "operation": "SELECT orders", "status": "error", "count": 1},
    ]
    logs = body["error_logs"]
    assert logs["total"] == 2
    assert [line["message"] for line in logs["lines"]] == [
        "pool exhausted",
        "insert failed: deadlock detected",
    ]
    assert len(logs["per_minute"]) == 61
    assert sum(m["count"] for m in logs["per_minute"]) == 2
    trace_search = es.searches()[1].json["query"]["bool"]["filter"][1]
    assert trace_search["bool"]["should"][0] == {
        "terms": {"trace.id": sorted([FAILED, SLOW, EXEMPLAR])}
    }
    assert body["links"]["jaeger_search"].startswith("http://jaeger.example:16686/search?")
    assert "service=orders" in body["links"]["jaeger_search"]
    assert body["links"]["logs"].startswith("http://kibana.example:5601/app/discover")
    assert jaeger.problems == []
    assert es.problems == []


def test_reports_are_cached_per_slo_and_rounded_window(make_client, jaeger, es, exemplars):
    client = make_client()
    first = client.get("/api/v1/slos/orders-latency/evidence", params={"from": "2h"})
    seen = (len(jaeger.requests), len(es.requests), len(exemplars.queries))
    again = client.get(
        "/api/v1/slos/orders-latency/evidence",
        params={"from": "2026-11-24T10:00:20Z", "to": "2026-11-24T11:59:40Z"},
    )
    assert again.headers["X-Evidence-Cache"] == "hit"
    assert again.json() == first.json()
    assert (len(jaeger.requests), len(es.requests), len(exemplars.queries)) == seen
    other = client.get("/api/v1/slos/orders-latency/evidence", params={"from": "3h"})
    assert other.headers["X-Evidence-Cache"] == "miss"
    assert len(exemplars.queries) == seen[2] + 1


def test_per_service_defaults_and_ratio_exemplars(make_client, jaeger, exemplars):
    client = make_client()
    body = client.get("/api/v1/slos/billing-availability/evidence").json()
    assert body["target"]["jaeger_service"] == "billing-api"
    assert body["target"]["exemplar_query"] == 'http_requests_total{service="billing",code=~"5.."}'
    assert jaeger.paths() == ["/api/v3/traces", "/api/v3/traces"]
    assert {r.params["query.service_name"] for r in jaeger.requests} == {"billing-api"}
    assert [t["trace_id"] for t in body["failing_traces"]] == [BILLING]
    assert body["failing_traces"][0]["http_status"] == 503
    # no duration_min for a non-latency SLO: the slowest are simply the longest found
    assert all("query.duration_min" not in r.params for r in jaeger.requests)


def test_bool_gauge_slo_has_no_exemplars_to_ask_for(make_client, exemplars):
    body = make_client().get("/api/v1/slos/orders-probe/evidence").json()
    (source,) = [s for s in body["sources"] if s["backend"] == "prometheus"]
    assert source["status"] == "skipped"
    assert "bool_gauge" in source["message"]
    assert exemplars.queries == []
    assert body["partial"] is False


def test_backends_down_or_answering_garbage_give_a_partial_report(tmp_path, jaeger, exemplars):
    jaeger.garbage = True
    settings = make_settings(
        tmp_path, jaeger_url=jaeger.url, elasticsearch_url=f"http://127.0.0.1:{free_port()}"
    )
    app = evidence_app(settings, exemplars)
    with TestClient(app) as client:
        response = client.get("/api/v1/slos/orders-latency/evidence")
    assert response.status_code == 200
    body = response.json()
    assert body["partial"] is True
    assert body["failed"] == ["elasticsearch", "jaeger"]
    status = {(s["backend"], s["call"]): s for s in body["sources"]}
    assert status["jaeger", "failing traces"]["status"] == "failed"
    assert "not OTLP-JSON" in status["jaeger", "failing traces"]["message"]
    assert status["elasticsearch", "error logs"]["status"] == "failed"
    assert settings.elasticsearch_url in status["elasticsearch", "error logs"]["message"]
    assert status["prometheus", "exemplars"]["status"] == "ok"
    assert [e["trace_id"] for e in body["exemplars"]] == [SLOW, EXEMPLAR]  # what answered
    assert body["failing_traces"] == []
    assert body["error_logs"] is None


def test_hanging_backends_cannot_hold_the_answer_past_the_deadline(
    make_client, jaeger, es, exemplars
):
    jaeger.delay = es.delay = exemplars.delay = 4.0
    client = make_client(evidence_deadline=1.0, evidence_timeout=6.0)
    began = time.monotonic()
    response = client.get("/api/v1/slos/orders-latency/evidence")
    elapsed = time.monotonic() - began
    assert response.status_code == 200
    assert elapsed < 3.0, f"answered after {elapsed:.1f}s with a 1s deadline"
    body = response.json()
    assert body["partial"] is True
    assert body["failed"] == ["elasticsearch", "jaeger", "prometheus"]
    timed_out = [s for s in body["sources"] if s["status"] == "timeout"]
    assert {s["call"] for s in timed_out} == {
        "exemplars",
        "failing traces",
        "slow traces",
        "error logs",
    }
    assert all("1s" in s["message"] for s in timed_out)


def test_client_timeouts_are_named_as_timeouts(make_client, jaeger):
    jaeger.delay = 3.0
    body = make_client(evidence_timeout=0.5).get("/api/v1/slos/orders-latency/evidence").json()
    status = {(s["backend"], s["call"]): s for s in body["sources"]}
    assert status["jaeger", "failing traces"]["status"] == "timeout"
    assert "no answer within 0.5s" in status["jaeger", "failing traces"]["message"]
    assert status["elasticsearch", "error logs"]["status"] == "ok"


def test_unconfigured_backends_are_named_not_failed(tmp_path):
    settings = make_settings(tmp_path, prometheus_url=None)
    app = create_app(
        settings,
        clock=FakeClock(NOW),
        metrics_registry=CollectorRegistry(),
        start_scheduler=False,
    )
    with TestClient(app) as client:
        body = client.get("/api/v1/slos/orders-latency/evidence").json()
    assert body["partial"] is False
    assert {s["backend"]: s["status"] for s in body["sources"]} == {
        "prometheus": "not_configured",
        "jaeger": "not_configured",
        "elasticsearch": "not_configured",
    }
    assert (
        "SLOCTL_SERVER_JAEGER_URL"
        in {s["backend"]: s["message"] for s in body["sources"]}["jaeger"]
    )


@pytest.mark.parametrize(
    ("params", "field", "status"),
    [
        ({"from": "yesterday"}, "from", 422),
        ({"from": "1h", "to": "2h"}, "from", 422),
        ({"from": "8d"}, "from", 422),
    ],
)
def test_bad_windows_are_refused(make_client, params, field, status):
    response = make_client().get("/api/v1/slos/orders-latency/evidence", params=params)
    assert response.status_code == status
    assert response.json()["error"]["details"][0]["field"] == field


def test_unknown_slo_is_404(make_client):
    response = make_client().get("/api/v1/slos/nope/evidence")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_sloctl_evidence_prints_the_report(tmp_path, jaeger, es, exemplars, cli):
    settings = make_settings(tmp_path, jaeger_url=jaeger.url, elasticsearch_url=es.url)
    app = evidence_app(settings, exemplars)
    with serve_in_thread(app) as url:
        table = cli("evidence", "orders-latency", "--server-url", url)
        as_json = cli(
            "evidence", "orders-latency", "--server-url", url, "--from", "2h", "-o", "json"
        )
        missing = cli("evidence", "orders-nope", "--server-url", url)
    assert table.code == 0, table.err
    for text in (FAILED, SLOW, EXEMPLAR, "insert failed: deadlock detected", "pool exhausted"):
        assert text in table.out
    assert "failing traces" in table.out
    assert as_json.code == 0
    report = json.loads(as_json.out)
    assert report["start"] == "2026-11-24T10:00:00Z"
    assert [t["trace_id"] for t in report["failing_traces"]] == [FAILED]
    assert missing.code == 1
    assert "no SLO with id 'orders-nope'" in missing.err


def test_one_hanging_backend_is_the_only_one_blamed(make_client, jaeger, es):
    jaeger.delay = 4.0
    client = make_client(evidence_deadline=1.0, evidence_timeout=6.0)
    body = client.get("/api/v1/slos/orders-latency/evidence").json()
    assert body["failed"] == ["jaeger"]
    status = {(s["backend"], s["call"]): s for s in body["sources"]}
    assert status["elasticsearch", "error logs"]["status"] == "ok"
    assert status["prometheus", "exemplars"]["status"] == "ok"
    assert status["elasticsearch", "trace logs"]["status"] == "skipped"
    assert "deadline" in status["elasticsearch", "trace logs"]["message"]
    assert [e["trace_id"] for e in body["exemplars"]] == [SLOW, EXEMPLAR]
    assert body["error_logs"]["total"] == 2
