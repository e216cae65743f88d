"""Budget numbers of an SLO from its error ratios: pure functions, no I/O.

Inputs are error ratios per window (bad events over all events, or the raw
ratio) for each group of a ``groupBy`` SLO; outputs are the SLI, the error
budget, burn rates, time to exhaustion and the status from the budget policy.

A ``groupBy`` SLO is met only when every group meets it, so its top-level
numbers are those of its worst group: the lowest SLI and remaining budget, the
highest burn rate of each window, and the worst status.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sloctl import slo_math
from sloctl.durations import HOUR, format_duration
from sloctl.spec.models import SLO, Window

Status = Literal["ok", "warning", "exhausted", "unknown"]
Origin = Literal["recorded", "raw"]

#: Window key of the current calendar period (week or month so far).
PERIOD = "period"
#: Burn rate used for the time to exhaustion and by the CLI's "current burn".
CURRENT_BURN = format_duration(HOUR)
_SEVERITY: dict[Status, int] = {"unknown": 0, "ok": 1, "warning": 2, "exhausted": 3}


@dataclass(frozen=True)
class Period:
    """The calendar period a calendar-window SLO is judged over."""

    start: datetime
    end: datetime

    def elapsed(self, at: datetime) -> int:
        """Whole seconds of the period up to ``at``."""
        return max(0, int((at - self.start).total_seconds()))


@dataclass(frozen=True)
class Numbers:
    """The budget of one SLO (or of one group of a groupBy SLO)."""

    sli: float | None
    consumed: float | None
    remaining: float | None
    burn_rates: dict[str, float]
    time_to_exhaustion: float | None
    status: Status


@dataclass(frozen=True)
class GroupNumbers:
    """The numbers of one group of a groupBy SLO, with its label values."""

    labels: dict[str, str]
    numbers: Numbers


@dataclass(frozen=True)
class Budget:
    """Everything the server knows about one SLO's budget at one time."""

    slo_id: str
    taken_at: datetime
    numbers: Numbers
    groups: list[GroupNumbers] = field(default_factory=list)
    window_origin: Origin | None = None
    period: Period | None = None


def period_of(window: Window, at: datetime) -> Period | None:
    """The current calendar week (from Monday) or month in the window's time zone."""
    if window.calendar is None:
        return None
    local = at.astimezone(zoneinfo.ZoneInfo(window.time_zone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if window.calendar == "week":
        start = midnight - timedelta(days=local.weekday())
        end = start + timedelta(days=7)
    else:
        start = midnight.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    # Aware datetimes with a ZoneInfo do wall-clock arithmetic: midnights stay midnights
    # across DST changes, and the offset is looked up for each.
    return Period(start, end)


def window_key(slo: SLO) -> str:
    """The key of the error ratio that is the SLO's SLI: its rolling window or the period."""
    return PERIOD if slo.window.calendar else format_duration(slo.window.seconds)


def status_for(slo: SLO, remaining: float | None) -> Status:
    """The budget policy's verdict: exhausted at or below ``freezeAt`` %, warning below
    ``warnBelow`` %, otherwise ok; unknown without data."""
    if remaining is None:
        return "unknown"
    percent = remaining * 100
    if percent <= slo.budget_policy.freeze_at:
        return "exhausted"
    if percent < slo.budget_policy.warn_below:
        return "warning"
    return "ok"


def numbers_for(slo: SLO, ratios: Mapping[str, float]) -> Numbers:
    """The numbers of one group from its error ratios by window key.

    Ratios are clamped to [0, 1]: extrapolation at window edges can push a
    ratio a hair outside, never meaningfully.
    """
    budget = slo.error_budget
    clean = {key: min(max(value, 0.0), 1.0) for key, value in ratios.items()}
    ratio = clean.get(window_key(slo))
    burn_rates = {
        key: slo_math.burn_rate(value, budget) for key, value in clean.items() if key != PERIOD
    }
    if ratio is None:
        return Numbers(None, None, None, burn_rates, None, "unknown")
    sli = 1 - ratio
    remaining = slo_math.budget_remaining(sli, slo.target)
    current = burn_rates.get(CURRENT_BURN)
    exhaustion = (
        None
        if current is None
        else slo_math.time_to_exhaustion(remaining, slo.window.seconds, current)
    )
    return Numbers(
        sli, 1 - remaining, remaining, burn_rates, exhaustion, status_for(slo, remaining)
    )


def worst(slo: SLO, groups: Sequence[Numbers]) -> Numbers:
    """The top-level numbers of a groupBy SLO: its worst group on every count."""
    known = [g for g in groups if g.sli is not None]
    if not groups:
        return Numbers(None, None, None, {}, None, "unknown")
    burn_rates: dict[str, float] = {}
    for group in groups:
        for key, value in group.burn_rates.items():
            burn_rates[key] = max(value, burn_rates.get(key, value))
    if not known:
        return Numbers(None, None, None, burn_rates, None, "unknown")
    floor = min(known, key=lambda g: g.remaining if g.remaining is not None else 1.0)
    exhaustion = [g.time_to_exhaustion for g in known if g.time_to_exhaustion is not None]
    status = max((g.status for g in known), key=lambda s: _SEVERITY[s])
    return Numbers(
        min(g.sli for g in known if g.sli is not None),
        floor.consumed,
        floor.remaining,
        burn_rates,
        min(exhaustion) if exhaustion else None,
        status,
    )


def budget_for(
    slo: SLO,
    taken_at: datetime,
    ratios: Mapping[tuple[str, ...], Mapping[str, float]],
    *,
    window_origin: Origin | None = None,
) -> Budget:
    """The budget of an SLO from the error ratios of each of its groups.

    ``ratios`` maps a group (the values of the ``groupBy`` labels, ``()`` for
    an ungrouped SLO) to its ratios by window key.
    """
    period = period_of(slo.window, taken_at)
    if not slo.group_by:
        return Budget(
            slo.id,
            taken_at,
            numbers_for(slo, ratios.get((), {})),
            window_origin=window_origin,
            period=period,
        )
    groups = [
        GroupNumbers(dict(zip(slo.group_by, key, strict=True)), numbers_for(slo, values))
        for key, values in sorted(ratios.items())
    ]
    return Budget(
        slo.id,
        taken_at,
        worst(slo, [g.numbers for g in groups]),
        groups,
        window_origin=window_origin,
        period=period,
    )
