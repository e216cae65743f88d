"""What the compiled rules should compute for a synthetic traffic timeline.

Time is in whole minutes; input series have one sample a minute, and minute
``k`` carries the events of ``(k-1, k]``. The oracle models ratios as
Prometheus evaluates them, with *variants* for the details that differ
between versions (a range including its start sample or not; the long rule
group evaluated every minute, as promtool 2.x does, or only every 5 minutes).
A window's value is the span over all variants, so a check is placed only
where every variant agrees on which side of a threshold it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sloctl.durations import MINUTE
from sloctl.slo_math import BASE_WINDOW, BurnCondition

EPSILON = 1e-6
BASE = BASE_WINDOW // MINUTE
#: The long rule group runs every 5 minutes; older promtool runs every group at every step.
LONG_GROUP_INTERVAL = 5


@dataclass(frozen=True)
class Phase:
    """A stretch of constant traffic: events per minute and the bad share of them."""

    minutes: int
    rate: float
    bad: float


class Ambiguous:
    """A value that differs in kind between variants (defined in some, not in others)."""


AMBIGUOUS = Ambiguous()
Span = tuple[float, float] | None | Ambiguous


def _span(values: Sequence[float | None]) -> Span:
    defined = [v for v in values if v is not None]
    if not defined:
        return None
    if len(defined) != len(values):
        return AMBIGUOUS
    return (min(defined), max(defined))


class Timeline:
    """The per-minute events of one group."""

    def __init__(self, phases: Sequence[Phase], gauge: bool = False) -> None:
        self.gauge = gauge
        self._prefix: dict[tuple[bool, int], list[tuple[float, float, float, int]]] = {}
        self.total = [0.0]
        self.bad = [0.0]
        for phase in phases:
            self.total.extend([phase.rate] * phase.minutes)
            self.bad.extend([phase.rate * phase.bad] * phase.minutes)
        self.end = len(self.total) - 1
        first = phases[0]
        # A gauge sample at minute 0 carries the first phase's value.
        self.total[0] = first.rate if gauge else 0.0
        self.bad[0] = first.rate * first.bad if gauge else 0.0
        self._cum_total = [0.0]
        self._cum_bad = [0.0]
        for k in range(1, self.end + 1):
            self._cum_total.append(self._cum_total[-1] + self.total[k])
            self._cum_bad.append(self._cum_bad[-1] + self.bad[k])

    def _sums(self, first: int, last: int) -> tuple[float, float]:
        """Bad and total events of minutes ``first..last`` (counters)."""
        first = max(first, 1)
        last = min(last, self.end)
        if last < first:
            return 0.0, 0.0
        return (
            self._cum_bad[last] - self._cum_bad[first - 1],
            self._cum_total[last] - self._cum_total[first - 1],
        )

    def _gauge(self, first: int, last: int) -> tuple[float, float]:
        """Bad share summed and sample count over minutes ``first..last`` (gauges)."""
        bad = count = 0.0
        for k in range(max(first, 0), min(last, self.end) + 1):
            if self.total[k] > 0:
                count += 1
                bad += self.bad[k] / self.total[k]
        return bad, count

    def window(self, t: int, minutes: int, inclusive: bool) -> tuple[float, float] | None:
        """(bad, total) as a range over ``minutes`` ending at ``t`` sees them, or None (no rate)."""
        if t < 0 or t > self.end:
            return None
        if self.gauge:
            start = t - minutes if inclusive else t - minutes + 1
            bad, count = self._gauge(start, t)
            return (bad, count) if count > 0 else None
        start = t - minutes + 1 if inclusive else t - minutes + 2
        samples = t - max(start - 1, 0) + 1
        if samples < 2:
            return None
        return self._sums(start, t)

    def ratio(self, t: int, minutes: int, inclusive: bool) -> float | None:
        counts = self.window(t, minutes, inclusive)
        if counts is None or counts[1] <= 0:
            return None
        return counts[0] / counts[1]

    def base_prefix(self, inclusive: bool, step: int) -> list[tuple[float, float, float, int]]:
        """Running sums over base-window evaluations (every ``step`` minutes) of
        (bad, total, ratio, ratio count), so a chained window is two lookups."""
        key = (inclusive, step)
        cached = self._prefix.get(key)
        if cached is not None:
            return cached
        out: list[tuple[float, float, float, int]] = []
        bad = total = ratios = 0.0
        count = 0
        for u in range(self.end + 1):
            if u % step == 0:
                counts = self.window(u, BASE, inclusive)
                if counts is not None:
                    bad += counts[0]
                    total += counts[1]
                    if counts[1] > 0:
                        ratios += counts[0] / counts[1]
                        count += 1
            out.append((bad, total, ratios, count))
        self._prefix[key] = out
        return out


@dataclass(frozen=True)
class Model:
    """The rules of one SLO as the oracle sees them."""

    error_budget: float
    events: bool
    raw_windows: frozenset[int]
    step: int = 1

    def raw(self, line: Timeline, t: int, window: int) -> Span:
        minutes = window // MINUTE
        return _span([line.ratio(t, minutes, inc) for inc in (True, False)])

    def chained(self, line: Timeline, t: int, window: int, seen_by_alerts: bool = False) -> Span:
        """A window chained from 5-minute counts, as a query at ``t`` sees it.

        Two schedules are modelled: promtool 2.x runs every group at every step
        (in the pinned order, the alerts' group first), while Prometheus, and a
        promtool that keeps group intervals, runs the long group every 5 minutes.
        Alerts see the long group's last evaluation before ``t``. With events, the
        long group sums counts it records itself at its own cadence; raw ratios
        average the 5-minute ratio the short group records every step.
        """
        minutes = window // MINUTE
        values: list[float | None] = []
        cadences = {self.step, max(self.step, LONG_GROUP_INTERVAL)}
        for cadence in sorted(cadences):
            # alerts: the last long evaluation before t; queries: the one at or before t
            last_before = -(-t // cadence) * cadence - cadence
            at = last_before if seen_by_alerts else (t // cadence) * cadence
            stride = cadence if self.events else self.step
            for inclusive in (True, False):
                values.append(self._chain(line, at, minutes, inclusive, False, stride))
                # Prometheus extrapolates the first base windows (less than 5 minutes of
                # data) differently; bound their weight by also leaving them out.
                trimmed = self._chain(line, at, minutes, inclusive, True, stride)
                if trimmed is not None:
                    values.append(trimmed)
        return _span(values)

    def _chain(
        self,
        line: Timeline,
        t: int,
        minutes: int,
        inclusive: bool,
        skip_warmup: bool,
        stride: int,
    ) -> float | None:
        if t < 0:
            return None
        t = min(t, line.end)
        first = t - minutes if inclusive else t - minutes + 1
        first = max(first, BASE if skip_warmup else 0)
        if first > t:
            return None
        prefix = line.base_prefix(inclusive, stride)
        last = prefix[t]
        before = prefix[first - 1] if first > 0 else (0.0, 0.0, 0.0, 0)
        bad, total, ratios, count = (a - b for a, b in zip(last, before, strict=True))
        if self.events:
            return bad / total if total > 0 else None
        return ratios / count if count > 0 else None

    def ratio(self, line: Timeline, t: int, window: int, seen_by_alerts: bool = False) -> Span:
        if window in self.raw_windows:
            return self.raw(line, t, window)
        return self.chained(line, t, window, seen_by_alerts)

    def condition(self, line: Timeline, t: int, cond: BurnCondition) -> bool | None:
        """True or False when every variant agrees, None when it depends on the variant."""
        threshold = cond.factor
        verdicts: list[bool | None] = []
        for window in (cond.long, cond.short):
            span = self.ratio(line, t, window, seen_by_alerts=True)
            if span is None:
                return False
            if isinstance(span, Ambiguous):
                return None
            low, high = span[0] / self.error_budget, span[1] / self.error_budget
            if low > threshold * (1 + EPSILON):
                verdicts.append(True)
            elif high < threshold * (1 - EPSILON):
                return False
            else:
                verdicts.append(None)
        return None if None in verdicts else True

    def expr(self, line: Timeline, t: int, conditions: Sequence[BurnCondition]) -> bool | None:
        """The alert expression (an ``or`` of conditions) at minute ``t``."""
        results = [self.condition(line, t, c) for c in conditions]
        if True in results:
            return True
        if None in results:
            return None
        return False

    def firing(
        self, line: Timeline, t: int, conditions: Sequence[BurnCondition], for_minutes: int
    ) -> bool | None:
        """Whether the alert fires at ``t``: its expression held at every evaluation for ``for``."""
        span = -(-for_minutes // self.step) * self.step
        states = [self.expr(line, u, conditions) for u in range(t - span, t + 1, self.step)]
        if False in states:
            return False
        if None in states:
            return None
        return True
