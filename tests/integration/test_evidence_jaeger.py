"""The Jaeger adapter against a double of Jaeger's query API: v3, v1 fallback, failures."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from server.errors import EvidenceBackendError
from server.evidence.jaeger import JaegerClient
from server.evidence.model import TraceQuery
from tests.support.clock import NOW
from tests.support.http_double import serve
from tests.support.jaeger_double import JaegerDouble, fake_trace
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

FAILED = "0af7651916cd43dd8448eb211c80319c"
SLOW = "00000000000000004bf92f3577b34da6"
FAST = "1111111111111111aaaaaaaaaaaaaaaa"


def _load(double: JaegerDouble) -> None:
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
    double.add(
        fake_trace(SLOW, "orders", "GET /orders", NOW - timedelta(minutes=20), 1.2, status=200)
    )
    double.add(
        fake_trace(FAST, "orders", "POST /orders", NOW - timedelta(minutes=5), 0.01, status=201)
    )


@pytest.fixture
def clients() -> Iterator[list[JaegerClient]]:
    made: list[JaegerClient] = []
    yield made
    for client in made:
        client.close()


def _client(clients: list[JaegerClient], url: str, **options) -> JaegerClient:
    client = JaegerClient(url, **options)
    clients.append(client)
    return client


@pytest.fixture
def jaeger() -> Iterator[JaegerDouble]:
    double = JaegerDouble()
    _load(double)
    with serve(double):
        yield double


QUERY = TraceQuery(
    service="orders",
    operation="GET /orders",
    start=NOW - timedelta(hours=1),
    end=NOW,
    attributes={"error": "true"},
    limit=7,
)


def test_v3_search_sends_the_gateway_parameters_and_parses_otlp(jaeger, clients):
    client = _client(clients, jaeger.url)
    traces = client.find_traces(QUERY)
    (request,) = jaeger.requests
    assert request.path == "/api/v3/traces"
    assert request.params == {
        "query.service_name": "orders",
        "query.operation_name": "GET /orders",
        "query.start_time_min": "2026-11-24T11:00:00.000000Z",
        "query.start_time_max": "2026-11-24T12:00:00.000000Z",
        "query.attributes": '{"error": "true"}',
        "query.num_traces": "7",
    }
    assert [t.trace_id for t in traces] == [FAILED]
    trace = traces[0]
    assert trace.root is not None
    assert (trace.root.service, trace.root.operation, trace.root.http_status) == (
        "orders",
        "GET /orders",
        500,
    )
    assert [s.service for s in trace.error_spans] == ["orders", "postgres"]
    assert trace.duration_seconds == pytest.approx(0.05)
    assert client.api == "v3"
    assert jaeger.problems == []


def test_v3_latency_search_sends_duration_min_as_a_go_duration(jaeger, clients):
    client = _client(clients, jaeger.url)
    query = TraceQuery(service="orders", start=NOW - timedelta(hours=1), end=NOW, duration_min=0.3)
    traces = client.find_traces(query)
    assert jaeger.requests[0].params["query.duration_min"] == "300ms"
    assert "query.attributes" not in jaeger.requests[0].params
    assert [t.trace_id for t in traces] == [SLOW]  # the 1.2 s trace only


def test_v3_no_traces_is_an_empty_list_not_a_fallback(jaeger, clients):
    client = _client(clients, jaeger.url)
    query = TraceQuery(service="billing", start=NOW - timedelta(hours=1), end=NOW)
    assert client.find_traces(query) == []
    assert jaeger.paths() == ["/api/v3/traces"]  # the gateway's 404 means "none", not "no v3"


def test_get_trace_by_id_v3_and_missing(jaeger, clients):
    client = _client(clients, jaeger.url)
    trace = client.get_trace(SLOW.lstrip("0"))
    assert trace is not None
    assert trace.trace_id == SLOW
    assert client.get_trace("ffffffffffffffffffffffffffffffff") is None
    assert jaeger.paths() == [f"/api/v3/traces/{SLOW}", "/api/v3/traces/" + "f" * 32]


@pytest.mark.parametrize("version", ["1-old", "1-ui"])
def test_older_jaeger_falls_back_to_v1_once_and_parses_the_same_traces(version, clients):
    double = JaegerDouble(version=version)
    _load(double)
    with serve(double):
        client = _client(clients, double.url)
        traces = client.find_traces(QUERY)
        second = client.find_traces(QUERY)
        by_id = client.get_trace(FAILED)
    assert client.api == "v1"
    assert double.paths() == [
        "/api/v3/traces",
        "/api/traces",
        "/api/traces",
        f"/api/traces/{FAILED}",
    ]
    v1 = double.requests[1].params
    assert v1 == {
        "service": "orders",
        "operation": "GET /orders",
        "start": str(int((NOW - timedelta(hours=1)).timestamp() * 1_000_000)),
        "end": str(int(NOW.timestamp() * 1_000_000)),
        "tags": '{"error": "true"}',
        "limit": "7",
    }
    assert [t.trace_id for t in traces] == [FAILED] == [t.trace_id for t in second]
    assert by_id is not None
    assert by_id.model_dump() == traces[0].model_dump()  # one model, whichever API
    assert double.problems == []


def test_v1_and_v3_give_the_same_model(jaeger, clients):
    v3 = _client(clients, jaeger.url, api="v3").get_trace(FAILED)
    v1 = _client(clients, jaeger.url, api="v1").get_trace(FAILED)
    assert v3 is not None
    assert v1 is not None
    assert v3.model_dump() == v1.model_dump()


def test_v1_min_duration_and_missing_trace(jaeger, clients):
    client = _client(clients, jaeger.url, api="v1")
    query = TraceQuery(service="orders", start=NOW - timedelta(hours=1), end=NOW, duration_min=1.0)
    assert [t.trace_id for t in client.find_traces(query)] == [SLOW]
    assert jaeger.requests[0].params["minDuration"] == "1000ms"
    assert client.get_trace("12345") is None


def test_garbage_is_an_error_naming_jaeger(jaeger, clients):
    jaeger.garbage = True
    with pytest.raises(EvidenceBackendError) as caught:
        _client(clients, jaeger.url, api="v3").find_traces(QUERY)
    assert caught.value.backend == "jaeger"
    assert "not OTLP-JSON" in caught.value.reason


def test_v3_server_error_is_reported_with_the_gateway_message(jaeger, clients):
    query = TraceQuery(service="", start=NOW - timedelta(hours=1), end=NOW)
    with pytest.raises(EvidenceBackendError, match="HTTP 500: service name must be set"):
        _client(clients, jaeger.url).find_traces(query)


def test_slow_jaeger_times_out_within_the_timeout(jaeger, clients):
    jaeger.delay = 3.0
    began = time.monotonic()
    with pytest.raises(EvidenceBackendError) as caught:
        _client(clients, jaeger.url, timeout=0.5).find_traces(QUERY)
    assert caught.value.timed_out
    assert time.monotonic() - began < 2.5


def test_jaeger_down_is_an_error_not_a_crash(clients):
    with pytest.raises(EvidenceBackendError, match="cannot reach it"):
        _client(clients, f"http://127.0.0.1:{free_port()}").find_traces(QUERY)


def test_attributes_json_is_what_the_gateway_decodes(jaeger, clients):
    _client(clients, jaeger.url).find_traces(QUERY)
    assert json.loads(jaeger.requests[0].params["query.attributes"]) == {"error": "true"}


def test_a_url_that_is_no_jaeger_at_all_is_an_error_not_an_empty_search(clients):
    double = JaegerDouble(version="1-old")
    with serve(double):
        client = _client(clients, double.url + "/not-jaeger")
        with pytest.raises(EvidenceBackendError, match="HTTP 404"):
            client.find_traces(QUERY)
