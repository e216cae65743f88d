"""A double of Jaeger's query HTTP API (v3 gateway and v1), written from Jaeger's docs.

It holds traces given as :class:`FakeSpan`s and answers:

- ``GET /api/v3/traces`` (search): ``query.service_name`` and both
  ``query.start_time_min``/``max`` (RFC 3339) are required, as the gateway
  requires them (400 with the gateway's error body otherwise);
  ``query.operation_name``, ``query.duration_min`` (Go duration),
  ``query.attributes`` (JSON object) and ``query.num_traces`` filter. Hits
  are ``{"result": TracesData}`` in OTLP-JSON (hex ids, nanosecond strings,
  ``intValue`` as a string); no hits is a 404 with
  ``{"error": {"httpCode": 404, "message": "No traces found"}}``.
- ``GET /api/v3/traces/{id}``: the trace, or that 404.
- ``GET /api/traces`` (v1 search: ``service``, ``operation``, ``start``/``end`` in
  µs, ``minDuration``, ``tags`` JSON, ``limit``): ``{"data": [...], "total": 0,
  "limit": 0, "offset": 0, "errors": null}`` with ``processes`` and µs times;
  ``GET /api/traces/{id}``: the same envelope, or 404 with
  ``{"data": null, "errors": [{"code": 404, "msg": "trace not found"}]}``.

``version`` picks which Jaeger it plays: ``"2"`` serves both APIs, ``"1-old"``
has no v3 (404 ``404 page not found`` as Go's mux answers), ``"1-ui"`` answers
v3 paths with the UI's HTML page (the SPA catch-all of Jaeger 1's query service).
A search matches a trace when one span of the service matches every filter,
as Jaeger's storages do. Request problems are recorded in ``problems``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from tests.support.http_double import HttpDouble, Reply, Request

Version = Literal["2", "1-old", "1-ui"]
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")


def go_duration_seconds(text: str) -> float:
    """Go's ``time.ParseDuration`` for the forms Jaeger reads (``300ms``, ``1.5s``, ``2m30s``)."""
    pos, total = 0, 0.0
    for match in _GO_RE.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"time: invalid duration {text!r}")
    return total


@dataclass(frozen=True)
class FakeSpan:
    trace_id: str
    span_id: str
    service: str
    operation: str
    start: datetime
    duration: float
    parent: str | None = None
    error: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def start_ns(self) -> int:
        return round(self.start.timestamp() * 1e9)

    @property
    def end_ns(self) -> int:
        return self.start_ns + round(self.duration * 1e9)


def fake_trace(
    trace_id: str,
    service: str,
    operation: str,
    start: datetime,
    duration: float,
    *,
    error: bool = False,
    status: int | None = None,
    db_error: bool = False,
) -> list[FakeSpan]:
    """A two-span trace: a server span and a database child (which may be the one failing)."""
    attributes: dict[str, Any] = {"http.route": operation}
    if status is not None:
        attributes["http.response.status_code"] = status
    root_id = trace_id[-16:]
    child_id = f"{int(root_id, 16) + 1:016x}"
    return [
        FakeSpan(trace_id, root_id, service, operation, start, duration, None, error, attributes),
        FakeSpan(
            trace_id,
            child_id,
            "postgres",
            "SELECT orders",
            start + timedelta(milliseconds=1),
            duration / 2,
            root_id,
            db_error,
            {"db.system": "postgresql"},
        ),
    ]


def _gateway_error(status: int, message: str) -> Reply:
    # The gateway writes its JSON error with http.Error, hence text/plain.
    body = json.dumps({"error": {"httpCode": status, "message": message}}).encode()
    return Reply(status, body, "text/plain; charset=utf-8")


def _rfc3339(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f'parsing time "{text}": missing time zone')
    return parsed


@dataclass
class JaegerDouble(HttpDouble):
    version: Version = "2"
    spans: list[FakeSpan] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, spans: Iterable[FakeSpan]) -> None:
        self.spans.extend(spans)

    # ------------------------------------------------------------ queries

    def _traces(self) -> dict[str, list[FakeSpan]]:
        out: dict[str, list[FakeSpan]] = {}
        for span in self.spans:
            out.setdefault(span.trace_id, []).append(span)
        return out

    def _search(
        self,
        service: str,
        operation: str | None,
        start: datetime,
        end: datetime,
        duration_min: float | None,
        attributes: dict[str, str],
        limit: int,
    ) -> list[list[FakeSpan]]:
        def span_matches(span: FakeSpan) -> bool:
            if span.service != service or not start <= span.start <= end:
                return False
            if operation and span.operation != operation:
                return False
            if duration_min is not None and span.duration < duration_min:
                return False
            for key, value in attributes.items():
                if key == "error":
                    if str(span.error).lower() != value.lower():
                        return False
                elif str(span.attributes.get(key)) != value:
                    return False
            return True

        hits = [spans for spans in self._traces().values() if any(map(span_matches, spans))]
        hits.sort(key=lambda spans: min(s.start for s in spans), reverse=True)
        return hits[:limit] if limit > 0 else hits

    # ------------------------------------------------------------ shapes

    @staticmethod
    def _otlp_value(value: Any) -> dict[str, Any]:
        if isinstance(value, bool):
            return {"boolValue": value}
        if isinstance(value, int):
            return {"intValue": str(value)}
        if isinstance(value, float):
            return {"doubleValue": value}
        return {"stringValue": str(value)}

    def otlp(self, traces: Iterable[list[FakeSpan]]) -> dict[str, Any]:
        by_service: dict[str, list[FakeSpan]] = {}
        for spans in traces:
            for span in spans:
                by_service.setdefault(span.service, []).append(span)
        return {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [{"key": "service.name", "value": {"stringValue": service}}]
                    },
                    "scopeSpans": [
                        {
                            "scope": {"name": "double"},
                            "spans": [
                                {
                                    "traceId": s.trace_id,
                                    "spanId": s.span_id,
                                    **({"parentSpanId": s.parent} if s.parent else {}),
                                    "name": s.operation,
                                    "kind": 2 if s.parent is None else 3,
                                    "startTimeUnixNano": str(s.start_ns),
                                    "endTimeUnixNano": str(s.end_ns),
                                    "attributes": [
                                        {"key": k, "value": self._otlp_value(v)}
                                        for k, v in s.attributes.items()
                                    ],
                                    "status": {"code": 2, "message": "failed"} if s.error else {},
                                }
                                for s in spans
                            ],
                        }
                    ],
                }
                for service, spans in by_service.items()
            ]
        }

    @staticmethod
    def _v1_tag(key: str, value: Any) -> dict[str, Any]:
        kind = (
            "bool"
            if isinstance(value, bool)
            else "int64"
            if isinstance(value, int)
            else "float64"
            if isinstance(value, float)
            else "string"
        )
        return {"key": key, "type": kind, "value": value}

    def v1(self, spans: list[FakeSpan]) -> dict[str, Any]:
        services = sorted({s.service for s in spans})
        process_of = {name: f"p{i + 1}" for i, name in enumerate(services)}
        return {
            # Jaeger 1 prints ids without leading zeros.
            "traceID": spans[0].trace_id.lstrip("0") or "0",
            "spans": [
                {
                    "traceID": s.trace_id.lstrip("0") or "0",
                    "spanID": s.span_id,
                    "operationName": s.operation,
                    "references": [
                        {"refType": "CHILD_OF", "traceID": s.trace_id, "spanID": s.parent}
                    ]
                    if s.parent
                    else [],
                    "startTime": s.start_ns // 1000,
                    "duration": (s.end_ns - s.start_ns) // 1000,
                    "tags": [self._v1_tag(k, v) for k, v in s.attributes.items()]
                    # What Jaeger's OTLP-to-v1 conversion adds for an ERROR status.
                    + (
                        [
                            self._v1_tag("error", True),
                            self._v1_tag("otel.status_code", "ERROR"),
                            self._v1_tag("otel.status_description", "failed"),
                        ]
                        if s.error
                        else []
                    ),
                    "logs": [],
                    "processID": process_of[s.service],
                    "warnings": None,
                }
                for s in spans
            ],
            "processes": {
                pid: {"serviceName": name, "tags": []} for name, pid in process_of.items()
            },
            "warnings": None,
        }

    # ------------------------------------------------------------ routes

    def handle(self, request: Request) -> Reply:
        path = request.path
        if request.method != "GET":
            self.problems.append(f"{request.method} {path}")
            return Reply(405, b"method not allowed", "text/plain")
        if path.startswith("/api/v3/"):
            if self.version == "1-old":
                return Reply(404, b"404 page not found\n", "text/plain; charset=utf-8")
            if self.version == "1-ui":
                return Reply(
                    200, b"<!doctype html><html><title>Jaeger UI</title></html>", "text/html"
                )
            return self._v3(request)
        if path == "/api/traces":
            return self._v1_search(request)
        if path.startswith("/api/traces/"):
            return self._v1_get(path.removeprefix("/api/traces/"))
        return Reply(404, b"404 page not found\n", "text/plain; charset=utf-8")

    def _v3(self, request: Request) -> Reply:
        if request.path.startswith("/api/v3/traces/"):
            tid = request.path.removeprefix("/api/v3/traces/").rjust(32, "0")
            spans = self._traces().get(tid)
            if spans is None:
                return _gateway_error(404, "trace not found")
            return Reply.of(200, {"result": self.otlp([spans])})
        if request.path != "/api/v3/traces":
            return Reply(404, b"404 page not found\n", "text/plain; charset=utf-8")
        q = request.params
        try:
            if not q.get("query.start_time_min") or not q.get("query.start_time_max"):
                raise ValueError("query.start_time_min and query.start_time_max are required")
            start, end = _rfc3339(q["query.start_time_min"]), _rfc3339(q["query.start_time_max"])
            duration = q.get("query.duration_min")
            attributes = json.loads(q.get("query.attributes") or "{}")
            limit = int(q.get("query.num_traces") or 0)
            duration_min = go_duration_seconds(duration) if duration else None
        except ValueError as err:
            self.problems.append(str(err))
            return _gateway_error(400, f"malformed parameter: {err}")
        if not q.get("query.service_name"):
            self.problems.append("no query.service_name")
            return _gateway_error(500, "service name must be set")
        hits = self._search(
            q["query.service_name"],
            q.get("query.operation_name"),
            start,
            end,
            duration_min,
            attributes,
            limit,
        )
        if not hits:
            return _gateway_error(404, "No traces found")
        return Reply.of(200, {"result": self.otlp(hits)})

    def _v1_search(self, request: Request) -> Reply:
        q = request.params
        try:
            service = q["service"]
            start = datetime.fromtimestamp(int(q["start"]) / 1e6, UTC)
            end = datetime.fromtimestamp(int(q["end"]) / 1e6, UTC)
            duration = q.get("minDuration")
            duration_min = go_duration_seconds(duration) if duration else None
            tags = json.loads(q.get("tags") or "{}")
            limit = int(q.get("limit") or 0)
        except (KeyError, ValueError) as err:
            self.problems.append(f"v1 search: {err!r}")
            return Reply.of(400, {"data": None, "errors": [{"code": 400, "msg": str(err)}]})
        hits = self._search(service, q.get("operation"), start, end, duration_min, tags, limit)
        return Reply.of(
            200,
            {
                "data": [self.v1(spans) for spans in hits],
                "total": 0,
                "limit": 0,
                "offset": 0,
                "errors": None,
            },
        )

    def _v1_get(self, tid: str) -> Reply:
        spans = self._traces().get(tid.rjust(32, "0"))
        if spans is None:
            return Reply.of(
                404, {"data": None, "errors": [{"code": 404, "msg": "trace not found"}]}
            )
        return Reply.of(
            200, {"data": [self.v1(spans)], "total": 0, "limit": 0, "offset": 0, "errors": None}
        )
