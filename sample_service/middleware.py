"""The ASGI middleware that measures, counts and logs every request.

It runs inside the OpenTelemetry server span (the FastAPI instrumentation wraps
the whole stack), so the span current here is the request's: its trace id goes
into the exemplars and the log line. A plain ASGI middleware, not Starlette's
BaseHTTPMiddleware, because that one costs a task and a stream per request.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sample_service.metrics import UNMATCHED_ROUTE, HttpMetrics

#: Paths not counted in the SLO metrics: Prometheus's scrape and health checks.
UNMEASURED_PATHS = frozenset({"/metrics", "/healthz"})


def route_of(scope: Scope) -> str:
    """The route template the router matched, or ``unmatched``."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class RequestTelemetryMiddleware:
    """Records ``http_requests_total``, ``http_request_duration_seconds`` and a log line."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics, logger: logging.Logger) -> None:
        self.app = app
        self.metrics = metrics
        self.logger = logger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNMEASURED_PATHS:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        recorded = False

        async def send_and_record(message: Message) -> None:
            # Recorded before the last body chunk goes out, so a client that has
            # its answer can already see it counted and logged.
            nonlocal status, recorded
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                recorded = True
                self._record(scope, status, time.perf_counter() - start)
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            if not recorded:  # the app raised, or never finished its answer
                self._record(scope, 500, time.perf_counter() - start)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        context = trace.get_current_span().get_span_context()
        # Only a sampled trace can be looked up, so only those become exemplars.
        sampled = context.is_valid and context.trace_flags.sampled
        trace_id = trace.format_trace_id(context.trace_id) if sampled else None
        route = route_of(scope)
        method = str(scope["method"])
        self.metrics.observe(
            route=route, method=method, code=status, seconds=seconds, trace_id=trace_id
        )
        self.logger.log(
            logging.ERROR if status >= 500 else logging.INFO,
            "%s %s %d %.1f ms",
            method,
            route,
            status,
            seconds * 1000,
            extra={
                "ecs": {
                    "event.dataset": "orders.access",
                    "event.duration": int(seconds * 1e9),
                    "http.request.method": method,
                    "http.response.status_code": status,
                    "http.route": route,
                    "url.path": scope["path"],
                }
            },
        )
