"""The server application factory.

``create_app`` wires settings, the database, the registry, the budget engine
and the refresh job into a FastAPI app. Every external dependency can be
handed in (Prometheus, the clock, the metrics registry, the span exporter,
the database engine), so tests run the real app against a real Prometheus or
a double. Nothing happens at import time; the database is migrated, the
registry loaded and the refresh job started when the app starts (lifespan).
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from opentelemetry.sdk.trace.export import SpanExporter
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from server.alerts import AlertTracker
from server.api import errors
from server.api.main import api_router
from server.budget.engine import Engine as BudgetEngine
from server.context import ServerContext
from server.evidence import EvidenceBackends
from server.evidence import from_settings as evidence_from_settings
from server.metrics import ServerMetrics
from server.oncall.channels import Notifier, build_notifier
from server.oncall.escalation import Escalator
from server.prometheus import PrometheusAPI, PrometheusClient
from server.refresher import BudgetCache, Clock, Refresher
from server.registry import Registry
from server.settings import Settings
from server.store.db import make_engine, migrate, session_factory
from server.telemetry import DEFAULT_SERVICE_NAME, exporter_from_env, instrument
from server.views import Catalog
from server.web import evidence as web_evidence
from server.web import oncall as web_oncall
from server.web import routes as web
from sloctl import __version__
from sloctl.oncall.config import load_oncall

log = logging.getLogger("sloctl.server")


def utc_now() -> datetime:
    return datetime.now(UTC)


def freeze_startup_heap() -> None:
    """Keep the objects of start-up out of the garbage collector's full collections.

    A started server holds some 180,000 objects that live as long as the
    process (modules, models, the OpenAPI schema, SQLAlchemy and pydantic
    metadata). Python's full collection walks all of them every time it runs:
    100-150 ms on this project's CI machine, during which no request is
    answered, the largest part of the webhook's p99 in bench/webhook_ingest.py.
    Freezing them after start leaves full collections only the objects made
    since, which is what they are for. Not for tests that build many apps in
    one process: cycles frozen there would never be freed.
    """
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None,
    *,
    prometheus: PrometheusAPI | None = None,
    clock: Clock | None = None,
    metrics_registry: CollectorRegistry | None = None,
    span_exporter: SpanExporter | None = None,
    database: Engine | None = None,
    start_scheduler: bool = True,
    evidence_backends: EvidenceBackends | None = None,
    notifier: Notifier | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """Create the server app.

    Args:
        settings: defaults to :class:`Settings` read from the environment.
        prometheus: where budgets are read; defaults to a client for
            ``SLOCTL_SERVER_PROMETHEUS_URL`` (none when it is unset).
        clock: the time source; UTC wall clock by default.
        metrics_registry: where the server's own metrics live (a fresh one by default).
        span_exporter: traces of requests; defaults to ``OTEL_TRACES_EXPORTER``.
        database: an engine to use instead of ``DATABASE_URL``'s.
        start_scheduler: run the periodic refresh (tests call ``refresher.refresh()``).
        evidence_backends: exemplar, trace and log adapters; defaults to clients for the
            Prometheus, Jaeger and Elasticsearch URLs of the settings.
        notifier: how on-call notifications go out; defaults to the webhook, Slack and
            SMTP senders of the settings. Escalation jobs run only with
            ``start_scheduler``; otherwise they are stored and tests call
            ``incident_listener.run_due()``.
        freeze_heap: once started, move every object alive into the collector's
            permanent generation, for a process that runs one app (``sloctl
            serve``); see :func:`freeze_startup_heap`.
    """
    settings = settings or Settings()
    clock = clock or utc_now
    if prometheus is None and settings.prometheus_url:
        prometheus = PrometheusClient(
            settings.prometheus_url,
            headers=settings.prometheus_request_headers,
            timeout=settings.prometheus_timeout,
            verify_tls=settings.prometheus_verify_tls,
        )
    db = database or make_engine(settings.database_url)
    sessions = session_factory(db)
    metrics = ServerMetrics(metrics_registry or CollectorRegistry())
    registry = Registry(sessions)
    cache = BudgetCache()
    engine = (
        BudgetEngine(
            prometheus,
            raw_ttl=settings.raw_refresh_interval,
            coverage_ttl=settings.coverage_interval,
            raw_timeout=settings.raw_query_timeout,
        )
        if prometheus is not None
        else None
    )
    alerts = (
        AlertTracker(prometheus, sessions, timedelta(days=settings.history_retention_days))
        if prometheus is not None
        else None
    )
    refresher = Refresher(
        engine=engine,
        registry=registry,
        cache=cache,
        metrics=metrics,
        sessions=sessions,
        clock=clock,
        interval=settings.refresh_interval,
        history_interval=settings.history_interval,
        retention=timedelta(days=settings.history_retention_days),
        alerts=alerts,
    )
    context = ServerContext(
        settings=settings,
        clock=clock,
        db=db,
        sessions=sessions,
        registry=registry,
        cache=cache,
        refresher=refresher,
        catalog=Catalog(registry),
        metrics=metrics,
        evidence=evidence_from_settings(settings, clock, evidence_backends),
        alerts=alerts,
    )
    notify_http: httpx.Client | None = None
    if notifier is None:
        notify_http = httpx.Client(timeout=settings.notify_timeout)
        notifier = build_notifier(settings, notify_http)
    escalator = Escalator(
        engine=db,
        sessions=sessions,
        oncall=context.oncall_config,
        notifier=notifier,
        clock=clock,
        public_url=settings.public_url,
    )
    context.incident_listener = escalator

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(_start, context)
        # After _start: the on-call configuration is loaded, so reconciling sees the policies.
        await run_in_threadpool(escalator.start, run_jobs=start_scheduler)
        if start_scheduler:
            refresher.start()
        if freeze_heap:
            freeze_startup_heap()
        try:
            yield
        finally:
            refresher.stop()
            await run_in_threadpool(escalator.stop)
            if notify_http is not None:
                notify_http.close()
            context.evidence.close()
            if tracer is not None:
                tracer.shutdown()
            if database is None:
                db.dispose()

    app = FastAPI(
        title="sloctl server",
        version=__version__,
        summary="SLO registry and error budgets computed from Prometheus.",
        lifespan=lifespan,
    )
    app.state.context = context
    errors.install(app)
    app.include_router(api_router)
    site = web.install(app)
    web_evidence.install(app, site)
    web_oncall.install(app, site)
    exporter = span_exporter if span_exporter is not None else exporter_from_env(os.environ)
    tracer = (
        instrument(
            app,
            exporter,
            service_name=os.environ.get("OTEL_SERVICE_NAME", DEFAULT_SERVICE_NAME),
            batch=span_exporter is None,
        )
        if exporter is not None
        else None
    )
    return app


def _start(context: ServerContext) -> None:
    """Migrate the database, load the registry and the specs directory."""
    migrate(context.db)
    context.registry.load()
    specs_dir = context.settings.specs_dir
    if specs_dir is not None:
        outcome = context.registry.apply_specs_dir(specs_dir, now=context.clock())
        log.info(
            "loaded specs",
            extra={
                "specs_dir": str(specs_dir),
                # "created" is a LogRecord attribute: extras need names of their own.
                "slos_created": len(outcome.created),
                "slos_updated": len(outcome.updated),
                "slos_unchanged": len(outcome.unchanged),
                "slos_removed": len(outcome.removed),
            },
        )
    context.metrics.slos.set(len(context.registry.entries()))
    oncall_path = context.settings.oncall_config
    if oncall_path is not None:
        # A broken file stops the start: paging with a half-understood config is worse.
        context.oncall_config.set(load_oncall(oncall_path))
        log.info("loaded on-call configuration", extra={"oncall_config": str(oncall_path)})
