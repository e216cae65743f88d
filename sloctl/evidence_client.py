"""Reading an SLO's evidence from the sloctl server (``sloctl evidence``).

The answer of ``GET /api/v1/slos/{id}/evidence`` is validated into these
models (fields the server may add later are ignored), so the command prints
typed values and ``-o json`` prints what was validated.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from sloctl.budget_client import BudgetClient
from sloctl.errors import ServerError


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Source(_Model):
    backend: str
    call: str
    status: str
    message: str | None = None
    seconds: float | None = None


class LogLine(_Model):
    timestamp: datetime | None
    level: str | None
    message: str
    service: str | None
    trace_id: str | None


class TraceSummary(_Model):
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


class Exemplar(_Model):
    trace_id: str
    value: float
    timestamp: datetime
    series: dict[str, str]
    link: str | None


class ErrorCount(_Model):
    service: str
    operation: str
    status: str
    count: int


class MinuteCount(_Model):
    time: datetime
    count: int


class ErrorLogs(_Model):
    index: str
    query: str
    total: int
    total_is_lower_bound: bool
    lines: list[LogLine]
    per_minute: list[MinuteCount]
    link: str | None


class Target(_Model):
    jaeger_service: str
    jaeger_operation: str | None
    elasticsearch_index: str
    elasticsearch_query: str | None
    threshold_seconds: float | None
    exemplar_query: str | None


class Links(_Model):
    jaeger_search: str | None
    logs: str | None


class EvidenceReport(_Model):
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

    def __enter__(self) -> EvidenceClient:
        return self

    def evidence(
        self, slo_id: str, *, start: str | None = None, end: str | None = None
    ) -> EvidenceReport:
        """The evidence of ``slo_id``; ``start``/``end`` are durations back (``2h``) or ISO."""
        params = {k: v for k, v in (("from", start), ("to", end)) if v is not None}
        response = self._get(f"/api/v1/slos/{slo_id}/evidence", params or None)
        try:
            return EvidenceReport.model_validate_json(response.content)
        except ValidationError as err:
            raise ServerError(
                self.base_url, f"unexpected answer for the evidence of {slo_id}: {err}"
            ) from err
