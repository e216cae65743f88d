"""``create_app``: the orders service with its database, fault switch and telemetry.

Everything the app touches is made here or handed in (settings, metrics
registry, span processor, log stream, random source), never at import time, so
tests build as many independent apps as they like.
"""

from __future__ import annotations

import gc
import os
import random
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import IO

import anyio.to_thread
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry.sdk.trace import SpanProcessor
from prometheus_client import CollectorRegistry

from sample_service import __doc__ as package_doc
from sample_service.api import admin, errors, health, orders
from sample_service.db import make_engine, migrate, session_factory
from sample_service.faults import FaultSwitch
from sample_service.logs import configure_logging
from sample_service.metrics import HttpMetrics, metrics_endpoint
from sample_service.middleware import RequestTelemetryMiddleware
from sample_service.settings import Settings
from sample_service.state import AppState
from sample_service.tracing import make_tracer_provider, trace_queries

VERSION = "1.0.0"

#: FastAPI's native telemetry, all of it switched off (see create_app).
NO_FASTAPI_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}


def create_app(
    settings: Settings | None = None,
    *,
    registry: CollectorRegistry | None = None,
    span_processor: SpanProcessor | None = None,
    log_stream: IO[str] | None = None,
    rng: random.Random | None = None,
    environ: Mapping[str, str] | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """Build the service.

    Args:
        settings: defaults to ``Settings()`` (the environment).
        registry: where the metrics go; a fresh ``CollectorRegistry`` if None.
        span_processor: receives the spans instead of the OTLP exporter (tests).
        log_stream: where JSON logs go besides ``settings.log_file``; stdout if None.
        rng: the fault switch's random source.
        environ: the ``OTEL_*`` variables; ``os.environ`` if None.
        freeze_heap: once started, move every object alive into the garbage
            collector's permanent generation (``gc.freeze``), so full
            collections walk only what requests made since; for a process that
            runs one app (``python -m sample_service``), not for tests that build
            many apps in one process, where frozen cycles would never be freed.
    """
    settings = settings or Settings()
    engine = make_engine(settings.database_url, threads=settings.worker_threads)
    logger = configure_logging(
        service_name=settings.service_name,
        level=settings.log_level,
        stream=log_stream,
        log_file=settings.log_file,
        flush_interval=settings.log_flush_interval,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # FastAPI runs sync endpoints and dependencies through anyio's default
        # thread limiter, one per event loop: this one's.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        if settings.migrate_on_start:
            migrate(engine)
        if freeze_heap:
            # What start-up made lives as long as the process: keep it out of
            # the full collections (docs/benchmarks.md, instrumentation).
            gc.collect()
            gc.freeze()
        logger.info("orders service started", extra={"ecs": {"event.action": "start"}})
        try:
            yield
        finally:
            if state.tracer_provider is not None:
                state.tracer_provider.shutdown()
            engine.dispose()

    app = FastAPI(
        # FastAPI's own OpenTelemetry support is off: RequestTelemetryMiddleware
        # makes the server span, metrics and logs with the app's own providers.
        # Left on, it would add a second server span (and OpenTelemetry metrics
        # and logs) whenever a global provider is set, as `opentelemetry-instrument` does.
        telemetry=NO_FASTAPI_TELEMETRY,
        title="Orders",
        version=VERSION,
        summary="The instrumented CRUD service of the sloctl demo.",
        description=package_doc,
        lifespan=lifespan,
    )
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        faults=FaultSwitch(settings.faults, rng=rng),
        logger=logger,
        metrics=None,
        tracer_provider=None,
    )
    app.state.orders = state
    errors.install(app)
    app.include_router(orders.router)
    app.include_router(admin.router)
    app.include_router(health.router)

    if settings.instrumentation:
        state.metrics = HttpMetrics(settings.service_name, registry)
        state.tracer_provider = make_tracer_provider(
            settings.service_name,
            os.environ if environ is None else environ,
            processor=span_processor,
        )
        app.add_middleware(
            RequestTelemetryMiddleware,
            metrics=state.metrics,
            logger=logger,
            tracer=state.tracer_provider.get_tracer("sample_service", VERSION),
        )
        app.add_route("/metrics", metrics_endpoint(state.metrics.registry), include_in_schema=False)
        trace_queries(engine, state.tracer_provider.get_tracer("sample_service.db", VERSION))
    return app
