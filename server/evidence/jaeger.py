"""Jaeger's query API: trace search and trace by id, v3 first, v1 for older Jaeger.

Jaeger 2 serves the API v3 HTTP gateway (``GET /api/v3/traces`` with
``query.*`` parameters, OTLP-JSON wrapped in ``{"result": ...}``; a search
without hits is a 404 whose body is ``{"error": {"httpCode": 404, ...}}``).
Jaeger 1 before the v3 gateway answers only the v1 API the UI uses
(``GET /api/traces``, ``{"data": [...]}``). :class:`JaegerClient` asks v3
first and falls back to v1 for good when v3 is not there (a 404 that is not
the gateway's JSON, a 405 or 501, or the UI's HTML page). Both shapes are
parsed into :class:`~server.evidence.model.Trace`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import httpx

from server.errors import EvidenceBackendError
from server.evidence.model import (
    Span,
    Trace,
    TraceQuery,
    normalize_span_id,
    normalize_trace_id,
)

ApiVersion = Literal["auto", "v3", "v1"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: OTLP status code of an error (``STATUS_CODE_ERROR``).
OTLP_STATUS_ERROR = 2


class TraceSource(Protocol):
    """What the evidence needs from a trace store."""

    def find_traces(self, query: TraceQuery) -> list[Trace]:
        """Traces matching ``query`` (none found is an empty list).

        Raises:
            EvidenceBackendError: the store failed, timed out or answered garbage.
        """
        ...

    def get_trace(self, trace_id: str) -> Trace | None:
        """One trace by id, or None when the store does not have it."""
        ...


# ---------------------------------------------------------------- helpers


def rfc3339(moment: datetime) -> str:
    """``2026-11-24T12:00:00.000000Z``: what the v3 gateway's RFC 3339 parser reads."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def go_duration(seconds: float) -> str:
    """A duration as Go's ``time.ParseDuration`` reads it, in whole microseconds: ``300ms``."""
    micros = round(seconds * 1_000_000)
    if micros % 1000 == 0:
        return f"{micros // 1000}ms"
    return f"{micros}us"


def _micros(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _http_status(attributes: Mapping[str, Any]) -> int | None:
    for key in ("http.response.status_code", "http.status_code"):
        if key in attributes:
            return _int(attributes[key])
    return None


def _error_from_attributes(attributes: Mapping[str, Any]) -> bool:
    if "error" in attributes and _bool(attributes["error"]):
        return True
    return str(attributes.get("otel.status_code", "")).upper() == "ERROR"


# ----------------------------------------------------------------- v1 JSON


def parse_v1_trace(data: Mapping[str, Any]) -> Trace:
    """One element of v1's ``data``: ``traceID``, ``spans`` (µs times, tags) and ``processes``."""
    processes: Mapping[str, Any] = data.get("processes") or {}
    spans = []
    for raw in data.get("spans") or []:
        tags = {t["key"]: t.get("value") for t in raw.get("tags") or []}
        process = raw.get("process") or processes.get(raw.get("processID", ""), {})
        parent = None
        for ref in raw.get("references") or []:
            if ref.get("refType", "CHILD_OF") == "CHILD_OF" or parent is None:
                parent = normalize_span_id(ref["spanID"])
        start = EPOCH + timedelta(microseconds=int(raw["startTime"]))
        spans.append(
            Span(
                span_id=normalize_span_id(raw["spanID"]),
                parent_span_id=parent,
                service=str(process.get("serviceName", "")),
                operation=str(raw["operationName"]),
                start=start,
                duration_seconds=int(raw["duration"]) / 1_000_000,
                error=_error_from_attributes(tags),
                http_status=_http_status(tags),
                status_message=_text(tags.get("otel.status_description")),
            )
        )
    return Trace(trace_id=normalize_trace_id(str(data["traceID"])), spans=tuple(spans))


def parse_v1(body: Any) -> list[Trace]:
    """``{"data": [trace, ...]}`` (search and trace by id); ``data: null`` is none."""
    if not isinstance(body, Mapping) or "data" not in body:
        raise ValueError('not a Jaeger v1 answer: no "data" field')
    return [parse_v1_trace(item) for item in body["data"] or []]


# ----------------------------------------------------------------- OTLP JSON


def _any_value(value: Mapping[str, Any]) -> Any:
    """The Python value of an OTLP ``AnyValue`` (``intValue`` is a string in JSON)."""
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [_any_value(v) for v in value["arrayValue"].get("values", [])]
    return None


def _attributes(items: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    return {item["key"]: _any_value(item.get("value") or {}) for item in items or []}


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _status_is_error(status: Mapping[str, Any]) -> bool:
    code = status.get("code", 0)
    return bool(code == OTLP_STATUS_ERROR or code == "STATUS_CODE_ERROR")


def parse_otlp(tracesdata: Mapping[str, Any]) -> list[Trace]:
    """OTLP-JSON ``TracesData`` (``resourceSpans``) grouped into traces, in first-seen order."""
    by_trace: dict[str, list[Span]] = {}
    for resource_spans in tracesdata.get("resourceSpans") or []:
        resource = _attributes((resource_spans.get("resource") or {}).get("attributes"))
        service = str(resource.get("service.name", ""))
        for scope_spans in resource_spans.get("scopeSpans") or []:
            for raw in scope_spans.get("spans") or []:
                attributes = _attributes(raw.get("attributes"))
                status = raw.get("status") or {}
                start_ns = int(raw.get("startTimeUnixNano") or 0)
                end_ns = int(raw.get("endTimeUnixNano") or start_ns)
                parent = raw.get("parentSpanId") or None
                span = Span(
                    span_id=normalize_span_id(raw["spanId"]),
                    parent_span_id=normalize_span_id(parent) if parent else None,
                    service=service,
                    operation=str(raw.get("name", "")),
                    start=EPOCH + timedelta(microseconds=start_ns // 1000),
                    duration_seconds=max(end_ns - start_ns, 0) / 1e9,
                    error=_status_is_error(status) or _error_from_attributes(attributes),
                    http_status=_http_status(attributes),
                    status_message=_text(status.get("message")),
                )
                by_trace.setdefault(normalize_trace_id(raw["traceId"]), []).append(span)
    return [Trace(trace_id=tid, spans=tuple(spans)) for tid, spans in by_trace.items()]


def parse_v3(text: str) -> list[Trace]:
    """The v3 gateway's ``{"result": TracesData}``; several such objects, one per line, from
    gateways that stream (Jaeger 1's grpc-gateway)."""
    try:
        chunks = [json.loads(text)]
    except ValueError:
        chunks = [json.loads(line) for line in text.splitlines() if line.strip()]
    traces: dict[str, list[Span]] = {}
    for chunk in chunks:
        if not isinstance(chunk, Mapping) or not isinstance(chunk.get("result"), Mapping):
            raise ValueError('not a Jaeger v3 answer: no "result" object')
        for trace in parse_otlp(chunk["result"]):
            traces.setdefault(trace.trace_id, []).extend(trace.spans)
    return [Trace(trace_id=tid, spans=tuple(spans)) for tid, spans in traces.items()]


# ----------------------------------------------------------------- client


def _gateway_error(response: httpx.Response) -> str | None:
    """The message of a v3 gateway error body (``{"error": {"message": ...}}``), else None."""
    try:
        body = json.loads(response.text)
    except ValueError:
        return None
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        return str(body["error"].get("message", ""))
    return None


class _NoV3Error(Exception):
    """The Jaeger answering has no v3 API."""


class JaegerClient:
    """:class:`TraceSource` over Jaeger's query HTTP API (httpx, no retries)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        api: ApiVersion = "auto",
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.api: ApiVersion = api
        self._own = client is None
        self._http = client or httpx.Client(timeout=timeout)
        self._timeout = timeout

    def close(self) -> None:
        if self._own:
            self._http.close()

    def _get(self, path: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        try:
            return self._http.get(self.url + path, params=params, timeout=self._timeout)
        except httpx.TimeoutException as err:
            raise EvidenceBackendError(
                "jaeger", self.url, f"no answer within {self._timeout:g}s", timed_out=True
            ) from err
        except httpx.HTTPError as err:
            raise EvidenceBackendError("jaeger", self.url, f"cannot reach it: {err}") from err

    def _fail(self, response: httpx.Response, what: str) -> EvidenceBackendError:
        detail = _gateway_error(response) or response.text[:200].strip()
        return EvidenceBackendError(
            "jaeger", self.url, f"{what} answered HTTP {response.status_code}: {detail}"
        )

    def _v3(self, path: str, params: Mapping[str, str] | None, what: str) -> list[Trace]:
        response = self._get(path, params)
        if response.status_code == 404 and _gateway_error(response) is not None:
            self.api = "v3"
            return []
        if response.status_code in (404, 405, 501):
            raise _NoV3Error
        if response.status_code != 200:
            raise self._fail(response, what)
        try:
            traces = parse_v3(response.text)
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            if self.api == "auto" and "html" in response.headers.get("content-type", ""):
                raise _NoV3Error from err  # Jaeger 1's UI answers unknown paths with its page
            raise EvidenceBackendError(
                "jaeger", self.url, f"{what} answered something that is not OTLP-JSON: {err}"
            ) from err
        self.api = "v3"
        return traces

    def _v1(self, path: str, params: Mapping[str, str] | None, what: str) -> list[Trace]:
        response = self._get(path, params)
        if response.status_code == 404 and path != "/api/traces":
            return []  # a trace id Jaeger does not have; a search never answers 404
        if response.status_code != 200:
            raise self._fail(response, what)
        try:
            return parse_v1(response.json())
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise EvidenceBackendError(
                "jaeger", self.url, f"{what} answered something that is not Jaeger's JSON: {err}"
            ) from err

    def _either(
        self,
        v3: tuple[str, Mapping[str, str] | None],
        v1: tuple[str, Mapping[str, str] | None],
        what: str,
    ) -> list[Trace]:
        if self.api != "v1":
            try:
                return self._v3(*v3, what)
            except _NoV3Error:
                if self.api == "v3":
                    raise EvidenceBackendError(
                        "jaeger", self.url, f"{what}: the API v3 is not there"
                    ) from None
                self.api = "v1"
        return self._v1(*v1, what)

    def find_traces(self, query: TraceQuery) -> list[Trace]:
        return self._either(
            ("/api/v3/traces", v3_search_params(query)),
            ("/api/traces", v1_search_params(query)),
            "the trace search",
        )

    def get_trace(self, trace_id: str) -> Trace | None:
        tid = normalize_trace_id(trace_id)
        traces = self._either(
            (f"/api/v3/traces/{tid}", None), (f"/api/traces/{tid}", None), "trace " + tid
        )
        return next((t for t in traces if t.trace_id == tid), traces[0] if traces else None)


def v3_search_params(query: TraceQuery) -> dict[str, str]:
    """The v3 gateway's search parameters (``query.num_traces`` is read by every 2.x)."""
    params = {
        "query.service_name": query.service,
        "query.start_time_min": rfc3339(query.start),
        "query.start_time_max": rfc3339(query.end),
        "query.num_traces": str(query.limit),
    }
    if query.operation:
        params["query.operation_name"] = query.operation
    if query.duration_min is not None:
        params["query.duration_min"] = go_duration(query.duration_min)
    if query.attributes:
        params["query.attributes"] = json.dumps(query.attributes, sort_keys=True)
    return params


def v1_search_params(query: TraceQuery) -> dict[str, str]:
    """The v1 search parameters, as the Jaeger UI sends them (times in µs, tags as JSON)."""
    params = {
        "service": query.service,
        "start": str(_micros(query.start)),
        "end": str(_micros(query.end)),
        "limit": str(query.limit),
    }
    if query.operation:
        params["operation"] = query.operation
    if query.duration_min is not None:
        params["minDuration"] = go_duration(query.duration_min)
    if query.attributes:
        params["tags"] = json.dumps(query.attributes, sort_keys=True)
    return params
