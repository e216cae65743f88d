"""Synthetic request traffic at one-minute resolution, and the truth computed from it.

Traffic varies by hour of day, errors come only in busy hours (so a time
average of ratios differs from the traffic-weighted SLI), and a six-hour gap
has no traffic at all. The same minutes give the OpenMetrics text Prometheus
is backfilled with and the expected numbers, computed here by plain sums.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MINUTE = 60
#: Counters start high so that Prometheus never limits extrapolation at zero.
COUNTER_OFFSET = 1_000_000


@dataclass
class Route:
    """Per-minute request and error counts of one route; minute i ends at start + 60 * i."""

    name: str
    total: list[int] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)


@dataclass
class Traffic:
    start: int
    minutes: int
    routes: list[Route]

    def times(self) -> range:
        return range(self.start, self.start + self.minutes * MINUTE, MINUTE)

    @property
    def end(self) -> int:
        """Time of the last sample."""
        return self.start + (self.minutes - 1) * MINUTE

    def counts(self, a: float, b: float, routes: set[str] | None = None) -> tuple[int, int]:
        """(errors, total) of the minutes whose sample time is in (a, b]."""
        first = max(0, math.floor((a - self.start) / MINUTE) + 1)
        last = min(self.minutes - 1, math.floor((b - self.start) / MINUTE))
        errors = total = 0
        for route in self.routes:
            if routes is not None and route.name not in routes:
                continue
            errors += sum(route.errors[first : last + 1])
            total += sum(route.total[first : last + 1])
        return errors, total

    def ratio(self, a: float, b: float, routes: set[str] | None = None) -> float:
        errors, total = self.counts(a, b, routes)
        return errors / total

    def ratio_bounds(
        self, a: float, b: float, routes: set[str] | None = None, slack: int = 1
    ) -> tuple[float, float]:
        """Lowest and highest error ratio when each edge of (a, b] moves by up to ``slack``
        minutes: what sampling and extrapolation at the window's edges can change."""
        values = [
            self.ratio(a + da * MINUTE, b + db * MINUTE, routes)
            for da in range(-slack, slack + 1)
            for db in range(-slack, slack + 1)
        ]
        return min(values), max(values)

    def openmetrics(self, metric: str, extra_labels: str = "") -> list[str]:
        """Counter samples of every route and code, one line each."""
        lines = [f"# TYPE {metric} counter"]
        for route in self.routes:
            for code, counts in (
                ("200", [t - e for t, e in zip(route.total, route.errors, strict=True)]),
                ("500", route.errors),
            ):
                value = COUNTER_OFFSET
                labels = f'code="{code}",route="{route.name}"{extra_labels}'
                for t, count in zip(self.times(), counts, strict=True):
                    value += count
                    lines.append(f"{metric}_total{{{labels}}} {value} {t}")
        return lines

    def base_rates(self, labels: str) -> list[str]:
        """The 5-minute error and total event counts the long rule group records, one every
        5 minutes: what the rules would have written had they run for the whole span."""
        lines = []
        for name, pick in (
            ("slo:sli_error_events:increase5m", "errors"),
            ("slo:sli_total_events:increase5m", "total"),
        ):
            lines.append(f"# TYPE {name} gauge")
            per_minute = [
                sum(getattr(r, pick)[i] for r in self.routes) for i in range(self.minutes)
            ]
            for i, t in enumerate(self.times()):
                if i < 5 or i % 5:
                    continue
                window = sum(per_minute[i - 4 : i + 1])
                lines.append(f"{name}{{{labels}}} {window} {t}")
        return lines


def make_traffic(end: int, days: int = 30, lead_minutes: int = 180) -> Traffic:
    """``days`` (plus a lead) of traffic ending at ``end`` (rounded down to the minute).

    Route /a: 20-60 requests a minute following the hour of day, one error
    every fifth minute of the busy hours (10:00-18:00 UTC). Route /b: half the
    traffic, an error every other busy minute. No traffic at all for six hours
    ten days before the end.
    """
    end -= end % MINUTE
    minutes = days * 1440 + lead_minutes
    start = end - (minutes - 1) * MINUTE
    gap_start = end - 10 * 86400
    gap_end = gap_start + 6 * 3600
    a, b = Route("/a"), Route("/b")
    for i in range(minutes):
        t = start + i * MINUTE
        hour = (t % 86400) / 3600
        busy = 10 <= hour < 18
        load = 40 + 20 * math.sin(2 * math.pi * (hour - 8) / 24)
        if gap_start <= t < gap_end:
            load = 0
        total_a = round(load)
        total_b = round(load / 2)
        a.total.append(total_a)
        b.total.append(total_b)
        a.errors.append(1 if busy and total_a and i % 5 == 0 else 0)
        b.errors.append(1 if busy and total_b and i % 2 == 0 else 0)
    return Traffic(start, minutes, [a, b])
