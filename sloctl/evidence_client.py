"""Reading an SLO's evidence from the sloctl server (``sloctl evidence``).

The answer of ``GET /api/v1/slos/{id}/evidence`` is validated into these
models (fields the server may add later are ignored), so the command prints
typed values and ``-o json`` prints what was validated.
"""

from __future__ import annotations

from datetime import datetime

from sloctl.budget_client import BudgetClient
from sloctl.server_client import Answer


class Source(Answer):
    backend: str
    call: str
    status: str
    message: str | None = None
    seconds: float | None = None


class LogLine(Answer):
    timestamp: datetime | None
    level: str | None
    message: str
    service: str | None
    trace_id: str | None


class TraceSummary(Answer):
    trace_id: str
    service: str | None
    operation: str | None
    start: datetime | None
    duration_seconds: float
    span_count: int
    error: bool
    error_spans: int
    http_status: int | None
    found_by: list[str]
    link: str | None
    logs_link: str | None
    logs: list[LogLine]


class Exemplar(Answer):
    trace_id: str
    value: float
    timestamp: datetime
    series: dict[str, str]
    link: str | None


class ErrorCount(Answer):
    service: str
    operation: str
    status: str
    count: int


class MinuteCount(Answer):
    time: datetime
    count: int


class ErrorLogs(Answer):
    index: str
    query: str
    total: int
    total_is_lower_bound: bool
    lines: list[LogLine]
    per_minute: list[MinuteCount]
    link: str | None


class Target(Answer):
    jaeger_service: str
    jaeger_operation: str | None
    elasticsearch_index: str
    elasticsearch_query: str | None
    threshold_seconds: float | None
    exemplar_query: str | None


class Links(Answer):
    jaeger_search: str | None
    logs: str | None


class EvidenceReport(Answer):
    """What the server found behind an SLO's burn in a window."""

    slo_id: str
    sli_kind: str
    start: datetime
    end: datetime
    generated_at: datetime
    partial: bool
    failed: list[str]
    sources: list[Source]
    target: Target
    exemplars: list[Exemplar]
    failing_traces: list[TraceSummary]
    slowest_traces: list[TraceSummary]
    exemplar_traces: list[TraceSummary]
    error_counts: list[ErrorCount]
    error_logs: ErrorLogs | None
    links: Links


class EvidenceClient(BudgetClient):
    """The server's read API, plus the evidence endpoint."""

    def evidence(
        self, slo_id: str, *, start: str | None = None, end: str | None = None
    ) -> EvidenceReport:
        """The evidence of ``slo_id``; ``start``/``end`` are durations back (``2h``) or ISO."""
        params = {k: v for k, v in (("from", start), ("to", end)) if v is not None}
        response = self._call("GET", f"/api/v1/slos/{slo_id}/evidence", params=params or None)
        return self._parse(EvidenceReport, response, f"for the evidence of {slo_id}")
