"""OpenTelemetry traces: a tracer provider per app, exported over OTLP when configured.

Requests are traced by ``RequestTelemetryMiddleware`` (one server span each,
named after the route template), queries by ``trace_queries`` (SQLAlchemy's
dialect events). The exporter is configured the standard way, from ``OTEL_EXPORTER_OTLP_ENDPOINT``
or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (and the other ``OTEL_EXPORTER_OTLP_*``
variables, which the exporter reads itself); with neither set, or with
``OTEL_TRACES_EXPORTER=none``, spans are recorded (so logs and exemplars
carry trace ids) but sent nowhere. ``OTEL_TRACES_SAMPLER`` and
``OTEL_TRACES_SAMPLER_ARG`` choose the sampler as the specification says
(default ``parentbased_always_on``: every request traced, as the demo wants;
``parentbased_traceidratio`` with ``0.1`` keeps a tenth, which is what the
overhead figures in docs/benchmarks.md recommend under load). The provider
is handed to both instead of being made global, so apps built in one process
do not share spans.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    DEFAULT_OFF,
    DEFAULT_ON,
    ParentBasedTraceIdRatio,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AnyValue
from sqlalchemy import Engine, event

from sample_service.spans import SpanRecorder


def otlp_configured(environ: Mapping[str, str]) -> bool:
    """Whether the standard variables ask for OTLP trace export."""
    if environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def sampler_from(environ: Mapping[str, str]) -> Sampler:
    """The sampler ``OTEL_TRACES_SAMPLER`` (and ``_ARG``) name; a ValueError if unknown.

    The SDK reads the same variables from ``os.environ`` itself; reading them
    from the mapping the app was given keeps the environment injectable.
    """
    name = environ.get("OTEL_TRACES_SAMPLER", "parentbased_always_on").strip().lower()
    fixed = {
        "always_on": ALWAYS_ON,
        "always_off": ALWAYS_OFF,
        "parentbased_always_on": DEFAULT_ON,
        "parentbased_always_off": DEFAULT_OFF,
    }
    if name in fixed:
        return fixed[name]
    if name not in ("traceidratio", "parentbased_traceidratio"):
        raise ValueError(f"OTEL_TRACES_SAMPLER={name!r} is not a sampler this service knows")
    arg = environ.get("OTEL_TRACES_SAMPLER_ARG", "1.0")
    try:
        ratio = float(arg)
    except ValueError:
        ratio = -1.0
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"OTEL_TRACES_SAMPLER_ARG={arg!r} must be a ratio from 0 to 1")
    return TraceIdRatioBased(ratio) if name == "traceidratio" else ParentBasedTraceIdRatio(ratio)


def make_tracer_provider(
    service_name: str, environ: Mapping[str, str], *, processor: SpanProcessor | None = None
) -> TracerProvider:
    """A provider naming the service; OTLP export per ``environ``, or ``processor`` if given."""
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service_name}), sampler=sampler_from(environ)
    )
    if processor is not None:
        provider.add_span_processor(processor)
    elif otlp_configured(environ):
        # Imported here: the exporter pulls in protobuf, which a service without
        # an OTLP endpoint never needs.
        from sample_service.otlp import LeanOTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(LeanOTLPSpanExporter()))
    return provider


def fail(span: Span, error: Exception) -> None:
    """Mark ``span`` failed by ``error``: ``error.type``, the exception event, an error status."""
    if span.is_recording():
        span.set_attribute("error.type", type(error).__qualname__)
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__qualname__}: {error}"))


def trace_queries(engine: Engine, tracer: Tracer) -> None:
    """A client span around every statement ``engine`` sends to the database.

    The span is a child of the span current at the time (the request's), is
    named and described as the database semantic conventions say (stable
    names): ``SELECT orders``, with ``db.system.name``, ``db.namespace``,
    ``db.operation.name``, the statement as ``db.query.text`` (with its
    placeholders, never the values), ``server.address`` and ``server.port``;
    a failed statement gets ``error.type``, the exception and an error status.

    It hooks SQLAlchemy's dialect events (``do_execute`` and its
    ``executemany`` and no-parameters siblings), which wrap the driver call
    itself, and then calls the dialect's own method, so every driver keeps
    its way of executing. opentelemetry-instrumentation-sqlalchemy listens to
    the engine's cursor events instead, and those events alone cost more than
    this whole span (docs/benchmarks.md).
    """
    url = engine.url
    system = engine.dialect.name
    common: dict[str, str | int] = {"db.system.name": system}
    if url.database:
        common["db.namespace"] = url.database
    if url.host:
        common["server.address"] = url.host
        if url.port:  # the conventions want it when it is not the default
            common["server.port"] = url.port
    # A SQLite database is a file; its path makes a poor span name.
    target = url.database if url.database and system != "sqlite" else None

    recorder = SpanRecorder.of(tracer)

    @functools.lru_cache(maxsize=512)
    def describe(statement: str) -> tuple[str, Mapping[str, AnyValue]]:
        words = statement.split(None, 1)
        operation = words[0].upper() if words else ""
        attributes: dict[str, AnyValue] = {**common, "db.query.text": statement}
        if operation:
            attributes["db.operation.name"] = operation
        name = " ".join(part for part in (operation, target) if part) or system
        # Cleaned and bounded once per statement, shared by its spans.
        return name, attributes if recorder is None else recorder.attributes(attributes)

    def traced(statement: str, run: Callable[..., None], *args: Any) -> bool:
        """``run(*args)`` (the dialect's own method) inside the statement's span."""
        name, attributes = describe(statement)
        parent = trace.get_current_span().get_span_context()
        sampled = None if recorder is None else recorder.sampled(parent)
        if recorder is None or sampled is None:  # a root span, or a sampler only the tracer knows
            span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
            try:
                run(*args)
            except Exception as error:
                fail(span, error)
                raise
            finally:
                span.end()
        elif not sampled:
            run(*args)
        else:
            start = time.time_ns()
            try:
                run(*args)
            except BaseException as error:
                if not isinstance(error, Exception):  # an interrupt: the span ends as it is
                    recorder.child(name, SpanKind.CLIENT, parent, attributes, start)
                    raise
                # Rare: the tracer's own span records the exception.
                span = tracer.start_span(
                    name, kind=SpanKind.CLIENT, attributes=attributes, start_time=start
                )
                fail(span, error)
                span.end()
                raise
            recorder.child(name, SpanKind.CLIENT, parent, attributes, start)
        return True  # executed: SQLAlchemy does not call the driver again

    def execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        return traced(statement, context.dialect.do_execute, cursor, statement, parameters, context)

    def executemany(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        run = context.dialect.do_executemany
        return traced(statement, run, cursor, statement, parameters, context)

    def execute_no_params(cursor: Any, statement: str, context: Any) -> bool:
        return traced(statement, context.dialect.do_execute_no_params, cursor, statement, context)

    event.listen(engine, "do_execute", execute)
    event.listen(engine, "do_executemany", executemany)
    event.listen(engine, "do_execute_no_params", execute_no_params)
