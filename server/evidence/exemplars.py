"""Trace ids of bad requests from Prometheus exemplars (``/api/v1/query_exemplars``).

An instrumented service attaches the current trace id to an observation
(OpenMetrics exemplars); Prometheus with ``--enable-feature=exemplar-storage``
keeps them. :func:`plan_for` reads an SLO's SLI and decides which series carry
the exemplars of *bad* events and how to keep only those:

- latency: the histogram's ``_bucket`` series (the histogram itself when
  native), keeping exemplars whose observed value is above the threshold;
- ratio and events with an error selector or query: the error counters;
- ratio and events with a good selector or query: the total counters, minus
  the series the good selector matches;
- boolGauge and raw error ratios carry no per-request exemplars.

prometheus-api-client has no call for this endpoint, so it is read with httpx.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from server.errors import EvidenceBackendError
from server.evidence.model import Exemplar, normalize_span_id, normalize_trace_id
from sloctl.promql import Selector, find_selectors, parse_selector
from sloctl.spec.models import SLO, WINDOW_PLACEHOLDER

#: Exemplar label names that carry the trace id (OTel SDKs, Go and Python clients, Grafana).
TRACE_LABELS = ("trace_id", "traceID", "traceId", "TraceID")
SPAN_LABELS = ("span_id", "spanID", "spanId", "SpanID")


class ExemplarSource(Protocol):
    """What the evidence needs from Prometheus: the exemplars of a query's series."""

    def query_exemplars(self, query: str, start: datetime, end: datetime) -> list[Exemplar]:
        """Exemplars with a trace id of the series ``query`` selects, in ``[start, end]``.

        Raises:
            EvidenceBackendError: Prometheus failed, timed out or answered garbage.
        """
        ...


@dataclass(frozen=True)
class ExemplarPlan:
    """Where an SLO's bad requests leave exemplars, and which of them are bad."""

    selectors: tuple[Selector, ...]
    min_value: float | None = None
    exclude: tuple[Selector, ...] = ()

    @property
    def query(self) -> str:
        """The selectors as one PromQL expression (``a or b``)."""
        return " or ".join(s.render() for s in self.selectors)

    def bad(self, exemplars: Sequence[Exemplar]) -> list[Exemplar]:
        """The exemplars of bad requests: above the threshold, not on a good series."""
        kept = []
        for exemplar in exemplars:
            if self.min_value is not None and not exemplar.value > self.min_value:
                continue
            name = exemplar.series.get("__name__", "")
            if any(s.matches(name, dict(exemplar.series)) for s in self.exclude):
                continue
            kept.append(exemplar)
        return kept


def _selectors(query: str) -> tuple[Selector, ...]:
    found = find_selectors(query.replace(WINDOW_PLACEHOLDER, "5m"))
    return tuple(f.selector for f in found if f.selector.name)


def plan_for(slo: SLO) -> ExemplarPlan | None:
    """Where to look for ``slo``'s bad requests; None for SLIs without exemplars."""
    sli = slo.sli
    if sli.latency is not None:
        selector = sli.latency.selector
        series = selector if sli.latency.native else selector.with_name(f"{selector.name}_bucket")
        return ExemplarPlan((series,), min_value=sli.latency.threshold)
    if sli.ratio is not None:
        if sli.ratio.errors is not None:
            return ExemplarPlan((parse_selector(sli.ratio.errors),))
        assert sli.ratio.good is not None
        return ExemplarPlan(
            (parse_selector(sli.ratio.total),), exclude=(parse_selector(sli.ratio.good),)
        )
    if sli.events is not None:
        if sli.events.error_query is not None:
            selectors = _selectors(sli.events.error_query)
            return ExemplarPlan(selectors) if selectors else None
        assert sli.events.good_query is not None
        total = _selectors(sli.events.total_query)
        return ExemplarPlan(total, exclude=_selectors(sli.events.good_query)) if total else None
    return None


def _label(labels: Mapping[str, Any], names: Sequence[str]) -> str | None:
    for name in names:
        value = labels.get(name)
        if value:
            return str(value)
    return None


def parse_exemplars(data: Any) -> list[Exemplar]:
    """The ``data`` of a query_exemplars answer; exemplars without a trace id are dropped."""
    out = []
    for series in data or []:
        labels = {str(k): str(v) for k, v in (series.get("seriesLabels") or {}).items()}
        for raw in series.get("exemplars") or []:
            tags = raw.get("labels") or {}
            trace = _label(tags, TRACE_LABELS)
            if trace is None:
                continue
            try:
                trace_id = normalize_trace_id(trace)
            except ValueError:
                continue
            span = _label(tags, SPAN_LABELS)
            try:
                span_id = normalize_span_id(span) if span else None
            except ValueError:
                span_id = None
            out.append(
                Exemplar(
                    trace_id=trace_id,
                    span_id=span_id,
                    value=float(raw["value"]),
                    timestamp=datetime.fromtimestamp(float(raw["timestamp"]), UTC),
                    series=labels,
                )
            )
    return out


class PrometheusExemplars:
    """:class:`ExemplarSource` over Prometheus's HTTP API (httpx, no retries)."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        verify_tls: bool = True,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._own = client is None
        self._http = client or httpx.Client(verify=verify_tls)
        self._headers = dict(headers or {})
        self._timeout = timeout

    def close(self) -> None:
        if self._own:
            self._http.close()

    def query_exemplars(self, query: str, start: datetime, end: datetime) -> list[Exemplar]:
        try:
            response = self._http.post(
                f"{self.url}/api/v1/query_exemplars",
                data={
                    "query": query,
                    "start": f"{start.timestamp():.3f}",
                    "end": f"{end.timestamp():.3f}",
                },
                headers=self._headers,
                timeout=self._timeout,
            )
        except httpx.TimeoutException as err:
            raise EvidenceBackendError(
                "prometheus", self.url, f"no answer within {self._timeout:g}s", timed_out=True
            ) from err
        except httpx.HTTPError as err:
            raise EvidenceBackendError("prometheus", self.url, f"cannot reach it: {err}") from err
        try:
            body = response.json()
            if body.get("status") != "success":
                raise EvidenceBackendError(
                    "prometheus",
                    self.url,
                    f"query_exemplars answered HTTP {response.status_code}: "
                    f"{body.get('error', 'no error message')}",
                )
            return parse_exemplars(body["data"])
        except EvidenceBackendError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise EvidenceBackendError(
                "prometheus",
                self.url,
                f"query_exemplars answered HTTP {response.status_code} with something that is "
                f"not Prometheus's JSON: {response.text[:120]!r}",
            ) from err
