"""The typed evidence every adapter produces and the evidence endpoint answers with.

Jaeger's two API shapes (v1 JSON, v3 OTLP-JSON), Elasticsearch's two field
conventions (ECS, OTel-native) and Prometheus's exemplars are parsed into
these models at the adapter boundary, so nothing past an adapter sees a raw
answer. The report models are the wire format of
``GET /api/v1/slos/{id}/evidence``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_HEX_RE = re.compile(r"^[0-9a-f]{1,32}$")


def normalize_trace_id(value: str) -> str:
    """A trace id as 32 lowercase hex digits, whatever form it came in.

    Jaeger v1 drops leading zeros and may give 64-bit (16 digit) ids; OTLP
    and W3C trace context use 32 digits; protobuf's JSON mapping of bytes is
    base64. Logs and exemplars are joined to traces on this form.

    Raises:
        ValueError: the value is neither hex nor a base64 16-byte id.
    """
    text = value.strip().lower()
    if _HEX_RE.match(text):
        return text.rjust(32, "0")
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) in (8, 16):
        return raw.hex().rjust(32, "0")
    raise ValueError(f"{value!r} is not a trace id (hex digits)")


def normalize_span_id(value: str) -> str:
    """A span id as 16 lowercase hex digits (base64 accepted, as for trace ids)."""
    text = value.strip().lower()
    if re.fullmatch(r"[0-9a-f]{1,16}", text):
        return text.rjust(16, "0")
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 8:
        return raw.hex()
    raise ValueError(f"{value!r} is not a span id (hex digits)")


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


# ----------------------------------------------------------------- traces


class Span(Model):
    """One span, from either Jaeger API shape."""

    span_id: str
    parent_span_id: str | None
    service: str
    operation: str
    start: datetime
    duration_seconds: float
    error: bool = Field(description="OTLP status ERROR, otel.status_code=ERROR or error=true")
    http_status: int | None = None
    status_message: str | None = None


class Trace(Model):
    """A trace: its spans, and what its root says about the request."""

    trace_id: str
    spans: tuple[Span, ...]

    @property
    def root(self) -> Span | None:
        """The span without a parent in the trace (the earliest such), else the earliest span."""
        if not self.spans:
            return None
        ids = {s.span_id for s in self.spans}
        roots = [s for s in self.spans if s.parent_span_id not in ids]
        return min(roots or self.spans, key=lambda s: s.start)

    @property
    def start(self) -> datetime | None:
        return min((s.start for s in self.spans), default=None)

    @property
    def duration_seconds(self) -> float:
        """From the first span's start to the last span's end."""
        if not self.spans:
            return 0.0
        first = min(s.start.timestamp() for s in self.spans)
        last = max(s.start.timestamp() + s.duration_seconds for s in self.spans)
        return max(last - first, 0.0)

    @property
    def error_spans(self) -> list[Span]:
        return [s for s in self.spans if s.error]


@dataclass(frozen=True)
class TraceQuery:
    """A Jaeger trace search: one service's traces that started in a window."""

    service: str
    start: datetime
    end: datetime
    operation: str | None = None
    duration_min: float | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    limit: int = 20


# ------------------------------------------------------------------- logs


class LogLine(Model):
    """One log document, from ECS or OTel-native field names."""

    timestamp: datetime | None
    level: str | None
    message: str
    service: str | None
    trace_id: str | None
    span_id: str | None
    index: str
    id: str


class MinuteCount(Model):
    time: datetime
    count: int


class ErrorLogs(Model):
    """A service's error logs in a window: the newest lines, the total and a per-minute count."""

    total: int
    total_is_lower_bound: bool = Field(description="Elasticsearch stopped counting (relation gte)")
    lines: tuple[LogLine, ...]
    per_minute: tuple[MinuteCount, ...]


@dataclass(frozen=True)
class LogQuery:
    """Error logs of a service in a window, from an index pattern.

    ``query`` is the spec's Lucene query for the errors; without it the
    service's ERROR and above lines are selected, by ECS or OTel field names.
    """

    index: str
    service: str
    start: datetime
    end: datetime
    query: str | None = None
    size: int = 50


# -------------------------------------------------------------- exemplars


class Exemplar(Model):
    """An exemplar Prometheus kept: a trace id attached to one observation of a series."""

    trace_id: str
    span_id: str | None
    value: float
    timestamp: datetime
    series: dict[str, str]


# ----------------------------------------------------------------- report

Backend = Literal["prometheus", "jaeger", "elasticsearch"]
CallStatus = Literal["ok", "failed", "timeout", "not_configured", "skipped"]


class SourceStatus(Model):
    """How one call to a backend went; a report is partial when any failed or timed out."""

    backend: Backend
    call: str = Field(description='what was asked, e.g. "failing traces"')
    status: CallStatus
    message: str | None = None
    seconds: float | None = None


class TraceSummary(Model):
    """A trace found for the SLO, with its log lines and links out."""

    trace_id: str
    service: str | None
    operation: str | None
    start: datetime | None
    duration_seconds: float
    span_count: int
    error: bool
    error_spans: int
    http_status: int | None
    found_by: list[Literal["failing", "slow", "exemplar"]]
    link: str | None = Field(description="the trace in the Jaeger UI")
    logs_link: str | None = Field(description="the trace's logs in Kibana or Grafana Explore")
    logs: list[LogLine]


class ExemplarPublic(Model):
    trace_id: str
    span_id: str | None
    value: float
    timestamp: datetime
    series: dict[str, str]
    link: str | None


class ErrorCount(Model):
    """Error spans of the traces found, by service, operation and status."""

    service: str
    operation: str
    status: str = Field(description='HTTP status code, or "error"')
    count: int


class ErrorLogsPublic(Model):
    index: str
    query: str = Field(description="the Lucene form of the search, as the logs link uses it")
    total: int
    total_is_lower_bound: bool
    lines: list[LogLine]
    per_minute: list[MinuteCount]
    link: str | None


class EvidenceTarget(Model):
    """Where the evidence was looked for (from the spec, per-service defaults or settings)."""

    jaeger_service: str
    jaeger_operation: str | None
    elasticsearch_index: str
    elasticsearch_query: str | None
    threshold_seconds: float | None = Field(description="latency SLOs: slow means above this")
    exemplar_query: str | None


class EvidenceLinks(Model):
    jaeger_search: str | None
    logs: str | None


class EvidenceReport(Model):
    """The evidence behind an SLO's burn in a window."""

    slo_id: str
    sli_kind: str
    start: datetime = Field(description="window start (rounded down to the cache step)")
    end: datetime = Field(description="window end (rounded up to the cache step)")
    generated_at: datetime
    partial: bool = Field(description="true when a backend failed or did not answer in time")
    failed: list[Backend] = Field(description="backends with a failed or timed-out call")
    sources: list[SourceStatus]
    target: EvidenceTarget
    exemplars: list[ExemplarPublic]
    failing_traces: list[TraceSummary]
    slowest_traces: list[TraceSummary]
    exemplar_traces: list[TraceSummary] = Field(
        description="traces of exemplars that the searches did not already return"
    )
    error_counts: list[ErrorCount]
    error_logs: ErrorLogsPublic | None
    links: EvidenceLinks
