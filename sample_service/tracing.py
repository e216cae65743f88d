"""OpenTelemetry traces: a tracer provider per app, exported over OTLP when configured.

The exporter is configured the standard way, from ``OTEL_EXPORTER_OTLP_ENDPOINT``
or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (and the other ``OTEL_EXPORTER_OTLP_*``
variables, which the exporter reads itself); with neither set, or with
``OTEL_TRACES_EXPORTER=none``, spans are recorded (so logs and exemplars
carry trace ids) but sent nowhere. ``OTEL_TRACES_SAMPLER`` and
``OTEL_TRACES_SAMPLER_ARG`` choose the sampler as the specification says
(default ``parentbased_always_on``: every request traced, as the demo wants;
``parentbased_traceidratio`` with ``0.1`` keeps a tenth, which is what the
overhead figures in docs/benchmarks.md recommend under load). The provider
is passed to the FastAPI and
SQLAlchemy instrumentation instead of being made global, so apps built in
one process do not share spans.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import NoOpMeterProvider
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
from sqlalchemy import Engine

#: Requests that are not traced: the scrape and the health checks.
UNTRACED_URLS = "/metrics,/healthz"


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
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def instrument(app: FastAPI, engine: Engine, provider: TracerProvider) -> None:
    """Trace every request (one server span; no per-message send/receive spans) and query."""
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        meter_provider=NoOpMeterProvider(),
        excluded_urls=UNTRACED_URLS,
        exclude_spans=["receive", "send"],
    )
    # EngineTracer instruments one engine; SQLAlchemyInstrumentor().instrument()
    # would also patch create_engine process-wide.
    meter = NoOpMeterProvider().get_meter(__name__)
    EngineTracer(  # type: ignore[no-untyped-call]
        provider.get_tracer("opentelemetry.instrumentation.sqlalchemy"),
        engine,
        meter.create_up_down_counter("db.client.connections.usage"),
    )
