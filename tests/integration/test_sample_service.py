"""The orders sample service on real uvicorn, on SQLite and on the real PostgreSQL.

Every test runs once per backend: a SQLite file, and a fresh schema in the
PostgreSQL on 127.0.0.1:5432. The app gets an in-memory span exporter, a log
stream and its own metrics registry, so each signal is checked where it lands.
"""

from __future__ import annotations

import io
import json
import logging
import random
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.responses import StreamingResponse
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from pydantic import ValidationError
from sqlalchemy import inspect

from sample_service.__main__ import main as sample_main
from sample_service.app import create_app
from sample_service.db import downgrade, make_engine, migrate
from sample_service.logs import LOGGER_NAME
from sample_service.metrics import LATENCY_BUCKETS
from sample_service.settings import Settings
from sloctl.promql import find_selectors, format_number, parse_selector
from sloctl.spec.loader import load_specs
from tests.helpers import ROOT, app_handed_to_uvicorn, assert_only_the_served_app_freezes
from tests.support.sample import assert_failed_span, database_url, serve_app

pytestmark = pytest.mark.integration

ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
OPENMETRICS = {"Accept": "application/openmetrics-text; version=1.0.0; charset=utf-8"}
ORDER = {"customer": "ada", "item": "keyboard", "quantity": 2, "unit_price": "49.90"}


@dataclass
class Service:
    url: str
    client: httpx.Client
    spans: InMemorySpanExporter
    log: io.StringIO
    db_url: str

    def logs(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log.getvalue().splitlines()]

    def logs_where(
        self, wanted: Callable[[dict[str, object]], bool], expected: int = 1
    ) -> list[dict[str, object]]:
        """The log lines ``wanted`` picks, waiting for ``expected`` of them: lines are written
        in batches, so two requests' lines can arrive apart."""
        deadline = time.monotonic() + 5
        while True:
            lines = [doc for doc in self.logs() if wanted(doc)]
            if len(lines) >= expected or time.monotonic() > deadline:
                return lines
            time.sleep(0.02)

    def log_of(self, trace_id: str) -> dict[str, object]:
        """The one log line of a request."""
        [line] = self.logs_where(lambda doc: doc.get("trace.id") == trace_id)
        return line

    def metrics(self) -> dict[str, list[Sample]]:
        response = self.client.get("/metrics", headers=OPENMETRICS)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/openmetrics-text")
        families = text_string_to_metric_families(response.text)
        return {f.name: f.samples for f in families}

    def spans_of(self, trace_id: str) -> list[ReadableSpan]:
        """The finished spans of one trace, once its server span has ended.

        The server span ends just after the response is sent, so the client
        can be a moment ahead of it.
        """
        deadline = time.monotonic() + 5
        while True:
            spans = [
                s
                for s in self.spans.get_finished_spans()
                if f"{s.context.trace_id:032x}" == trace_id
            ]
            if any(s.kind == SpanKind.SERVER for s in spans) or time.monotonic() > deadline:
                return spans
            time.sleep(0.02)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    with database_url(backend, tmp_path) as url:
        yield url


def start(db_url: str, **settings: object) -> Iterator[Service]:
    spans = InMemorySpanExporter()
    log = io.StringIO()
    app = create_app(
        Settings(**{"database_url": db_url, "admin_token": ADMIN_TOKEN, **settings}),  # type: ignore[arg-type]
        span_processor=SimpleSpanProcessor(spans),
        log_stream=log,
        rng=random.Random(7),
        environ={},
    )
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield Service(url, client, spans, log, db_url)


@pytest.fixture
def service(db_url: str) -> Iterator[Service]:
    yield from start(db_url)


def test_crud_round_trip(service: Service):
    client = service.client
    created = client.post("/orders", json=ORDER)
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["status"] == "pending"
    assert {k: order[k] for k in ORDER} == ORDER
    created_at = datetime.fromisoformat(order["created_at"])
    assert created_at.utcoffset() == timedelta(0)

    assert client.get(f"/orders/{order['id']}").json() == order

    changed = client.patch(f"/orders/{order['id']}", json={"status": "paid", "quantity": 3})
    assert changed.status_code == 200
    assert changed.json()["status"] == "paid"
    assert changed.json()["quantity"] == 3
    assert changed.json()["item"] == "keyboard"
    assert client.get(f"/orders/{order['id']}").json()["status"] == "paid"

    assert client.delete(f"/orders/{order['id']}").status_code == 204
    assert client.get(f"/orders/{order['id']}").status_code == 404


def test_pagination_counts_every_matching_order(service: Service):
    ids = [
        service.client.post("/orders", json={**ORDER, "customer": f"c{i % 2}"}).json()["id"]
        for i in range(5)
    ]
    page = service.client.get("/orders", params={"offset": 2, "limit": 2}).json()
    assert [o["id"] for o in page["data"]] == ids[2:4]
    assert (page["count"], page["offset"], page["limit"]) == (5, 2, 2)
    last = service.client.get("/orders", params={"offset": 4, "limit": 2}).json()
    assert [o["id"] for o in last["data"]] == ids[4:]
    only = service.client.get("/orders", params={"customer": "c1"}).json()
    assert only["count"] == 2
    assert {o["customer"] for o in only["data"]} == {"c1"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/orders/4242", None),
        ("PATCH", "/orders/4242", {"status": "paid"}),
        ("DELETE", "/orders/4242", None),
    ],
)
def test_missing_order_is_404(service: Service, method: str, path: str, body: object):
    response = service.client.request(method, path, json=body)
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "order 4242 does not exist",
        "details": [],
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "fields"),
    [
        (
            "POST",
            "/orders",
            {"customer": "", "quantity": 0},
            {"customer", "item", "quantity", "unit_price"},
        ),
        ("POST", "/orders", {**ORDER, "unit_price": "1.999"}, {"unit_price"}),
        ("POST", "/orders", {**ORDER, "colour": "red"}, {"colour"}),
        ("PATCH", "/orders/1", {"status": "lost"}, {"status"}),
        ("GET", "/orders?limit=101", None, {"query.limit"}),
        ("GET", "/orders?offset=-1", None, {"query.offset"}),
        ("GET", "/orders/abc", None, {"path.order_id"}),
    ],
)
def test_invalid_requests_are_422_naming_the_fields(
    service: Service, method: str, path: str, body: object, fields: set[str]
):
    response = service.client.request(method, path, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert {d["field"] for d in error["details"]} == fields
    assert all(d["message"] for d in error["details"])


def test_openapi_contract_lists_the_api(service: Service):
    spec = service.client.get("/openapi.json").json()
    assert set(spec["paths"]) >= {"/orders", "/orders/{order_id}", "/admin/faults", "/healthz"}
    assert set(spec["paths"]["/orders/{order_id}"]) == {"get", "patch", "delete"}
    get_one = spec["paths"]["/orders/{order_id}"]["get"]["responses"]
    assert get_one["404"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorResponse"
    )
    assert "OrdersPublic" in spec["components"]["schemas"]
    assert spec["paths"]["/admin/faults"]["put"]["responses"]["401"]


def test_request_joins_its_trace_in_metrics_logs_and_spans(service: Service):
    """A caller's traceparent flows into the span, the exemplar and the log line."""
    trace_id = f"{random.getrandbits(128):032x}"
    header = {"traceparent": f"00-{trace_id}-{'ab' * 8}-01"}
    order_id = service.client.post("/orders", json=ORDER).json()["id"]
    assert service.client.get(f"/orders/{order_id}", headers=header).status_code == 200

    # Spans: the server span of the request and the SQL query under it.
    spans = service.spans_of(trace_id)
    server = [s for s in spans if s.kind == SpanKind.SERVER]
    assert [s.name for s in server] == ["GET /orders/{order_id}"]
    queries = [s for s in spans if s.kind == SpanKind.CLIENT]
    assert queries, [s.name for s in spans]
    assert all(
        q.parent is not None and q.parent.span_id == server[0].context.span_id for q in queries
    )
    assert server[0].resource.attributes["service.name"] == "orders"

    # The log line of the request carries the same trace id and the server span's id.
    line = service.log_of(trace_id)
    assert line["span.id"] == f"{server[0].context.span_id:016x}"
    assert line["service.name"] == "orders"
    assert line["log.level"] == "INFO"
    assert line["http.route"] == "/orders/{order_id}"
    assert line["http.response.status_code"] == 200

    # The metrics: counted under the route template, with the trace id as exemplar.
    samples = service.metrics()
    [counted] = [
        s
        for s in samples["http_requests"]
        if s.name == "http_requests_total"
        and s.labels
        == {"service": "orders", "route": "/orders/{order_id}", "method": "GET", "code": "200"}
    ]
    assert counted.value == 1
    assert counted.exemplar is not None
    assert counted.exemplar.labels == {"trace_id": trace_id}
    buckets = [
        s
        for s in samples["http_request_duration_seconds"]
        if s.name.endswith("_bucket") and s.labels.get("route") == "/orders/{order_id}"
    ]
    assert any(b.exemplar and b.exemplar.labels == {"trace_id": trace_id} for b in buckets)
    assert "0.3" in {b.labels["le"] for b in buckets}


def test_spans_follow_the_http_and_database_conventions(service: Service):
    """The server span and the query span carry the stable semantic-convention attributes."""
    order_id = service.client.post("/orders", json=ORDER).json()["id"]
    trace_id = f"{random.getrandbits(128):032x}"
    headers = {"traceparent": f"00-{trace_id}-{'ef' * 8}-01", "user-agent": "probe/1.0"}
    assert service.client.get(f"/orders/{order_id}?x=1", headers=headers).status_code == 200

    spans = service.spans_of(trace_id)
    [server] = [s for s in spans if s.kind == SpanKind.SERVER]
    port = int(service.url.rsplit(":", 1)[1])
    assert dict(server.attributes or {}) == {
        "http.request.method": "GET",
        "url.scheme": "http",
        "url.path": f"/orders/{order_id}",
        "url.query": "x=1",
        "network.protocol.version": "1.1",
        "server.address": "127.0.0.1",
        "server.port": port,
        "client.address": "127.0.0.1",
        "user_agent.original": "probe/1.0",
        "http.route": "/orders/{order_id}",
        "http.response.status_code": 200,
    }
    assert server.status.status_code == StatusCode.UNSET
    assert server.parent is not None
    assert server.parent.is_remote

    [query] = [s for s in spans if s.kind == SpanKind.CLIENT]
    attributes = dict(query.attributes or {})
    system = "sqlite" if service.db_url.startswith("sqlite") else "postgresql"
    assert attributes["db.system.name"] == system
    assert attributes["db.operation.name"] == "SELECT"
    # The statement as sent, with a placeholder for the id, never the id itself.
    statement = str(attributes["db.query.text"])
    if system == "postgresql":
        database = urlsplit(service.db_url)
        assert statement.endswith("FROM orders \nWHERE orders.id = %(pk_1)s::INTEGER")
        assert query.name == f"SELECT {database.path.lstrip('/')}"
        assert attributes["server.address"] == database.hostname
        assert attributes["server.port"] == database.port
    else:
        assert statement.endswith("FROM orders \nWHERE orders.id = ?")
        assert query.name == "SELECT"
    assert query.status.status_code == StatusCode.UNSET


def test_a_failed_request_fails_its_server_span(service: Service):
    """A 5xx answer marks the server span an error (an escaping exception: the next test)."""
    faults = {"faults": {"/orders/{order_id}": {"error_ratio": 1.0}}}
    assert service.client.put("/admin/faults", json=faults, headers=ADMIN).status_code == 200
    trace_id = f"{random.getrandbits(128):032x}"
    headers = {"traceparent": f"00-{trace_id}-{'12' * 8}-01"}
    assert service.client.get("/orders/1", headers=headers).status_code == 500
    [server] = [s for s in service.spans_of(trace_id) if s.kind == SpanKind.SERVER]
    assert server.status.status_code == StatusCode.ERROR
    assert server.attributes is not None
    assert server.attributes["error.type"] == "500"
    assert server.attributes["http.response.status_code"] == 500


def test_a_global_tracer_provider_gets_no_second_server_span(
    service: Service, monkeypatch: pytest.MonkeyPatch
):
    """With a global provider set (as ``opentelemetry-instrument`` sets one), FastAPI's
    own telemetry stays off: the request is one server span, in the app's provider."""
    elsewhere = InMemorySpanExporter()
    global_provider = TracerProvider()
    global_provider.add_span_processor(SimpleSpanProcessor(elsewhere))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: global_provider)
    trace_id = f"{random.getrandbits(128):032x}"
    headers = {"traceparent": f"00-{trace_id}-{'34' * 8}-01"}
    assert service.client.get("/orders/1", headers=headers).status_code == 404
    servers = [s for s in service.spans_of(trace_id) if s.kind == SpanKind.SERVER]
    assert [s.name for s in servers] == ["GET /orders/{order_id}"]
    assert elsewhere.get_finished_spans() == ()


def test_an_escaping_exception_is_recorded_on_the_server_span(db_url: str):
    spans = InMemorySpanExporter()
    app = create_app(
        Settings(database_url=db_url),
        span_processor=SimpleSpanProcessor(spans),
        log_stream=io.StringIO(),
        environ={},
    )

    async def boom() -> None:
        raise RuntimeError("disk on fire")

    app.add_api_route("/boom", boom)
    with serve_app(app) as url, httpx.Client(base_url=url) as client:
        assert client.get("/boom").status_code == 500
        deadline = time.monotonic() + 5
        # Start-up's migration spans finish first: wait for the request's own.
        while time.monotonic() < deadline and not any(
            s.kind == SpanKind.SERVER for s in spans.get_finished_spans()
        ):
            time.sleep(0.02)
    [server] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert server.name == "GET /boom"
    assert_failed_span(server, error_type="RuntimeError", message="disk on fire")


def test_metrics_count_routes_not_paths_and_skip_the_scrape(service: Service):
    for _ in range(3):
        service.client.get("/orders/999999")
    service.client.get("/no/such/page")
    service.client.get("/healthz")
    samples = service.metrics()
    service.metrics()
    totals = {
        (s.labels["route"], s.labels["code"]): s.value
        for s in samples["http_requests"]
        if s.name == "http_requests_total"
    }
    assert totals == {("/orders/{order_id}", "404"): 3, ("unmatched", "404"): 1}


def test_made_up_methods_add_no_metric_series(service: Service):
    """Methods the HTTP conventions do not know (WebDAV's, which the HTTP parser lets
    through) are counted and logged as ``_OTHER``."""
    trace_id = f"{random.getrandbits(128):032x}"
    headers = {"traceparent": f"00-{trace_id}-{'56' * 8}-01"}
    for method in ("PROPFIND", "MKCOL"):
        assert service.client.request(method, "/orders", headers=headers).status_code == 405
    methods = {
        s.labels["method"]
        for s in service.metrics()["http_requests"]
        if s.name == "http_requests_total"
    }
    assert methods == {"_OTHER"}
    lines = service.logs_where(lambda doc: doc.get("trace.id") == trace_id, expected=2)
    assert [line["http.request.method"] for line in lines] == ["_OTHER", "_OTHER"]
    servers = [s for s in service.spans_of(trace_id) if s.kind == SpanKind.SERVER]
    assert sorted((s.attributes or {})["http.request.method_original"] for s in servers) == [
        "MKCOL",
        "PROPFIND",
    ]


def test_fault_switch_needs_the_admin_token(service: Service):
    assert service.client.get("/admin/faults").status_code == 401
    wrong = service.client.get("/admin/faults", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"
    assert service.client.get("/admin/faults", headers=ADMIN).json() == {"faults": {}}


def test_fault_switch_is_off_without_a_configured_token(db_url: str):
    for service in start(db_url, admin_token=None):
        response = service.client.get("/admin/faults", headers=ADMIN)
        assert response.status_code == 403
        assert "ORDERS_ADMIN_TOKEN" in response.json()["error"]["message"]


def test_fault_switch_fails_and_slows_one_route(service: Service):
    order_id = service.client.post("/orders", json=ORDER).json()["id"]
    faults = {"faults": {"/orders/{order_id}": {"error_ratio": 1.0, "latency_ms": 350}}}
    put = service.client.put("/admin/faults", json=faults, headers=ADMIN)
    assert put.status_code == 200
    assert put.json() == {
        "faults": {"/orders/{order_id}": {"error_ratio": 1.0, "latency_ms": 350.0}}
    }

    failed = service.client.get(f"/orders/{order_id}")
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "injected_fault"
    assert failed.elapsed.total_seconds() >= 0.35
    assert service.client.get("/orders").status_code == 200  # other routes untouched

    errors = service.logs_where(lambda d: d["log.level"] == "ERROR")
    assert errors, "a failed request logs at ERROR, for the evidence query"
    assert all("trace.id" in d for d in errors)

    samples = service.metrics()
    codes = {
        s.labels["code"]: s.value
        for s in samples["http_requests"]
        if s.name == "http_requests_total" and s.labels["route"] == "/orders/{order_id}"
    }
    assert codes == {"500": 1}
    slow = {
        s.labels["le"]: s.value
        for s in samples["http_request_duration_seconds"]
        if s.name.endswith("_bucket") and s.labels["route"] == "/orders/{order_id}"
    }
    assert slow["0.3"] == 0, "an added 350 ms is beyond the latency SLO's 300 ms"
    assert slow["0.5"] == 1

    assert service.client.delete("/admin/faults", headers=ADMIN).json() == {"faults": {}}
    assert service.client.get(f"/orders/{order_id}").status_code == 200


def test_fault_ratio_fails_about_that_share(service: Service):
    service.client.put("/admin/faults", json={"faults": {"*": {"error_ratio": 0.5}}}, headers=ADMIN)
    codes = [service.client.get("/orders").status_code for _ in range(60)]
    assert set(codes) == {200, 500}
    assert 15 <= codes.count(500) <= 45


def test_faults_from_the_environment(db_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ORDERS_FAULTS", json.dumps({"*": {"error_ratio": 1}}))
    for service in start(db_url):
        assert service.client.get("/orders").status_code == 500
        assert service.client.get("/healthz").status_code == 200


def test_a_sqlite_reader_does_not_hold_up_writers(tmp_path: Path):
    """The SQLite file is in WAL mode: an order is created while another connection
    sits in a read transaction, which still sees the orders as they were."""
    path = tmp_path / "orders.db"
    for service in start(f"sqlite:///{path}"):
        assert service.client.post("/orders", json=ORDER).status_code == 201
        reader = sqlite3.connect(path, isolation_level=None, timeout=0.5)
        try:
            assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            with make_engine(f"sqlite:///{path}").connect() as own:  # per connection: NORMAL
                assert own.exec_driver_sql("PRAGMA synchronous").scalar() == 1
            reader.execute("BEGIN")
            assert reader.execute("SELECT count(*) FROM orders").fetchone() == (1,)
            started = time.monotonic()
            assert service.client.post("/orders", json=ORDER).status_code == 201
            # Without WAL the commit waits out SQLite's 5 s busy timeout, then fails.
            assert time.monotonic() - started < 4
            assert reader.execute("SELECT count(*) FROM orders").fetchone() == (1,)
            reader.execute("COMMIT")
            assert reader.execute("SELECT count(*) FROM orders").fetchone() == (2,)
        finally:
            reader.close()


def test_migration_goes_down_and_up(db_url: str):
    engine = make_engine(db_url)
    try:
        migrate(engine)
        assert "orders" in inspect(engine).get_table_names()
        downgrade(engine)
        assert "orders" not in inspect(engine).get_table_names()
        migrate(engine)
        assert "orders" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_every_selector_of_the_orders_slos_matches_the_exposition(tmp_path: Path):
    """slo_specs/orders.yaml and the service agree on metric names and labels."""
    with database_url("sqlite", tmp_path) as url:
        for service in start(url):
            order_id = service.client.post("/orders", json=ORDER).json()["id"]
            service.client.get(f"/orders/{order_id}")
            faults = {"faults": {"/orders": {"error_ratio": 1.0}}}
            service.client.put("/admin/faults", json=faults, headers=ADMIN)
            assert service.client.get("/orders").status_code == 500
            exposed = [
                (s.name, s.labels) for samples in service.metrics().values() for s in samples
            ]

    slos = load_specs([ROOT / "slo_specs" / "orders.yaml"]).slos
    checked = 0
    for slo in slos:
        sli = slo.sli
        queries: list[str] = []
        if sli.ratio is not None:
            queries += [q for q in (sli.ratio.errors, sli.ratio.total) if q]
        if sli.events is not None:
            queries += [q for q in (sli.events.error_query, sli.events.total_query) if q]
        for query in queries:
            for found in find_selectors(query.replace("{{window}}", "5m")):
                assert any(found.selector.matches(n, labels) for n, labels in exposed), (
                    f"{slo.id}: {found.selector.render()} selects nothing the service exposes"
                )
                checked += 1
        if sli.latency is not None:
            bucket = parse_selector(sli.latency.metric)
            name = f"{bucket.name}_bucket"
            les = {
                labels["le"] for n, labels in exposed if bucket.with_name(name).matches(n, labels)
            }
            assert format_number(sli.latency.threshold) in les, (slo.id, les)
            assert float(sli.latency.threshold) in LATENCY_BUCKETS
            checked += 1
    assert checked >= 5


def test_unsampled_requests_log_their_trace_id_but_give_no_exemplar(service: Service):
    """A caller that did not sample its trace: no span exported, no exemplar pointing nowhere."""
    trace_id = f"{random.getrandbits(128):032x}"
    header = {"traceparent": f"00-{trace_id}-{'cd' * 8}-00"}
    assert service.client.get("/orders/77", headers=header).status_code == 404
    assert service.log_of(trace_id)["http.response.status_code"] == 404
    assert not [
        s for s in service.spans.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id
    ]
    [counted] = [
        s
        for s in service.metrics()["http_requests"]
        if s.name == "http_requests_total" and s.labels["code"] == "404"
    ]
    assert counted.value == 1
    assert counted.exemplar is None


def test_the_served_service_freezes_its_start_up_heap(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m sample_service`` keeps start-up objects out of full collections.

    Full collections that walked them cost both variants of
    bench/instrumentation.py 30-40 us per request; apps built by tests must
    not freeze, or their cycles would never be freed.
    """
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("ORDERS_INSTRUMENTATION", "false")
    served = app_handed_to_uvicorn(monkeypatch, lambda: sample_main(["--port", "1"]))
    assert_only_the_served_app_freezes(
        served, create_app(Settings(database_url=db_url, instrumentation=False))
    )


def test_streamed_answers_pass_whole_and_are_counted_once(db_url: str):
    """The middleware holds the status line until the first body chunk: nothing is lost."""
    log = io.StringIO()
    app = create_app(Settings(database_url=db_url), log_stream=log, environ={})

    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"a", b"b", b"c"):
            yield part

    app.add_api_route("/stream", lambda: StreamingResponse(chunks()))
    with serve_app(app) as url, httpx.Client(base_url=url) as client:
        streamed = client.get("/stream")
        assert (streamed.status_code, streamed.text) == (200, "abc")
        logging.getLogger("sample_service").handlers[0].flush()
        counted = client.get("/metrics").text
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    access = [(d["http.route"], d["http.response.status_code"]) for d in lines if "http.route" in d]
    assert access == [("/stream", 200)]
    assert 'http_requests_total{code="200",method="GET",route="/stream",service="orders"} 1.0' in (
        counted
    )


def test_worker_threads_bound_the_endpoints_running_at_once(tmp_path: Path):
    """``ORDERS_WORKER_THREADS`` is the size of the pool sync endpoints run in (anyio's is 40)."""
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'orders.db'}", worker_threads=2),
        log_stream=io.StringIO(),
        environ={},
    )
    running = [0, 0]  # now, most at once
    lock = threading.Lock()

    def slow() -> dict[str, int]:
        with lock:
            running[0] += 1
            running[1] = max(running)
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return {}

    app.add_api_route("/slow", slow)
    with serve_app(app) as url, ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: httpx.get(f"{url}/slow", timeout=10), range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    assert running[1] == 2
    # A connection for each thread, kept open.
    assert app.state.orders.engine.pool.size() == 2
    assert Settings(worker_threads=40).worker_threads == 40
    with pytest.raises(ValidationError, match="worker_threads"):
        Settings(worker_threads=0)


def test_log_flush_interval_is_how_long_a_line_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """``ORDERS_LOG_FLUSH_INTERVAL``: how long lines wait for the writer (or a full batch)."""
    monkeypatch.setenv("ORDERS_LOG_FLUSH_INTERVAL", "3600")
    log = io.StringIO()
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'orders.db'}"), log_stream=log, environ={}
    )
    with serve_app(app) as url:
        assert httpx.get(f"{url}/orders").status_code == 200
        time.sleep(0.5)  # five default intervals
        assert log.getvalue() == ""
        logging.getLogger(LOGGER_NAME).handlers[0].flush()
        assert '"http.route": "/orders"' in log.getvalue()
    with pytest.raises(ValidationError, match="log_flush_interval"):
        Settings(log_flush_interval=0)
