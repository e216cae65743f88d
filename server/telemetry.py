"""Tracing the server's own requests with OpenTelemetry.

The exporter follows the standard ``OTEL_TRACES_EXPORTER`` variable: ``none``
(the default: no tracing overhead), ``otlp`` (OTLP over HTTP, configured by the
usual ``OTEL_EXPORTER_OTLP_*`` variables) or ``console``. Tests hand in an
in-memory exporter. The tracer provider is the app's own, never the global one.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

DEFAULT_SERVICE_NAME = "sloctl-server"
#: Probes and scrapes are not worth a span each.
EXCLUDED_URLS = "/healthz,/readyz,/metrics"


def exporter_from_env(environ: Mapping[str, str]) -> SpanExporter | None:
    """The span exporter ``OTEL_TRACES_EXPORTER`` names, or None for ``none``.

    Raises:
        ValueError: an exporter this server does not ship.
    """
    name = environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    if name in ("", "none"):
        return None
    if name == "console":
        return ConsoleSpanExporter()
    if name in ("otlp", "otlp_proto_http"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    raise ValueError(f"OTEL_TRACES_EXPORTER={name!r}: use none, otlp or console")


def instrument(
    app: FastAPI, exporter: SpanExporter, *, service_name: str, batch: bool = True
) -> TracerProvider:
    """Trace every request of ``app`` to ``exporter``; returns the provider to shut down."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=EXCLUDED_URLS)
    return provider
