"""The ASGI middleware that traces, measures, counts and logs every request.

One pass per request does all four: it opens the request's server span (its
parent from the caller's ``traceparent``), and when the answer goes out it
names the span after the route template, counts and times the request under
that route with the trace id as exemplar, and writes the log line inside the
span, so the line carries the span's ids.

The server span is made here, with the OpenTelemetry API and the HTTP
semantic conventions (and by ``sample_service.spans`` when the tracer is the
SDK's), rather than by opentelemetry-instrumentation-fastapi:
that package cost 0.21 ms of CPU per request, which alone took 17 % off the
service's requests/s, more than the whole telemetry budget of the sample
service (docs/benchmarks.md). Queries are traced by
``sample_service.tracing.trace_queries``.

A plain ASGI middleware, not Starlette's BaseHTTPMiddleware, because that one
costs a task and a stream per request.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sample_service.logs import AccessFields, log_access
from sample_service.metrics import UNMATCHED_ROUTE, HttpMetrics
from sample_service.spans import CleanAttributes, SpanRecorder

#: Paths not counted in the SLO metrics nor traced: Prometheus's scrape and health checks.
UNMEASURED_PATHS = frozenset({"/metrics", "/healthz"})

#: The request methods the HTTP semantic conventions name; others are ``_OTHER``.
KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "QUERY"}
)


def route_of(scope: Scope) -> str:
    """The route template the router matched, or ``unmatched``."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


def request_headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name (the last of repeated ones), for the propagator."""
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


def request_attributes(scope: Scope, headers: dict[str, str]) -> CleanAttributes:
    """The server span's request attributes (HTTP semantic conventions, stable names)."""
    method = str(scope["method"])
    attributes = CleanAttributes(
        {
            "http.request.method": method if method in KNOWN_METHODS else "_OTHER",
            "url.scheme": str(scope.get("scheme", "http")),
            "url.path": scope["path"],
            "network.protocol.version": str(scope.get("http_version", "1.1")),
        }
    )
    if method not in KNOWN_METHODS:
        attributes["http.request.method_original"] = method
    if query := scope.get("query_string"):
        attributes["url.query"] = query.decode("latin-1")
    host = headers.get("host")
    server = scope.get("server")
    if host:
        name, _, port = host.rpartition(":")
        if not port.isdigit():  # no port, or the end of an IPv6 address without one
            name, port = host, ""
        attributes["server.address"] = name
        if port:
            attributes["server.port"] = int(port)
    elif server:
        attributes["server.address"] = server[0]
        if server[1] is not None:
            attributes["server.port"] = server[1]
    if client := scope.get("client"):
        attributes["client.address"] = client[0]
    if agent := headers.get("user-agent"):
        attributes["user_agent.original"] = agent
    return attributes


@dataclass(slots=True)
class _Request:
    """What the middleware notes about one request while it is answered."""

    scope: Scope
    #: The method as the HTTP conventions name it: one the conventions know, or ``_OTHER``,
    #: so a client sending made-up methods cannot add metric series.
    method: str
    error_type: str | None = None

    @property
    def span_name(self) -> str:
        return "HTTP" if self.method == "_OTHER" else self.method


class RequestTelemetryMiddleware:
    """Per request: the server span, the request counter, the latency histogram and a log line."""

    def __init__(
        self, app: ASGIApp, *, metrics: HttpMetrics, logger: logging.Logger, tracer: Tracer
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.logger = logger
        self.tracer = tracer
        # The SDK's tracer makes spans the long way round (sample_service.spans).
        recorder = SpanRecorder.of(tracer)
        self.start_span = tracer.start_span if recorder is None else recorder.start

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNMEASURED_PATHS:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = request_headers(scope)
        attributes = request_attributes(scope, headers)
        request = _Request(scope, str(attributes["http.request.method"]))
        parent = propagate.extract(headers)
        span = self.start_span(
            request.span_name, context=parent, kind=SpanKind.SERVER, attributes=attributes
        )
        status = 500
        recorded = False
        held: Message | None = None

        async def send_and_record(message: Message) -> None:
            # Recorded before the last body chunk goes out, so a client that has
            # its answer can already see it counted and logged. The status line
            # waits for the body, so both go out back to back as without this
            # middleware: sent apart, the client woke twice per answer.
            nonlocal status, recorded, held
            if message["type"] == "http.response.start":
                status = int(message["status"])
                held = message
                return
            if message["type"] == "http.response.body" and not message.get("more_body"):
                recorded = True
                self._record(request, span, status, time.perf_counter() - start)
            if held is not None:
                await send(held)
                held = None
            await send(message)

        token = context.attach(trace.set_span_in_context(span, parent))
        try:
            await self.app(scope, receive, send_and_record)
        except Exception as error:
            request.error_type = type(error).__qualname__
            if span.is_recording():
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, f"{request.error_type}: {error}"))
            raise
        finally:
            if not recorded:  # the app raised, or never finished its answer
                self._record(request, span, 500, time.perf_counter() - start)
            span.end()
            context.detach(token)

    def _record(self, request: _Request, span: trace.Span, status: int, seconds: float) -> None:
        scope = request.scope
        route = route_of(scope)
        method = request.method
        if span.is_recording():
            attributes = CleanAttributes({"http.response.status_code": status})
            if route != UNMATCHED_ROUTE:
                span.update_name(f"{request.span_name} {route}")
                attributes["http.route"] = route
            if status >= 500 or request.error_type:
                attributes["error.type"] = request.error_type or str(status)
                if not request.error_type:  # an exception sets its own status
                    span.set_status(Status(StatusCode.ERROR))
            span.set_attributes(attributes)  # taken as they are (CleanAttributes)
        ids = span.get_span_context()
        trace_id = span_id = None
        if ids.is_valid:  # the line's ids, formatted once for it and the exemplar
            trace_id = trace.format_trace_id(ids.trace_id)
            span_id = trace.format_span_id(ids.span_id)
        # Only a sampled trace can be looked up, so only those become exemplars.
        self.metrics.observe(
            route=route,
            method=method,
            code=status,
            seconds=seconds,
            trace_id=trace_id if ids.trace_flags.sampled else None,
        )
        log_access(
            self.logger,
            logging.ERROR if status >= 500 else logging.INFO,
            f"{method} {route} {status} {seconds * 1000:.1f} ms",
            AccessFields(
                method, status, route, scope["path"], int(seconds * 1e9), trace_id, span_id
            ),
        )
