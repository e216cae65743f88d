"""The Elasticsearch adapter (real elasticsearch-py 8) against a double of ``_search``."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from server.errors import EvidenceBackendError
from server.evidence import backends_from_settings
from server.evidence.elasticsearch import ElasticsearchLogs, make_client
from server.evidence.model import LogQuery
from server.settings import Settings
from tests.helpers import scrub_env
from tests.support.clock import NOW
from tests.support.elasticsearch_double import ElasticsearchDouble
from tests.support.http_double import serve
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

TRACE = "0af7651916cd43dd8448eb211c80319c"
OTHER = "4bf92f3577b34da6a3ce929d0e0e4736"


def ecs(at: datetime, level: str, message: str, trace: str | None = None, service="orders"):
    """An ECS document as Filebeat or the OTel exporter's ecs mode writes it (nested objects)."""
    doc = {
        "@timestamp": at.isoformat().replace("+00:00", "Z"),
        "log": {"level": level},
        "message": message,
        "service": {"name": service},
    }
    if trace:
        doc["trace"] = {"id": trace}
        doc["span"] = {"id": trace[-16:]}
    return doc


def otel(at: datetime, severity: str, number: int, message: str, trace: str | None = None):
    """An OTel-native document (the exporter's otel mode): epoch-ms timestamp, body.text."""
    doc = {
        "@timestamp": f"{at.timestamp() * 1000:.6f}",
        "severity_text": severity,
        "severity_number": number,
        "body": {"text": message},
        "resource": {"attributes": {"service.name": "orders"}},
    }
    if trace:
        doc["trace_id"] = trace
    return doc


@pytest.fixture
def es() -> Iterator[ElasticsearchDouble]:
    double = ElasticsearchDouble()
    double.add(
        "logs-orders-2026.11.24",
        ecs(NOW - timedelta(minutes=3, seconds=10), "error", "insert failed: deadlock", TRACE),
        ecs(NOW - timedelta(minutes=3), "info", "request done", TRACE),
        ecs(NOW - timedelta(minutes=1), "ERROR", "payment timeout", OTHER),
        ecs(NOW - timedelta(minutes=2), "error", "billing is down", None, service="billing"),
        ecs(NOW - timedelta(hours=2), "error", "too old", None),
    )
    # Dotted keys, as a pipeline that does not expand dots stores them.
    double.add(
        "logs-orders-2026.11.24",
        {
            "@timestamp": (NOW - timedelta(minutes=2)).isoformat(),
            "log.level": "error",
            "message": "dotted",
            "service.name": "orders",
            "trace.id": OTHER,
        },
    )
    double.add(
        "otel-logs-orders",
        otel(NOW - timedelta(minutes=4), "ERROR", 17, "otel: connection reset", TRACE),
        otel(NOW - timedelta(minutes=4), "WARN", 13, "otel: retrying", TRACE),
    )
    with serve(double):
        yield double


@pytest.fixture
def logs(es) -> Iterator[ElasticsearchLogs]:
    adapter = ElasticsearchLogs(make_client(es.url, timeout=2.0), url=es.url)
    yield adapter
    adapter.close()


QUERY = LogQuery(
    index="logs-orders-*,otel-logs-*",
    service="orders",
    start=NOW - timedelta(minutes=10),
    end=NOW,
    size=3,
)


def test_error_logs_request_is_the_documented_search(es, logs):
    logs.error_logs(QUERY)
    (request,) = es.searches()
    assert request.method == "POST"
    assert request.path == "/logs-orders-*,otel-logs-*/_search"
    assert request.params == {"allow_no_indices": "true", "ignore_unavailable": "true"}
    assert "compatible-with=8" in request.headers["accept"]
    body = request.json
    time_filter, service, level = body["query"]["bool"]["filter"]
    assert time_filter == {
        "range": {
            "@timestamp": {
                "gte": "2026-11-24T11:50:00.000Z",
                "lte": "2026-11-24T12:00:00.000Z",
                "format": "strict_date_optional_time",
            }
        }
    }
    assert service == {
        "bool": {
            "should": [
                {"term": {"service.name": "orders"}},
                {"term": {"resource.attributes.service.name": "orders"}},
            ],
            "minimum_should_match": 1,
        }
    }
    should = level["bool"]["should"]
    assert {"range": {"severity_number": {"gte": 17}}} in should
    assert {tuple(c["terms"]) for c in should if "terms" in c} == {
        ("log.level",),
        ("severity_text",),
    }
    assert "error" in should[0]["terms"]["log.level"]
    assert "ERROR" in should[0]["terms"]["log.level"]
    assert body["sort"] == [{"@timestamp": {"order": "desc"}}]
    assert body["size"] == 3
    assert body["track_total_hits"] is True
    assert body["aggs"] == {
        "per_minute": {
            "date_histogram": {
                "field": "@timestamp",
                "fixed_interval": "1m",
                "min_doc_count": 0,
                "extended_bounds": {
                    "min": int((NOW - timedelta(minutes=10)).timestamp() * 1000),
                    "max": int(NOW.timestamp() * 1000),
                },
            }
        }
    }
    assert es.problems == []


def test_error_logs_read_ecs_dotted_and_otel_documents(logs):
    result = logs.error_logs(QUERY)
    assert result.total == 4  # deadlock, payment timeout, dotted, otel connection reset
    assert not result.total_is_lower_bound
    assert [line.message for line in result.lines] == [
        "payment timeout",
        "dotted",
        "insert failed: deadlock",
    ]
    newest = result.lines[0]
    assert (newest.level, newest.service, newest.trace_id) == ("ERROR", "orders", OTHER)
    assert newest.index == "logs-orders-2026.11.24"
    assert newest.timestamp == NOW - timedelta(minutes=1)
    assert len(result.per_minute) == 11  # every minute of the window, empty ones too
    assert sum(m.count for m in result.per_minute) == 4
    by_minute = {m.time: m.count for m in result.per_minute}
    assert by_minute[NOW - timedelta(minutes=4)] == 2  # the otel error and 3m10s-ago ECS error
    assert by_minute[NOW - timedelta(minutes=1)] == 1


def test_spec_lucene_query_replaces_the_level_filter(es, logs):
    query = LogQuery(
        index="logs-orders-*",
        service="orders",
        start=NOW - timedelta(minutes=10),
        end=NOW,
        query="message:billing is down",
    )
    result = logs.error_logs(query)
    body = es.searches()[0].json
    assert body["query"]["bool"]["filter"][1:] == [
        {"query_string": {"query": "message:billing is down"}}
    ]
    assert [line.service for line in result.lines] == ["billing"]


def test_trace_logs_match_both_field_names(es, logs):
    lines = logs.trace_logs(
        [TRACE.upper()],
        index="logs-orders-*,otel-logs-*",
        start=NOW - timedelta(hours=1),
        end=NOW,
        size=100,
    )
    body = es.searches()[0].json
    assert body["query"]["bool"]["filter"][1] == {
        "bool": {
            "should": [{"terms": {"trace.id": [TRACE]}}, {"terms": {"trace_id": [TRACE]}}],
            "minimum_should_match": 1,
        }
    }
    assert body["sort"] == [{"@timestamp": {"order": "asc"}}]
    assert [line.message for line in lines] == [
        "otel: connection reset",
        "otel: retrying",
        "insert failed: deadlock",
        "request done",
    ]
    assert {line.trace_id for line in lines} == {TRACE}
    assert lines[0].level == "ERROR"
    assert lines[0].span_id is None
    assert lines[2].span_id == TRACE[-16:]


def test_no_trace_ids_sends_nothing(es, logs):
    assert logs.trace_logs([], index="logs-*", start=NOW, end=NOW, size=10) == []
    assert es.requests == []


def test_missing_index_is_empty_not_an_error(logs):
    query = LogQuery(index="nothing-*", service="orders", start=NOW - timedelta(minutes=5), end=NOW)
    result = logs.error_logs(query)
    assert result.total == 0
    assert result.lines == ()


def test_server_without_the_product_header_is_refused(es, logs):
    es.product_header = False
    with pytest.raises(EvidenceBackendError) as caught:
        logs.error_logs(QUERY)
    assert caught.value.backend == "elasticsearch"
    assert "not Elasticsearch" in caught.value.reason or "product" in caught.value.reason.lower()


def test_garbage_answer_is_an_error(es, logs):
    es.garbage = True
    with pytest.raises(EvidenceBackendError, match="elasticsearch"):
        logs.error_logs(QUERY)


def test_slow_elasticsearch_times_out(es):
    es.delay = 3.0
    adapter = ElasticsearchLogs(make_client(es.url, timeout=0.5), url=es.url)
    began = time.monotonic()
    with pytest.raises(EvidenceBackendError) as caught:
        adapter.error_logs(QUERY)
    adapter.close()
    assert caught.value.timed_out
    assert time.monotonic() - began < 2.5


def test_elasticsearch_down_is_an_error():
    url = f"http://127.0.0.1:{free_port()}"
    adapter = ElasticsearchLogs(make_client(url, timeout=1.0), url=url)
    with pytest.raises(EvidenceBackendError, match="the error log search"):
        adapter.error_logs(QUERY)
    adapter.close()


def test_query_error_names_the_reason(es, logs):
    query = LogQuery(
        index="logs-orders-*",
        service="orders",
        start=NOW - timedelta(minutes=5),
        end=NOW,
        query="broken",
    )
    with pytest.raises(EvidenceBackendError, match="HTTP 400: the double reads only field:value"):
        logs.error_logs(query)


@pytest.mark.parametrize(
    ("variables", "authorization"),
    [
        (
            {"USERNAME": "elastic", "PASSWORD": "p@ss/w#rd:1"},  # pragma: allowlist secret
            "Basic " + base64.b64encode(b"elastic:p@ss/w#rd:1").decode(),
        ),
        ({"API_KEY": "aWQ6a2V5"}, "ApiKey aWQ6a2V5"),  # pragma: allowlist secret
        ({}, None),
    ],
    ids=["user-and-password", "api-key", "none"],
)
def test_the_server_settings_credentials_reach_elasticsearch(
    es, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], authorization: str | None
):
    """A password with characters a URL cannot hold, given on its own (docker-compose's way)."""
    scrub_env(monkeypatch)
    monkeypatch.setenv("SLOCTL_SERVER_ELASTICSEARCH_URL", es.url)
    for name, value in variables.items():
        monkeypatch.setenv(f"SLOCTL_SERVER_ELASTICSEARCH_{name}", value)
    logs = backends_from_settings(Settings()).logs
    assert logs is not None
    logs.error_logs(QUERY)
    (request,) = es.searches()
    assert request.headers.get("authorization") == authorization
