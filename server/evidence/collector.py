"""The evidence behind one SLO in one window, gathered from every backend at once.

:class:`EvidenceService` decides where to look (the spec's ``evidence``
block, per-service defaults from the settings, else the SLO's service and the
default index pattern), asks Prometheus for exemplars, Jaeger for failing and
slow traces and Elasticsearch for error logs concurrently, then, with what
came back, fetches the traces of exemplars and the log lines of every trace
found. The whole request is bounded by one deadline: a call still running
then is reported as timed out and the report is built from what answered.
Reports are cached per SLO version and window (rounded to the minute), for
a shorter time when partial so a recovered backend shows up soon.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Generic, TypeVar

from server.errors import EvidenceBackendError
from server.evidence.elasticsearch import LogSource, lucene_error_query, lucene_trace_query
from server.evidence.exemplars import ExemplarPlan, ExemplarSource, plan_for
from server.evidence.jaeger import TraceSource
from server.evidence.links import LogLinks, jaeger_search, jaeger_trace
from server.evidence.model import (
    Backend,
    CallStatus,
    ErrorCount,
    ErrorLogs,
    ErrorLogsPublic,
    EvidenceLinks,
    EvidenceReport,
    EvidenceTarget,
    Exemplar,
    ExemplarPublic,
    LogLine,
    LogQuery,
    SourceStatus,
    Trace,
    TraceQuery,
    TraceSummary,
)
from sloctl.spec.models import SLO, Evidence

T = TypeVar("T")
Clock = Callable[[], datetime]

#: Attributes of a failing span as Jaeger's search matches them (its UI's ``error=true``).
ERROR_ATTRIBUTES = {"error": "true"}
#: Logs of a trace may be written a little after the request started.
TRACE_LOG_SLACK = timedelta(minutes=5)
CACHE_ENTRIES = 256
#: Seconds the second round needs at least to be worth starting.
MIN_SECOND_ROUND = 0.05


@dataclass(frozen=True)
class EvidenceBackends:
    """The adapters the evidence reads; None for a backend that is not configured."""

    exemplars: ExemplarSource | None = None
    traces: TraceSource | None = None
    logs: LogSource | None = None

    def close(self) -> None:
        for backend in (self.exemplars, self.traces, self.logs):
            close = getattr(backend, "close", None)
            if close is not None:
                close()


@dataclass(frozen=True)
class EvidenceConfig:
    """How much evidence to gather, for how long, and where links point."""

    deadline: float = 10.0
    cache_ttl: float = 60.0
    partial_cache_ttl: float = 10.0
    round_seconds: int = 60
    traces: int = 10
    log_lines: int = 50
    trace_log_lines: int = 200
    default_index: str = "logs-*"
    service_defaults: dict[str, Evidence] = field(default_factory=dict)
    jaeger_ui_url: str | None = None
    log_links: LogLinks = field(default_factory=LogLinks)


@dataclass
class _Call(Generic[T]):
    backend: Backend
    call: str
    future: Future[tuple[T, float]] | None = None
    status: CallStatus = "ok"
    message: str | None = None
    seconds: float | None = None
    value: T | None = None

    def public(self) -> SourceStatus:
        return SourceStatus(
            backend=self.backend,
            call=self.call,
            status=self.status,
            message=self.message,
            seconds=None if self.seconds is None else round(self.seconds, 3),
        )


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    began = time.monotonic()
    return fn(), time.monotonic() - began


class _Round:
    """Calls submitted together and collected by one deadline."""

    def __init__(self, executor: ThreadPoolExecutor, deadline: float, budget: float) -> None:
        self._executor = executor
        self._deadline = deadline
        self._budget = budget
        self.calls: list[_Call[Any]] = []

    def submit(self, backend: Backend, call: str, fn: Callable[[], T]) -> _Call[T]:
        entry: _Call[T] = _Call(backend, call)
        entry.future = self._executor.submit(_timed, fn)
        self.calls.append(entry)
        return entry

    def collect(self) -> None:
        futures = [c.future for c in self.calls if c.future is not None]
        wait(futures, timeout=max(self._deadline - time.monotonic(), 0.0))
        for entry in self.calls:
            future = entry.future
            assert future is not None
            if not future.done():
                future.cancel()
                entry.status = "timeout"
                entry.message = f"no answer within the {self._budget:g}s the evidence may take"
                continue
            error = future.exception()
            if error is None:
                entry.value, entry.seconds = future.result()
            elif isinstance(error, EvidenceBackendError):
                entry.status = "timeout" if error.timed_out else "failed"
                entry.message = error.message
            else:
                entry.status = "failed"
                entry.message = f"{type(error).__name__}: {error}"


def _skipped(backend: Backend, call: str, status: CallStatus, message: str) -> _Call[Any]:
    return _Call(backend, call, status=status, message=message)


class EvidenceService:
    """Builds (and caches) :class:`EvidenceReport`s."""

    def __init__(
        self,
        backends: EvidenceBackends,
        config: EvidenceConfig,
        clock: Clock,
        *,
        workers: int = 16,
    ) -> None:
        self.backends = backends
        self.config = config
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="evidence")
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, int, datetime, datetime], tuple[float, EvidenceReport]]
        self._cache = OrderedDict()

    def close(self) -> None:
        """Stop the worker threads (calls still running finish on their own timeouts)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.backends.close()

    # ----------------------------------------------------------- planning

    def window(self, start: datetime, end: datetime) -> tuple[datetime, datetime]:
        """The window rounded outwards to the cache step (the cache key and what is asked)."""
        step = self.config.round_seconds
        low = int(start.timestamp()) // step * step
        high = -(-int(end.timestamp() + 0.999999) // step) * step
        return datetime.fromtimestamp(low, UTC), datetime.fromtimestamp(high, UTC)

    def target(self, slo: SLO) -> EvidenceTarget:
        """Where to look: the spec, then the service's defaults, then the settings."""
        defaults = self.config.service_defaults.get(slo.service, Evidence())
        jaeger = slo.evidence.jaeger or defaults.jaeger
        logs = slo.evidence.elasticsearch or defaults.elasticsearch
        plan = plan_for(slo)
        return EvidenceTarget(
            jaeger_service=jaeger.service if jaeger else slo.service,
            jaeger_operation=jaeger.operation if jaeger else None,
            elasticsearch_index=logs.index if logs else self.config.default_index,
            elasticsearch_query=logs.query if logs else None,
            threshold_seconds=slo.sli.latency.threshold if slo.sli.latency else None,
            exemplar_query=plan.query if plan else None,
        )

    # ------------------------------------------------------------ reports

    def report(
        self, slo: SLO, *, version: int, start: datetime, end: datetime
    ) -> tuple[EvidenceReport, bool]:
        """The evidence of ``slo`` in the window, and whether it came from the cache."""
        start, end = self.window(start, end)
        key = (slo.id, version, start, end)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > now:
                self._cache.move_to_end(key)
                return hit[1], True
        report = self._collect(slo, start, end)
        ttl = self.config.partial_cache_ttl if report.partial else self.config.cache_ttl
        with self._lock:
            self._cache[key] = (time.monotonic() + ttl, report)
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return report, False

    def _collect(self, slo: SLO, start: datetime, end: datetime) -> EvidenceReport:
        config, backends = self.config, self.backends
        target = self.target(slo)
        plan = plan_for(slo)
        deadline = time.monotonic() + config.deadline
        failing_query = TraceQuery(
            service=target.jaeger_service,
            operation=target.jaeger_operation,
            start=start,
            end=end,
            attributes=dict(ERROR_ATTRIBUTES),
            limit=config.traces,
        )
        slow_query = TraceQuery(
            service=target.jaeger_service,
            operation=target.jaeger_operation,
            start=start,
            end=end,
            duration_min=target.threshold_seconds,
            limit=config.traces * 2,
        )
        log_query = LogQuery(
            index=target.elasticsearch_index,
            service=target.jaeger_service,
            start=start,
            end=end,
            query=target.elasticsearch_query,
            size=config.log_lines,
        )
        done: list[_Call[Any]] = []

        first = _Round(self._executor, deadline, config.deadline)
        exemplar_call = self._exemplars(first, plan, slo, start, end, done)
        failing_call = slow_call = None
        if backends.traces is not None:
            traces = backends.traces
            failing_call = first.submit(
                "jaeger", "failing traces", lambda: traces.find_traces(failing_query)
            )
            slow_call = first.submit(
                "jaeger", "slow traces", lambda: traces.find_traces(slow_query)
            )
        else:
            done.append(_not_configured("jaeger", "traces", "SLOCTL_SERVER_JAEGER_URL"))
        logs_call = None
        if backends.logs is not None:
            logs = backends.logs
            logs_call = first.submit(
                "elasticsearch", "error logs", lambda: logs.error_logs(log_query)
            )
        else:
            done.append(_not_configured("elasticsearch", "logs", "SLOCTL_SERVER_ELASTICSEARCH_URL"))
        first.collect()

        exemplars = _newest_unique(
            plan.bad(exemplar_call.value) if plan and exemplar_call and exemplar_call.value else []
        )
        failing = sorted(_value(failing_call), key=_start_key, reverse=True)[: config.traces]
        slowest = sorted(_value(slow_call), key=lambda t: t.duration_seconds, reverse=True)[
            : config.traces
        ]
        known = {t.trace_id for t in (*failing, *slowest)}
        wanted = [e.trace_id for e in exemplars if e.trace_id not in known][: config.traces]

        second = _Round(self._executor, deadline, config.deadline)
        fetches: list[_Call[Trace | None]] = []
        all_ids = sorted(known | set(wanted))
        late = deadline - time.monotonic() < MIN_SECOND_ROUND and bool(all_ids)
        if late:
            # The first round used the whole deadline: asking now would only time out and
            # blame backends that were never given a chance.
            why = "not asked: the first round used the whole deadline"
            if backends.traces is not None and wanted:
                done.append(_skipped("jaeger", "exemplar traces", "skipped", why))
            if backends.logs is not None:
                done.append(_skipped("elasticsearch", "trace logs", "skipped", why))
            wanted, all_ids = [], []
        if backends.traces is not None and wanted:
            fetches = [
                second.submit("jaeger", "exemplar trace", partial(backends.traces.get_trace, tid))
                for tid in wanted
            ]
        trace_logs_call = None
        if backends.logs is not None and all_ids:
            logs = backends.logs
            trace_logs_call = second.submit(
                "elasticsearch",
                "trace logs",
                lambda: logs.trace_logs(
                    all_ids,
                    index=target.elasticsearch_index,
                    start=start,
                    end=end + TRACE_LOG_SLACK,
                    size=config.trace_log_lines,
                ),
            )
        elif backends.logs is not None and not late:
            done.append(_skipped("elasticsearch", "trace logs", "skipped", "no traces to join"))
        second.collect()

        exemplar_traces = [c.value for c in fetches if c.value is not None]
        calls = [*done, *first.calls, *_merge_fetches(fetches), *second.calls[len(fetches) :]]
        by_trace: dict[str, list[LogLine]] = {}
        for line in _value(trace_logs_call):
            if line.trace_id:
                by_trace.setdefault(line.trace_id, []).append(line)
        error_logs = logs_call.value if logs_call is not None else None
        return self._build(
            slo,
            start,
            end,
            target=target,
            calls=calls,
            exemplars=exemplars,
            failing=failing,
            slowest=slowest,
            exemplar_traces=exemplar_traces,
            by_trace=by_trace,
            error_logs=error_logs,
            log_query=log_query,
            failing_query=failing_query,
        )

    def _exemplars(
        self,
        first: _Round,
        plan: ExemplarPlan | None,
        slo: SLO,
        start: datetime,
        end: datetime,
        done: list[_Call[Any]],
    ) -> _Call[list[Exemplar]] | None:
        source = self.backends.exemplars
        if source is None:
            done.append(_not_configured("prometheus", "exemplars", "SLOCTL_SERVER_PROMETHEUS_URL"))
            return None
        if plan is None:
            done.append(
                _skipped(
                    "prometheus",
                    "exemplars",
                    "skipped",
                    f"{slo.sli.kind} SLIs have no per-request series that carry exemplars",
                )
            )
            return None
        return first.submit(
            "prometheus", "exemplars", lambda: source.query_exemplars(plan.query, start, end)
        )

    def _summary(self, trace: Trace, found_by: list[Any], logs: list[LogLine]) -> TraceSummary:
        root = trace.root
        errors = trace.error_spans
        status = root.http_status if root is not None else None
        if status is None and errors:
            status = next((s.http_status for s in errors if s.http_status is not None), None)
        start = trace.start
        logs_link = None
        if start is not None:
            logs_link = self.config.log_links.search(
                lucene_trace_query([trace.trace_id]),
                start - timedelta(minutes=1),
                start + TRACE_LOG_SLACK,
            )
        return TraceSummary(
            trace_id=trace.trace_id,
            service=root.service if root else None,
            operation=root.operation if root else None,
            start=start,
            duration_seconds=round(trace.duration_seconds, 6),
            span_count=len(trace.spans),
            error=bool(errors),
            error_spans=len(errors),
            http_status=status,
            found_by=found_by,
            link=jaeger_trace(self.config.jaeger_ui_url, trace.trace_id),
            logs_link=logs_link,
            logs=logs,
        )

    def _build(
        self,
        slo: SLO,
        start: datetime,
        end: datetime,
        *,
        target: EvidenceTarget,
        calls: Sequence[_Call[Any]],
        exemplars: Sequence[Exemplar],
        failing: Sequence[Trace],
        slowest: Sequence[Trace],
        exemplar_traces: Sequence[Trace],
        by_trace: dict[str, list[LogLine]],
        error_logs: ErrorLogs | None,
        log_query: LogQuery,
        failing_query: TraceQuery,
    ) -> EvidenceReport:
        found_by: dict[str, list[Any]] = {}
        for name, group in (("failing", failing), ("slow", slowest), ("exemplar", exemplar_traces)):
            for trace in group:
                found_by.setdefault(trace.trace_id, []).append(name)
        exemplar_ids = {e.trace_id for e in exemplars}
        for tid, names in found_by.items():
            if tid in exemplar_ids and "exemplar" not in names:
                names.append("exemplar")

        def summaries(group: Iterable[Trace]) -> list[TraceSummary]:
            return [
                self._summary(t, found_by[t.trace_id], by_trace.get(t.trace_id, [])) for t in group
            ]

        unique = {t.trace_id: t for t in (*failing, *slowest, *exemplar_traces)}
        sources = [c.public() for c in calls]
        failed = sorted({s.backend for s in sources if s.status in ("failed", "timeout")})
        lucene = lucene_error_query(log_query)
        return EvidenceReport(
            slo_id=slo.id,
            sli_kind=slo.sli.kind,
            start=start,
            end=end,
            generated_at=self._clock(),
            partial=bool(failed),
            failed=failed,
            sources=sources,
            target=target,
            exemplars=[
                ExemplarPublic(
                    **e.model_dump(), link=jaeger_trace(self.config.jaeger_ui_url, e.trace_id)
                )
                for e in exemplars
            ],
            failing_traces=summaries(failing),
            slowest_traces=summaries(slowest),
            exemplar_traces=summaries(exemplar_traces),
            error_counts=error_counts(unique.values()),
            error_logs=None
            if error_logs is None
            else ErrorLogsPublic(
                index=log_query.index,
                query=lucene,
                total=error_logs.total,
                total_is_lower_bound=error_logs.total_is_lower_bound,
                lines=list(error_logs.lines),
                per_minute=list(error_logs.per_minute),
                link=self.config.log_links.search(lucene, start, end),
            ),
            links=EvidenceLinks(
                jaeger_search=jaeger_search(self.config.jaeger_ui_url, failing_query),
                logs=self.config.log_links.search(lucene, start, end),
            ),
        )


def error_counts(traces: Iterable[Trace]) -> list[ErrorCount]:
    """Error spans by service, operation and status (HTTP code, else ``error``), most first."""
    counts: dict[tuple[str, str, str], int] = {}
    for trace in traces:
        for span in trace.error_spans:
            status = str(span.http_status) if span.http_status is not None else "error"
            key = (span.service, span.operation, status)
            counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [ErrorCount(service=s, operation=o, status=st, count=n) for (s, o, st), n in ordered]


def _value(call: _Call[list[T]] | None) -> list[T]:
    return list(call.value) if call is not None and call.value is not None else []


def _start_key(trace: Trace) -> float:
    start = trace.start
    return start.timestamp() if start is not None else 0.0


def _newest_unique(exemplars: Sequence[Exemplar]) -> list[Exemplar]:
    """One exemplar per trace id (the newest), newest first."""
    seen: dict[str, Exemplar] = {}
    for exemplar in sorted(exemplars, key=lambda e: e.timestamp, reverse=True):
        seen.setdefault(exemplar.trace_id, exemplar)
    return list(seen.values())


def _not_configured(backend: Backend, call: str, setting: str) -> _Call[Any]:
    return _skipped(backend, call, "not_configured", f"set {setting} to read {call}")


def _merge_fetches(fetches: Sequence[_Call[Any]]) -> list[_Call[Any]]:
    """The per-id trace fetches as one status: failed or timed out when any was."""
    if not fetches:
        return []
    bad = [c for c in fetches if c.status != "ok"]
    merged: _Call[Any] = _Call("jaeger", "exemplar traces")
    merged.seconds = max((c.seconds or 0.0 for c in fetches), default=None)
    if bad:
        merged.status = "timeout" if all(c.status == "timeout" for c in bad) else "failed"
        merged.message = f"{len(bad)} of {len(fetches)} fetches: {bad[0].message}"
    else:
        missing = sum(1 for c in fetches if c.value is None)
        if missing:
            merged.message = f"{missing} of {len(fetches)} traces are not in Jaeger"
    return [merged]
