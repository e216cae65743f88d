"""Pure parts of the evidence: ids, exemplar plans, trace and log parsing, queries, links."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from server.evidence.collector import (
    EvidenceBackends,
    EvidenceConfig,
    EvidenceService,
    error_counts,
)
from server.evidence.elasticsearch import (
    lookup,
    lucene_error_query,
    lucene_trace_query,
    parse_error_logs,
    parse_hit,
    parse_timestamp,
)
from server.evidence.exemplars import parse_exemplars, plan_for
from server.evidence.jaeger import go_duration, parse_v1, parse_v3, rfc3339, v1_search_params
from server.evidence.links import LogLinks, jaeger_search, jaeger_trace
from server.evidence.model import Exemplar, LogQuery, TraceQuery, normalize_trace_id
from sloctl.spec.models import SLO, Evidence

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def slo(sli: dict[str, Any], **extra: Any) -> SLO:
    return SLO.model_validate(
        {"service": "orders", "name": "x", "objective": 99, "window": "30d", "sli": sli, **extra}
    )


# ------------------------------------------------------------------- ids


def test_trace_ids_are_normalized_to_32_lowercase_hex():
    assert normalize_trace_id("4BF92F3577B34DA6") == "00000000000000004bf92f3577b34da6"
    raw = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
    assert normalize_trace_id(base64.b64encode(raw).decode()) == raw.hex()
    with pytest.raises(ValueError, match="not a trace id"):
        normalize_trace_id("not-an-id")


# -------------------------------------------------------------- exemplars


def test_latency_plan_reads_buckets_above_the_threshold():
    plan = plan_for(slo({"latency": {"metric": 'http_seconds{job="a"}', "threshold": 0.3}}))
    assert plan is not None
    assert plan.query == 'http_seconds_bucket{job="a"}'
    kept = plan.bad([_exemplar("a", 0.3), _exemplar("b", 0.31), _exemplar("c", 0.1)])
    assert [e.trace_id[-1] for e in kept] == ["b"]


def test_native_histogram_plan_reads_the_histogram_itself():
    plan = plan_for(slo({"latency": {"metric": "http_seconds", "threshold": 1, "native": True}}))
    assert plan is not None
    assert plan.query == "http_seconds"


def test_ratio_plans():
    errors = plan_for(slo({"ratio": {"errors": 'req{code=~"5.."}', "total": "req"}}))
    assert errors is not None
    assert (errors.query, errors.exclude) == ('req{code=~"5.."}', ())
    good = plan_for(slo({"ratio": {"good": 'req{code!~"5.."}', "total": 'req{job="a"}'}}))
    assert good is not None
    assert good.query == 'req{job="a"}'
    exemplars = [
        _exemplar("a", 1, {"__name__": "req", "job": "a", "code": "200"}),
        _exemplar("b", 1, {"__name__": "req", "job": "a", "code": "503"}),
    ]
    assert [e.trace_id[-1] for e in good.bad(exemplars)] == ["b"]


def test_events_plans_find_the_selectors_of_the_queries():
    errors = plan_for(
        slo(
            {
                "events": {
                    "errorQuery": 'sum(rate(req{code=~"5.."}[{{window}}]))'
                    " + sum(rate(panics[{{window}}]))",
                    "totalQuery": "sum(rate(req[{{window}}]))",
                }
            }
        )
    )
    assert errors is not None
    assert errors.query == 'req{code=~"5.."} or panics'
    good = plan_for(
        slo(
            {
                "events": {
                    "goodQuery": 'sum(rate(req{code="200"}[{{window}}]))',
                    "totalQuery": "sum(rate(req[{{window}}]))",
                }
            }
        )
    )
    assert good is not None
    assert good.query == "req"
    assert [s.render() for s in good.exclude] == ['req{code="200"}']


def test_gauges_and_raw_ratios_have_no_exemplar_plan():
    assert plan_for(slo({"boolGauge": {"metric": "probe_success"}})) is None
    assert plan_for(slo({"raw": {"errorRatioQuery": "x[{{window}}]"}})) is None


def test_exemplars_without_a_trace_id_are_dropped_and_labels_vary():
    data = [
        {
            "seriesLabels": {"__name__": "req_total", "code": "500"},
            "exemplars": [
                {"labels": {"traceID": "ABC"}, "value": "1", "timestamp": 1764000000.5},
                {"labels": {"user": "x"}, "value": "1", "timestamp": 1764000001},
                {"labels": {"trace_id": "zz-not-hex"}, "value": "1", "timestamp": 1764000002},
                {"labels": {"trace_id": "ab", "span_id": "0102"}, "value": "2", "timestamp": 1},
            ],
        }
    ]
    found = parse_exemplars(data)
    assert [e.trace_id for e in found] == ["abc".rjust(32, "0"), "ab".rjust(32, "0")]
    assert found[0].timestamp == datetime(2025, 11, 24, 16, 0, 0, 500000, tzinfo=UTC)
    assert found[1].span_id == "0000000000000102"
    assert found[0].series == {"__name__": "req_total", "code": "500"}


def _exemplar(suffix: str, value: float, series: dict[str, str] | None = None) -> Exemplar:
    return Exemplar(
        trace_id=suffix.rjust(32, "0"),
        span_id=None,
        value=value,
        timestamp=NOW,
        series=series or {"__name__": "http_seconds_bucket"},
    )


# ----------------------------------------------------------------- Jaeger


def test_v3_streamed_chunks_and_string_status_codes():
    span = {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "b7ad6b7169203331",
        "name": "GET /orders",
        "startTimeUnixNano": "1764000000000000000",
        "endTimeUnixNano": "1764000000250000000",
        "attributes": [{"key": "http.status_code", "value": {"intValue": "502"}}],
        "status": {"code": "STATUS_CODE_ERROR", "message": "upstream"},
    }
    child = dict(
        span, spanId="00f067aa0ba902b7", parentSpanId="b7ad6b7169203331", status={}, attributes=[]
    )
    chunk = {
        "result": {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]
                    },
                    "scopeSpans": [{"spans": [span]}],
                }
            ]
        }
    }
    second = {"result": {"resourceSpans": [{"scopeSpans": [{"spans": [child]}]}]}}
    (trace,) = parse_v3(json.dumps(chunk) + "\n" + json.dumps(second) + "\n")
    assert len(trace.spans) == 2
    root = trace.root
    assert root is not None
    assert (root.service, root.http_status, root.error, root.status_message) == (
        "api",
        502,
        True,
        "upstream",
    )
    assert trace.duration_seconds == pytest.approx(0.25)
    assert trace.spans[1].parent_span_id == root.span_id


def test_v3_rejects_answers_without_result():
    with pytest.raises(ValueError, match='no "result"'):
        parse_v3('{"data": []}')


def test_v1_error_from_tags_and_inline_process():
    body = {
        "data": [
            {
                "traceID": "abc",
                "spans": [
                    {
                        "traceID": "abc",
                        "spanID": "1",
                        "operationName": "op",
                        "references": [],
                        "startTime": 1764000000000000,
                        "duration": 1500,
                        "tags": [{"key": "otel.status_code", "type": "string", "value": "ERROR"}],
                        "process": {"serviceName": "inline"},
                    },
                    {
                        "traceID": "abc",
                        "spanID": "2",
                        "operationName": "child",
                        "references": [{"refType": "CHILD_OF", "traceID": "abc", "spanID": "1"}],
                        "startTime": 1764000000000100,
                        "duration": 10,
                        "tags": [{"key": "error", "type": "string", "value": "true"}],
                        "processID": "p1",
                    },
                ],
                "processes": {"p1": {"serviceName": "db"}},
            }
        ]
    }
    (trace,) = parse_v1(body)
    assert trace.trace_id == "abc".rjust(32, "0")
    assert [(s.service, s.error) for s in trace.spans] == [("inline", True), ("db", True)]
    assert trace.spans[1].parent_span_id == "0000000000000001"
    assert trace.spans[0].duration_seconds == 0.0015
    assert parse_v1({"data": None}) == []
    with pytest.raises(ValueError, match='no "data"'):
        parse_v1([])


def test_durations_and_times_as_jaeger_reads_them():
    assert go_duration(0.3) == "300ms"
    assert go_duration(1.5) == "1500ms"
    assert go_duration(0.0005) == "500us"
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == "2026-01-02T03:04:05.000006Z"
    params = v1_search_params(TraceQuery(service="s", start=NOW, end=NOW, limit=3))
    assert params == {
        "service": "s",
        "start": "1795521600000000",
        "end": "1795521600000000",
        "limit": "3",
    }


# ---------------------------------------------------------- Elasticsearch


def test_lookup_reads_nested_dotted_and_mixed_fields():
    doc = {"a.b": 1, "c": {"d.e": 2}, "f": {"g": {"h": 3}}, "x": {"y": None}}
    assert lookup(doc, "a.b") == 1
    assert lookup(doc, "c.d.e") == 2
    assert lookup(doc, "f.g.h") == 3
    assert lookup(doc, "x.y") is None
    assert lookup(doc, "nope.z") is None


def test_otel_native_document_is_read_like_an_ecs_one():
    hit = {
        "_index": "logs-otel",
        "_id": "1",
        "_source": {
            "@timestamp": "1764000000123.456789",
            "severity_text": "ERROR",
            "trace_id": "0AF7651916CD43DD8448EB211C80319C",
            "span_id": "b7ad6b7169203331",
            "resource": {"attributes": {"service.name": "orders"}},
            "body": {"text": "connection reset"},
        },
    }
    line = parse_hit(hit)
    assert (line.level, line.service, line.message) == ("ERROR", "orders", "connection reset")
    assert line.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert line.timestamp == datetime(2025, 11, 24, 16, 0, 0, 123457, tzinfo=UTC)


def test_timestamps_in_every_form():
    assert parse_timestamp("2026-11-24T12:00:00Z") == NOW
    assert parse_timestamp("2026-11-24T12:00:00") == NOW
    assert parse_timestamp(1795521600000) == NOW
    assert parse_timestamp(None) is None


def test_legacy_and_lower_bound_totals():
    legacy = parse_error_logs({"hits": {"total": 7, "hits": []}})
    assert (legacy.total, legacy.total_is_lower_bound) == (7, False)
    many = parse_error_logs({"hits": {"total": {"value": 10000, "relation": "gte"}, "hits": []}})
    assert many.total_is_lower_bound
    with pytest.raises(KeyError):
        parse_error_logs({"took": 1})


def test_lucene_forms_of_the_searches():
    query = LogQuery(index="logs-*", service="orders", start=NOW, end=NOW)
    text = lucene_error_query(query)
    assert text.startswith('(service.name:"orders" OR resource.attributes.service.name:"orders")')
    assert "severity_number:>=17" in text
    assert lucene_error_query(LogQuery("i", "s", NOW, NOW, query="level:error")) == "level:error"
    assert lucene_trace_query(["ab"]) == (
        f'trace.id:("{"ab".rjust(32, "0")}") OR trace_id:("{"ab".rjust(32, "0")}")'
    )


# ------------------------------------------------------------------ links


def test_kibana_links_escape_rison_and_carry_the_window():
    link = LogLinks(kibana_url="http://kibana:5601").search(
        'message:"it\'s down!"', NOW - timedelta(hours=1), NOW
    )
    assert link is not None
    assert link.startswith("http://kibana:5601/app/discover#/?_g=")
    decoded = unquote(link)
    assert "(time:(from:'2026-11-24T11:00:00.000Z',to:'2026-11-24T12:00:00.000Z'))" in decoded
    assert "query:'message:\"it!'s down!!\"'" in decoded


def test_grafana_explore_link_when_there_is_no_kibana():
    link = LogLinks(grafana_url="http://grafana:3000", grafana_datasource_uid="es1").search(
        "trace.id:x", NOW - timedelta(hours=1), NOW
    )
    assert link is not None
    parts = urlsplit(link)
    assert parts.path == "/explore"
    panes = json.loads(parse_qs(parts.query)["panes"][0])
    (pane,) = panes.values()
    assert pane["datasource"] == "es1"
    assert pane["queries"][0]["query"] == "trace.id:x"
    assert pane["range"] == {"from": "1795518000000", "to": "1795521600000"}
    assert LogLinks().search("x", NOW, NOW) is None


def test_jaeger_links():
    assert jaeger_trace(None, "abc") is None
    assert jaeger_trace("http://j:16686", "abc") == "http://j:16686/trace/abc"
    link = jaeger_search(
        "http://j:16686",
        TraceQuery(
            service="orders", start=NOW, end=NOW, duration_min=0.3, attributes={"error": "true"}
        ),
    )
    assert link is not None
    params = parse_qs(urlsplit(link).query)
    assert params["minDuration"] == ["300ms"]
    assert params["tags"] == ['{"error": "true"}']


# -------------------------------------------------------------- collector


def test_windows_round_outwards_to_the_minute():
    service = EvidenceService(EvidenceBackends(), EvidenceConfig(), lambda: NOW)
    start, end = service.window(NOW - timedelta(seconds=3599), NOW - timedelta(seconds=1))
    assert (start, end) == (NOW - timedelta(minutes=60), NOW)
    start, end = service.window(NOW + timedelta(seconds=1), NOW + timedelta(seconds=61))
    assert (start, end) == (NOW, NOW + timedelta(minutes=2))
    service.close()


def test_target_precedence_spec_then_service_defaults_then_settings():
    config = EvidenceConfig(
        default_index="logs-*",
        service_defaults={
            "orders": Evidence.model_validate(
                {"elasticsearch": {"index": "orders-*", "query": "a:b"}}
            )
        },
    )
    service = EvidenceService(EvidenceBackends(), config, lambda: NOW)
    plain = service.target(slo({"ratio": {"errors": "e", "total": "t"}}))
    assert (plain.jaeger_service, plain.elasticsearch_index, plain.elasticsearch_query) == (
        "orders",
        "orders-*",
        "a:b",
    )
    spec = slo(
        {"ratio": {"errors": "e", "total": "t"}},
        evidence={
            "jaeger": {"service": "api", "operation": "op"},
            "elasticsearch": {"index": "i", "query": "q"},
        },
    )
    target = service.target(spec)
    assert (target.jaeger_service, target.jaeger_operation, target.elasticsearch_index) == (
        "api",
        "op",
        "i",
    )
    other = slo({"ratio": {"errors": "e", "total": "t"}}).model_copy(update={"service": "billing"})
    assert service.target(other).elasticsearch_index == "logs-*"
    service.close()


def test_error_counts_group_error_spans():
    (trace,) = parse_v1(
        {
            "data": [
                {
                    "traceID": "1",
                    "spans": [
                        {
                            "spanID": str(i),
                            "operationName": "op",
                            "startTime": 0,
                            "duration": 1,
                            "tags": [
                                {"key": "error", "value": True},
                                *([{"key": "http.status_code", "value": 500}] if i < 3 else []),
                            ],
                            "processID": "p",
                        }
                        for i in range(1, 5)
                    ],
                    "processes": {"p": {"serviceName": "s"}},
                }
            ]
        }
    )
    counts = error_counts([trace])
    assert [(c.status, c.count) for c in counts] == [("500", 2), ("error", 2)]
