"""The SLO page's model: time range, charts, alert conditions, policy and gate. Pure.

Everything comes from the server's registry, its last budgets and the stored
snapshots (the same data as ``/api/v1/slos/{id}`` and ``/series``), never
from a live Prometheus query.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.schemas import SLOPublic
from server.store.repository import SnapshotIn
from server.web import format as fmt
from server.web.charts import Chart, Series, line_chart
from sloctl.durations import DAY, HOUR, format_duration
from sloctl.slo_math import slo_conditions
from sloctl.spec.models import SLO

#: Time ranges offered on the page; "window" is the SLO's own window (or calendar period).
RANGES = {"1h": HOUR, "6h": 6 * HOUR, "1d": DAY, "7d": 7 * DAY}
DEFAULT_RANGE = "1d"
#: Burn-rate windows drawn over time (the overview's columns).
CHART_WINDOWS = ("1h", "6h", "1d", "3d")
_BURN_FLOOR = 0.01


@dataclass(frozen=True)
class TimeRange:
    key: str
    label: str
    start: datetime
    end: datetime
    #: Burn-down x axis: the window (rolling: the last window; calendar: the period).
    window_start: datetime
    window_end: datetime

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())


def time_range(key: str, item: SLOPublic, now: datetime) -> TimeRange:
    """The chart range for ``key`` (unknown keys fall back to the default)."""
    if item.period is not None:
        window_start, window_end = item.period.start, item.period.end
    else:
        window_start, window_end = now - timedelta(seconds=item.window_seconds), now
    if key == "window":
        end = window_end if item.period is not None else now
        label = f"this {item.window}" if item.period is not None else f"last {item.window}"
        return TimeRange(key, label, window_start, end, window_start, window_end)
    if key not in RANGES:
        key = DEFAULT_RANGE
    start = now - timedelta(seconds=RANGES[key])
    return TimeRange(key, f"last {key}", start, now, window_start, window_end)


@dataclass(frozen=True)
class ConditionRow:
    """One multi-window burn-rate alert condition and how close the SLO is to it."""

    severity: str
    long: str
    short: str
    factor: float
    budget_share: str
    long_rate: float | None
    short_rate: float | None

    @property
    def met(self) -> bool:
        return (
            self.long_rate is not None
            and self.short_rate is not None
            and self.long_rate > self.factor
            and self.short_rate > self.factor
        )


def conditions(slo: SLO, item: SLOPublic) -> list[ConditionRow]:
    rows = []
    for c in slo_conditions(slo):
        long, short = format_duration(c.long), format_duration(c.short)
        rows.append(
            ConditionRow(
                severity=c.severity,
                long=long,
                short=short,
                factor=c.factor,
                budget_share=fmt.percent(c.budget_fraction, 1),
                long_rate=item.burn_rates.get(long),
                short_rate=item.burn_rates.get(short),
            )
        )
    return rows


@dataclass(frozen=True)
class Gate:
    """What ``sloctl gate`` answers for this SLO: deployments open, frozen, or unknown."""

    state: str
    reason: str


def gate(item: SLOPublic) -> Gate:
    policy = item.budget_policy
    if item.status == "exhausted":
        return Gate(
            "closed",
            f"{fmt.percent(item.error_budget.remaining, 1)} of the budget left, at or below "
            f"the freeze level of {policy.freeze_at:g} %: sloctl gate exits 3",
        )
    if item.status == "unknown":
        return Gate("unknown", "no budget numbers yet: sloctl gate lets deployments through")
    return Gate(
        "open",
        f"above the freeze level of {policy.freeze_at:g} %: sloctl gate exits 0",
    )


# ------------------------------------------------------------------ charts


def _pct(value: float) -> str:
    return fmt.percent(value, 1)


def budget_chart(item: SLOPublic, history: Sequence[SnapshotIn], span: TimeRange) -> Chart:
    """Remaining budget over time (burn-down) with the ideal line: the budget spent evenly,
    from all of it at the window's start to none at its end."""
    values = [(s.taken_at, s.remaining) for s in history]
    known = [v for _, v in values if v is not None]
    low = min([0.0, *known])
    low = -0.1 if -0.1 < low < 0 else low
    high = max([1.0, *known])
    ws, we = span.window_start, span.window_end
    whole = (we - ws).total_seconds()

    def ideal(at: datetime) -> float:
        return 1 - (at - ws).total_seconds() / whole

    a, b = max(span.start, ws), min(span.end, we)
    guide = Series("ideal", "ideal", [(a, ideal(a)), (b, ideal(b))] if b > a else [], _pct)
    policy = item.budget_policy
    return line_chart(
        id="budget",
        title="Error budget remaining",
        description=(
            f"Share of the {item.window} error budget left, {span.label}; the dashed line is "
            "the budget spent evenly over the window. "
            + _latest("Now", item.error_budget.remaining, _pct)
        ),
        t0=span.start,
        t1=span.end,
        series=[Series("remaining", "remaining", values, _pct)],
        guides=[guide],
        low=low,
        high=high,
        y_format=_pct,
        rules=[
            (policy.warn_below / 100, f"warn below {policy.warn_below:g} %", "warn"),
            (policy.freeze_at / 100, f"freeze at {policy.freeze_at:g} %", "freeze"),
        ],
    )


def burn_chart(slo: SLO, history: Sequence[SnapshotIn], span: TimeRange) -> Chart:
    """Burn rate per window over time (log scale) with the alerts' page and ticket factors."""
    lines = [
        Series(
            w,
            f"w{i}",
            [(s.taken_at, s.burn_rates.get(w)) for s in history],
            fmt.burn,
        )
        for i, w in enumerate(CHART_WINDOWS)
    ]
    factors: dict[tuple[str, float], list[str]] = {}
    for c in slo_conditions(slo):
        factors.setdefault((c.severity, c.factor), []).append(format_duration(c.long))
    rules = [
        (factor, f"{severity} {fmt.burn(factor)} ({'/'.join(longs)})", severity)
        for (severity, factor), longs in sorted(factors.items(), key=lambda kv: -kv[0][1])
    ]
    rates = [v for s in history for w in CHART_WINDOWS if (v := s.burn_rates.get(w)) is not None]
    high = max([10.0, *rates, *(f for f, _, _ in rules)]) * 1.5
    return line_chart(
        id="burn",
        title="Burn rate by window",
        description=(
            f"Burn rates over {', '.join(CHART_WINDOWS)}, {span.label}, on a log scale; "
            "1× spends the budget exactly over the window; dashed lines are the alerts' "
            "page and ticket factors."
        ),
        t0=span.start,
        t1=span.end,
        series=lines,
        low=_BURN_FLOOR,
        high=high,
        y_format=fmt.burn,
        rules=[*([] if any(f == 1 for f, _, _ in rules) else [(1.0, "1×", "one")]), *rules],
        log=True,
    )


def sli_chart(item: SLOPublic, history: Sequence[SnapshotIn], span: TimeRange) -> Chart:
    """The SLI over the window, over time, against the objective."""
    values = [(s.taken_at, s.sli) for s in history]
    known = [v for _, v in values if v is not None]
    budget = 1 - item.objective
    low = max(0.0, min([item.objective - 2 * budget, *known]))
    digits = max(2, len(f"{item.objective * 100:.6f}".rstrip("0").split(".")[1]) + 1)

    def sli_format(v: float) -> str:
        return fmt.percent(v, digits)

    return line_chart(
        id="sli",
        title="SLI against the objective",
        description=(
            f"Good events over the {item.window} window, {span.label}, against the objective "
            f"of {fmt.objective(item.objective)}. " + _latest("Now", item.sli, sli_format)
        ),
        t0=span.start,
        t1=span.end,
        series=[Series("SLI", "sli", values, sli_format)],
        low=low,
        high=1.0,
        y_format=sli_format,
        rules=[(item.objective, f"objective {fmt.objective(item.objective)}", "objective")],
    )


def _latest(prefix: str, value: float | None, format: Callable[[float], str]) -> str:
    if value is None:
        return f"{prefix}: no data."
    return f"{prefix}: {format(value)}."
