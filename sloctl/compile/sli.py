"""The PromQL that reads an SLI's raw series, per SLI kind.

This is the only place the user's metrics and queries enter the rules; every
other rule reads series sloctl recorded. Event sources give a total and an
error rate (events per second) for a window; ratio sources (raw error-ratio
queries) give only the ratio. All expressions aggregate to the SLO's
``groupBy`` labels, so every recorded series of an SLO has the same label set.

Missing series are handled where they mean something: an error counter that
does not exist yet means zero errors (``or 0 * total``), while a latency bucket
that does not exist means a misconfigured threshold, so it yields no data (and
the absent alert) rather than a false 100 % error ratio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sloctl.durations import format_duration
from sloctl.promql import le_matcher, parse_selector
from sloctl.spec.models import SLO, WINDOW_PLACEHOLDER


def aggregate(group_by: tuple[str, ...], expr: str, op: str = "sum") -> str:
    """``sum by (a, b) (expr)``, or ``sum(expr)`` without grouping."""
    if group_by:
        return f"{op} by ({', '.join(group_by)}) ({expr})"
    return f"{op}({expr})"


def window_query(query: str, window: int) -> str:
    return query.replace(WINDOW_PLACEHOLDER, format_duration(window))


class Source(Protocol):
    """Where an SLO's numbers come from."""

    @property
    def events(self) -> bool:
        """True when the SLI counts events (traffic-weighted); False for raw ratios."""
        ...

    def total(self, window: int) -> str:
        """All events per second over ``window``, aggregated to the groupBy labels."""
        ...

    def errors(self, window: int, total_ref: str) -> str:
        """Bad events per second over ``window``; ``total_ref`` selects the recorded total."""
        ...

    def ratio(self, window: int) -> str:
        """The error ratio over ``window`` (raw sources only)."""
        ...

    def presence(self) -> str:
        """An expression that is empty when the SLI's series are gone (raw sources only)."""
        ...


@dataclass(frozen=True)
class EventSource:
    """Total and bad (or good) events as functions of the window."""

    group_by: tuple[str, ...]
    total_inner: str
    bad_inner: str | None = None
    good_inner: str | None = None
    good_fallback: bool = True
    per_seconds: bool = False

    events = True

    def _fill(self, inner: str, window: int) -> str:
        expr = aggregate(self.group_by, window_query(inner, window))
        return f"{expr} / {window}" if self.per_seconds else expr

    def total(self, window: int) -> str:
        return self._fill(self.total_inner, window)

    def errors(self, window: int, total_ref: str) -> str:
        total = aggregate(self.group_by, total_ref)
        if self.bad_inner is not None:
            return f"{self._fill(self.bad_inner, window)} or 0 * {total}"
        assert self.good_inner is not None
        good = self._fill(self.good_inner, window)
        if self.good_fallback:
            return f"clamp_min({total} - ({good} or 0 * {total}), 0)"
        return f"{total} - {good}"

    def ratio(self, window: int) -> str:  # pragma: no cover - callers check .events
        raise TypeError("event sources record events, not ratios")

    def presence(self) -> str:  # pragma: no cover - callers check .events
        raise TypeError("event sources use the recorded error events for presence")


@dataclass(frozen=True)
class RatioSource:
    """A raw error-ratio query; NaN (no traffic) is dropped as no data."""

    group_by: tuple[str, ...]
    query: str

    events = False

    def total(self, window: int) -> str:  # pragma: no cover - callers check .events
        raise TypeError("raw error-ratio SLIs have no event counts")

    def errors(self, window: int, total_ref: str) -> str:  # pragma: no cover
        raise TypeError("raw error-ratio SLIs have no event counts")

    def ratio(self, window: int) -> str:
        return f"{aggregate(self.group_by, window_query(self.query, window), 'max')} >= 0"

    def presence(self) -> str:
        return aggregate(self.group_by, window_query(self.query, 300), "max")


def _rate(selector: str) -> str:
    return f"rate({selector}[{WINDOW_PLACEHOLDER}])"


def source_for(slo: SLO) -> EventSource | RatioSource:
    """The source of an SLO's SLI as written in its spec."""
    sli = slo.sli
    group_by = slo.group_by
    if sli.events is not None:
        return EventSource(
            group_by,
            total_inner=sli.events.total_query,
            bad_inner=sli.events.error_query,
            good_inner=sli.events.good_query,
        )
    if sli.ratio is not None:
        return EventSource(
            group_by,
            total_inner=_rate(sli.ratio.total),
            bad_inner=_rate(sli.ratio.errors) if sli.ratio.errors else None,
            good_inner=_rate(sli.ratio.good) if sli.ratio.good else None,
        )
    if sli.latency is not None:
        selector = sli.latency.selector
        threshold = sli.latency.threshold
        if sli.latency.native:
            hist = _rate(selector.render())
            return EventSource(
                group_by,
                total_inner=f"histogram_count({hist})",
                good_inner=(
                    f"histogram_fraction(0, {threshold!r}, {hist}) * histogram_count({hist})"
                ),
                good_fallback=False,
            )
        count = selector.with_name(f"{selector.name}_count").render()
        bucket = selector.with_name(f"{selector.name}_bucket").with_matchers(le_matcher(threshold))
        return EventSource(
            group_by,
            total_inner=_rate(count),
            good_inner=_rate(bucket.render()),
            good_fallback=False,
        )
    if sli.bool_gauge is not None:
        metric = parse_selector(sli.bool_gauge.metric).render()
        return EventSource(
            group_by,
            total_inner=f"count_over_time({metric}[{WINDOW_PLACEHOLDER}])",
            good_inner=f"sum_over_time({metric}[{WINDOW_PLACEHOLDER}])",
            good_fallback=False,
            per_seconds=True,
        )
    assert sli.raw is not None
    return RatioSource(group_by, sli.raw.error_ratio_query)
