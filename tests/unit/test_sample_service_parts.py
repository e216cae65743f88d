"""Pure parts of the sample service: settings, fault switch, log format, URLs, load limits."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import random
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import ValidationError
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    select,
    text,
)
from sqlalchemy.exc import OperationalError

from sample_service import loadgen, logs
from sample_service.db import normalise_url
from sample_service.faults import Fault, FaultSwitch
from sample_service.loadgen import MIX, Workload, check_limits
from sample_service.logs import (
    AccessFields,
    EcsJsonFormatter,
    configure_logging,
    log_access,
    log_fields,
    timestamp,
)
from sample_service.settings import DEFAULT_DATABASE_URL, Settings
from sample_service.tracing import otlp_configured, sampler_from, trace_queries
from tests.support.sample import assert_failed_span


def test_settings_come_from_the_standard_variables(monkeypatch: pytest.MonkeyPatch):
    for name in ("DATABASE_URL", "OTEL_SERVICE_NAME", "ORDERS_FAULTS", "ORDERS_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert Settings().database_url == DEFAULT_DATABASE_URL
    assert DEFAULT_DATABASE_URL.startswith("sqlite:")
    assert Settings().admin_token is None
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/orders")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "orders-eu")
    monkeypatch.setenv("ORDERS_FAULTS", '{"/orders": {"error_ratio": 0.25, "latency_ms": 100}}')
    settings = Settings()
    assert settings.database_url == "postgresql://u@db/orders"
    assert settings.service_name == "orders-eu"
    assert settings.faults == {"/orders": Fault(error_ratio=0.25, latency_ms=100)}


def test_bad_fault_from_the_environment_names_the_field(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ORDERS_FAULTS", '{"*": {"error_ratio": 1.5}}')
    with pytest.raises(ValidationError, match=r"faults\.\*\.error_ratio"):
        Settings()


def test_fault_of_a_route_beats_the_wildcard_and_inactive_ones_are_dropped():
    switch = FaultSwitch(
        {
            "*": Fault(latency_ms=50),
            "/orders": Fault(error_ratio=1.0),
            "/healthz": Fault(),
        },
        rng=random.Random(1),
    )
    assert set(switch.current()) == {"*", "/orders"}
    assert switch.decide("/orders").fail is True
    assert switch.decide("/orders").delay_s == 0
    other = switch.decide("/orders/{order_id}")
    assert (other.fail, other.delay_s) == (False, 0.05)
    switch.replace({})
    assert switch.decide("/orders").fail is False


def test_fault_ratio_is_a_share_of_requests():
    switch = FaultSwitch({"*": Fault(error_ratio=0.2)}, rng=random.Random(42))
    failed = sum(switch.decide("/orders").fail for _ in range(5000))
    assert 900 <= failed <= 1100


def test_log_lines_are_ecs_json_with_the_current_span():
    stream = io.StringIO()
    logger = configure_logging(service_name="orders", stream=stream)
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        logger.warning("stock low", extra={"ecs": {"event.action": "restock"}})
    logger.info("outside")
    logger.handlers[0].flush()  # written by a background thread
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    context = span.get_span_context()
    assert inside["trace.id"] == f"{context.trace_id:032x}"
    assert inside["span.id"] == f"{context.span_id:016x}"
    assert inside["log.level"] == "WARNING"
    assert inside["service.name"] == "orders"
    assert inside["message"] == "stock low"
    assert inside["event.action"] == "restock"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", inside["@timestamp"])
    assert "trace.id" not in outside
    assert logging.getLogger("sample_service").propagate is False


def lines_within(stream: io.StringIO, count: int, seconds: float) -> int:
    """How many lines ``stream`` holds once it has ``count`` or ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while stream.getvalue().count("\n") < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return stream.getvalue().count("\n")


def test_the_writer_thread_writes_on_its_own_without_a_flush():
    stream = io.StringIO()
    logger = configure_logging(service_name="orders", stream=stream)
    logger.info("one")
    assert lines_within(stream, 1, 10) == 1  # every FLUSH_INTERVAL_S (0.1 s)
    assert json.loads(stream.getvalue())["message"] == "one"


def test_a_full_batch_wakes_the_writer_before_its_interval():
    stream = io.StringIO()
    logger = configure_logging(service_name="orders", stream=stream, flush_interval=3600.0)
    try:
        for n in range(logs.BATCH_LINES - 1):
            logger.info("line %d", n)
        assert lines_within(stream, 1, 0.5) == 0  # waits for its hour, or a full batch
        logger.info("the last of a batch")
        assert lines_within(stream, logs.BATCH_LINES, 10) == logs.BATCH_LINES
    finally:
        logger.handlers[0].stop()


def test_log_lines_survive_uvicorn_configuring_logging():
    """uvicorn's dictConfig closes every handler after the app is built; lines still come."""
    import logging.config

    stream = io.StringIO()
    logger = configure_logging(service_name="orders", stream=stream)
    logger.info("before")
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("request") as span:
        logger.info("after")
    logger.handlers[0].flush()
    before, after = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (before["message"], after["message"]) == ("before", "after")
    # Written by the background thread, with the span of the thread that logged.
    assert after["span.id"] == f"{span.get_span_context().span_id:016x}"


def test_log_lines_carry_the_exception():
    stream = io.StringIO()
    logger = configure_logging(service_name="orders", stream=stream)
    try:
        raise KeyError("gone")
    except KeyError:
        logger.exception("lookup failed")
    logger.handlers[0].flush()
    doc = json.loads(stream.getvalue())
    assert doc["log.level"] == "ERROR"
    assert doc["error.type"] == "KeyError"
    assert "KeyError: 'gone'" in doc["error.stack_trace"]


def test_the_fast_access_line_is_the_line_logging_would_write():
    stream = io.StringIO()
    logger = configure_logging(service_name="orders", stream=stream)
    fields = {"http.route": "/orders", "http.response.status_code": 201}
    with TracerProvider().get_tracer("test").start_as_current_span("request"):
        logger.info("POST /orders 201", extra={"ecs": fields})
        log_fields(logger, logging.INFO, "POST /orders 201", fields)
    log_fields(logger, logging.DEBUG, "below the level", fields)
    logger.handlers[0].flush()
    slow, fast = (json.loads(line) for line in stream.getvalue().splitlines())
    assert abs(parse_time(slow["@timestamp"]) - parse_time(fast["@timestamp"])) < 1
    del slow["@timestamp"], fast["@timestamp"]
    assert fast == slow
    assert fast["http.route"] == "/orders"
    assert len(str(fast["trace.id"])) == 32


def test_the_access_line_reaches_other_handlers_as_a_record():
    logger = configure_logging(service_name="orders", stream=io.StringIO())
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    extra = Keep()
    logger.addHandler(extra)
    try:
        log_fields(logger, logging.ERROR, "GET /orders 500", {"http.response.status_code": 500})
    finally:
        logger.removeHandler(extra)
    [record] = seen
    assert record.getMessage() == "GET /orders 500"
    assert record.levelno == logging.ERROR
    assert record.ecs == {"http.response.status_code": 500}


def test_log_timestamps_match_the_clock_to_the_millisecond():
    formatter = EcsJsonFormatter("orders")
    for created in (1_764_000_000.0, 1_764_000_000.999, 1_764_000_001.5, 1_764_000_000.25):
        assert formatter.timestamp(created) == timestamp(created)


def parse_time(text: object) -> float:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()


TracedEngine = tuple[Engine, InMemorySpanExporter]


@pytest.fixture
def traced_engine() -> Iterator[TracedEngine]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    engine = create_engine("sqlite://")
    trace_queries(engine, provider.get_tracer("test"))
    yield engine, spans
    engine.dispose()


def test_every_kind_of_statement_gets_a_query_span(traced_engine: TracedEngine):
    engine, spans = traced_engine
    table = Table(
        "items", MetaData(), Column("id", Integer, primary_key=True), Column("name", String)
    )
    with engine.begin() as conn:
        table.create(conn)  # DDL, no parameters
        conn.execute(insert(table), [{"name": "a"}, {"name": "b"}, {"name": "c"}])  # executemany
        conn.execute(select(table).where(table.c.name == "b"))  # one set of parameters
        conn.exec_driver_sql("select count(*) from items")  # no parameters
    assert [(s.name, s.kind) for s in spans.get_finished_spans()] == [
        ("CREATE", SpanKind.CLIENT),
        ("INSERT", SpanKind.CLIENT),
        ("SELECT", SpanKind.CLIENT),
        ("SELECT", SpanKind.CLIENT),
    ]
    insert_span = spans.get_finished_spans()[1]
    assert dict(insert_span.attributes or {}) == {
        "db.system.name": "sqlite",
        "db.operation.name": "INSERT",
        "db.query.text": "INSERT INTO items (name) VALUES (?)",
    }
    with engine.connect() as conn:  # the rows really went in, once each
        assert conn.exec_driver_sql("select name from items order by id").scalars().all() == [
            "a",
            "b",
            "c",
        ]


def test_a_failed_statement_fails_its_span(traced_engine: TracedEngine):
    engine, spans = traced_engine
    with pytest.raises(OperationalError, match="no such table"), engine.connect() as conn:
        conn.execute(text("SELECT * FROM missing WHERE id = :id"), {"id": 1})
    [span] = spans.get_finished_spans()
    assert span.name == "SELECT"
    assert_failed_span(span, error_type="OperationalError", message="no such table")


@pytest.mark.parametrize("sampler", ["parentbased_always_on", "always_on"])
def test_query_spans_inside_a_span_are_its_children(sampler: str):
    spans = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler_from({"OTEL_TRACES_SAMPLER": sampler}))
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("test")
    engine = create_engine("sqlite://")
    trace_queries(engine, tracer)
    with tracer.start_as_current_span("request") as request, engine.connect() as conn:
        before = time.time_ns()
        conn.exec_driver_sql("select 1")
        after = time.time_ns()
        with pytest.raises(OperationalError, match="no such table"):
            conn.exec_driver_sql("select * from missing")
    query, failed, parent = spans.get_finished_spans()
    ids = request.get_span_context()
    for span in (query, failed):
        assert span.parent == ids
        assert span.context is not None
        assert span.context.trace_id == ids.trace_id
        assert span.context.trace_flags == ids.trace_flags
        assert span.instrumentation_scope is not None
        assert span.instrumentation_scope.name == "test"
    assert query.name == "SELECT"
    assert query.status.status_code == StatusCode.UNSET
    assert query.start_time is not None
    assert query.end_time is not None
    assert before <= query.start_time <= query.end_time <= after
    assert_failed_span(failed, error_type="OperationalError", message="no such table")
    assert parent.name == "request"
    engine.dispose()


def test_a_statement_interrupted_still_ends_its_span():
    class Interrupted(BaseException):
        pass

    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("test")
    engine = create_engine("sqlite://")
    trace_queries(engine, tracer)

    class Cursor:
        def execute(self, statement: str, parameters: object = None) -> None:
            raise Interrupted

    context = type("Context", (), {"dialect": engine.dialect})()
    [execute] = engine.dialect.dispatch.do_execute
    with tracer.start_as_current_span("request"), pytest.raises(Interrupted):
        execute(Cursor(), "select 1", {}, context)
    query, _request = spans.get_finished_spans()
    assert query.name == "SELECT"
    assert query.status.status_code == StatusCode.UNSET  # as the SDK's span would end
    engine.dispose()


def test_query_spans_of_an_unsampled_request_are_not_made():
    spans = InMemorySpanExporter()
    provider = TracerProvider(
        sampler=sampler_from({"OTEL_TRACES_SAMPLER": "parentbased_always_off"})
    )
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("test")
    engine = create_engine("sqlite://")
    trace_queries(engine, tracer)
    with tracer.start_as_current_span("request"), engine.connect() as conn:
        assert conn.exec_driver_sql("select 41 + 1").scalar() == 42  # the statement still runs
    assert spans.get_finished_spans() == ()
    engine.dispose()


def test_query_spans_of_a_server_database_name_it():
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    engine = create_engine("postgresql+psycopg://u@db.internal:6543/orders")
    trace_queries(engine, provider.get_tracer("test"))

    class Cursor:
        def execute(self, statement: str, parameters: object = None) -> None:
            self.statement = statement

    cursor = Cursor()
    context = type("Context", (), {"dialect": engine.dialect})()
    handled = [fn(cursor, "select 1", {}, context) for fn in engine.dialect.dispatch.do_execute]
    assert handled == [True]
    assert cursor.statement == "select 1"
    [span] = spans.get_finished_spans()
    assert span.name == "SELECT orders"
    assert dict(span.attributes or {}) == {
        "db.system.name": "postgresql",
        "db.namespace": "orders",
        "db.operation.name": "SELECT",
        "db.query.text": "select 1",
        "server.address": "db.internal",
        "server.port": 6543,
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db:5432/orders", "postgresql+psycopg://u:p@db:5432/orders"),
        ("postgres://u@db/orders", "postgresql+psycopg://u@db/orders"),
        ("postgresql+psycopg://u@db/orders", "postgresql+psycopg://u@db/orders"),
        ("sqlite:///var/orders.db", "sqlite:///var/orders.db"),
    ],
)
def test_database_urls_get_the_psycopg_driver(url: str, expected: str):
    assert normalise_url(url) == expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://jaeger:4318/v1/traces"}, True),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318", "OTEL_TRACES_EXPORTER": "none"},
            False,
        ),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_otlp_export_only_when_the_standard_variables_ask(environ: dict[str, str], expected: bool):
    assert otlp_configured(environ) is expected


@pytest.mark.parametrize(
    ("rate", "duration", "concurrency", "message"),
    [
        (0, 10, 1, "--rate"),
        (5000, 10, 1, "--rate"),
        (10, 0, 1, "--duration"),
        (10, 10**6, 1, "--duration"),
        (10, 10, 0, "--concurrency"),
    ],
)
def test_loadgen_is_bounded(rate: float, duration: float, concurrency: int, message: str):
    with pytest.raises(ValueError, match=message):
        check_limits(rate, duration, concurrency)


def test_loadgen_creates_first_then_follows_the_mix():
    workload = Workload(random.Random(5))
    assert workload.next_operation() == "create"
    workload.known.append(1)
    ops = [workload.next_operation() for _ in range(2000)]
    assert set(ops) == set(MIX)
    assert ops.count("get") > ops.count("list") > ops.count("delete")


def test_loadgen_counts_requests_without_an_answer_by_their_error():
    calls = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls % 2:
            raise httpx.ConnectError("refused", request=request)
        raise httpx.ReadTimeout("slow", request=request)

    summary = asyncio.run(
        loadgen.run(rate=50, duration=0.2, transport=httpx.MockTransport(answer))
    ).as_dict()
    assert summary["sent"] == calls > 0
    assert summary["statuses"] == {"error": calls}
    assert summary["errors"] == {"ConnectError": (calls + 1) // 2, "ReadTimeout": calls // 2}


@pytest.mark.parametrize(
    ("environ", "description"),
    [
        ({}, "ParentBased{root:AlwaysOnSampler"),
        ({"OTEL_TRACES_SAMPLER": "always_off"}, "AlwaysOffSampler"),
        (
            {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
            "ParentBased{root:TraceIdRatioBased{0.1}",
        ),
    ],
)
def test_sampler_follows_the_standard_variables(environ: dict[str, str], description: str):
    assert sampler_from(environ).get_description().startswith(description)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER='sometimes'"),
        ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, "from 0 to 1"),
        ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "x"}, "from 0 to 1"),
    ],
)
def test_unknown_sampler_settings_are_refused(environ: dict[str, str], message: str):
    with pytest.raises(ValueError, match=re.escape(message)):
        sampler_from(environ)


ids = st.text("0123456789abcdef", min_size=16, max_size=32)


@settings(max_examples=300, deadline=None)
@given(
    created=st.floats(min_value=0, max_value=4e9),
    level=st.sampled_from(["INFO", "ERROR"]),
    message=st.text(),
    method=st.text(),
    status=st.integers(min_value=100, max_value=599),
    route=st.text(),
    path=st.text(),
    duration=st.integers(min_value=0, max_value=10**12),
    trace_id=ids,
    span_id=ids,
)
def test_the_access_line_is_the_line_of_its_fields(
    created: float,
    level: str,
    message: str,
    method: str,
    status: int,
    route: str,
    path: str,
    duration: int,
    trace_id: str,
    span_id: str,
):
    """Written from a template, byte for byte what the JSON encoder writes of the same fields."""
    formatter = EcsJsonFormatter('orders "eu" \u00e9')
    access = AccessFields(method, status, route, path, duration, trace_id, span_id)
    expected = formatter.line(created, level, "sample_service", message, access.fields())
    assert formatter.access_line(created, level, "sample_service", message, access) == expected


def test_log_access_writes_what_log_fields_would():
    traced = AccessFields(
        "GET", 200, "/orders/{order_id}", "/orders/\u00e9", 5, "ab" * 16, "cd" * 8
    )
    untraced = traced._replace(trace_id=None, span_id=None)
    lines = []
    for write in (log_access, log_fields):
        stream = io.StringIO()
        logger = configure_logging(service_name="orders", stream=stream, flush_interval=3600)
        for access in (traced, untraced):
            fields: Any = access if write is log_access else access.fields()
            write(logger, logging.ERROR, "GET /orders/{order_id} 200 0.0 ms", fields)
        logger.handlers[0].stop()
        docs = [json.loads(line) for line in stream.getvalue().splitlines()]
        lines.append([{k: v for k, v in d.items() if k != "@timestamp"} for d in docs])
    assert lines[0] == lines[1]
    assert lines[0][0]["trace.id"] == "ab" * 16
    assert "trace.id" not in lines[0][1]
    assert lines[0][0]["log.level"] == "ERROR"
