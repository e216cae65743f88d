"""SLO maths shared by the compiler, the server, the dashboards and the tests.

Multi-window multi-burn-rate alerting follows the Google SRE workbook (ch. 5):
for a 30-day window, page when 2 % of the budget burns within 1 h (checked with
a 5 m short window) or 5 % within 6 h (30 m); ticket when 10 % burns within 1 d
(2 h) or within 3 d (6 h). A condition's burn-rate factor is

    factor = budget fraction * SLO window / long window

so 14.4, 6, 3 and 1 for 30 days. Other SLO windows scale the alert windows by
``window / 30d`` (rounded to familiar durations, short windows at least 5 m)
and recompute the factors, so every condition keeps its meaning: "this share
of the budget burned within that long window".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from sloctl.durations import DAY, HOUR, MINUTE, parse_duration
from sloctl.spec.models import SLO, BurnWindowSpec, Severity

#: Shortest window computed from raw series; also the base the long windows chain from.
BASE_WINDOW = 5 * MINUTE
#: Windows up to this length are computed from raw series; longer ones chain from the base.
RAW_WINDOW_LIMIT = 6 * HOUR
MIN_SHORT_WINDOW = 5 * MINUTE
REFERENCE_WINDOW = 30 * DAY

_NICE = sorted(
    {m * MINUTE for m in (1, 2, 5, 10, 15, 20, 30)}
    | {h * HOUR for h in (1, 2, 3, 4, 6, 8, 12)}
    | {d * DAY for d in (1, 2, 3, 4, 5, 7, 10, 14, 21, 28, 30, 45, 60, 90)}
)

#: (severity, long, short, share of the budget) for a 30-day window.
DEFAULT_CONDITIONS: tuple[tuple[Severity, int, int, str], ...] = (
    ("page", 1 * HOUR, 5 * MINUTE, "0.02"),
    ("page", 6 * HOUR, 30 * MINUTE, "0.05"),
    ("ticket", 1 * DAY, 2 * HOUR, "0.10"),
    ("ticket", 3 * DAY, 6 * HOUR, "0.10"),
)


@dataclass(frozen=True)
class BurnCondition:
    """One multi-window burn-rate condition: both windows must burn faster than ``factor``."""

    severity: Severity
    long: int
    short: int
    budget_fraction: float
    factor: float

    def threshold(self, error_budget: float) -> float:
        """The error ratio both windows must exceed."""
        return self.factor * error_budget

    def reachable(self, error_budget: float) -> bool:
        """Whether even a full outage can make this condition true."""
        return self.threshold(error_budget) < 1

    def time_to_fire(self, error_budget: float) -> float:
        """Seconds of full outage (after a clean long window) until the condition holds."""
        if not self.reachable(error_budget):
            return math.inf
        return self.threshold(error_budget) * self.long


def nice_duration(seconds: float) -> int:
    """The familiar duration nearest to ``seconds`` on a log scale (56m becomes 1h)."""
    return min(_NICE, key=lambda nice: abs(math.log(nice / seconds)))


def burn_factor(budget_fraction: float | str, window: int, long: int) -> float:
    """``budget fraction * window / long window``, rounded to ten decimals."""
    exact = Fraction(Decimal(str(budget_fraction))) * window / long
    return round(float(exact), 10)


def burn_conditions(
    window: int, custom: Sequence[BurnWindowSpec] | None = None
) -> list[BurnCondition]:
    """The alert conditions of an SLO window, from custom windows or the scaled defaults."""
    return list(_burn_conditions(window, tuple(custom) if custom else None))


@functools.lru_cache(maxsize=1024)
def _burn_conditions(
    window: int, custom: tuple[BurnWindowSpec, ...] | None
) -> tuple[BurnCondition, ...]:
    if custom:
        out = []
        for spec in custom:
            fraction = float(Decimal(repr(spec.budget_percent)) / 100)
            long, short = parse_duration(spec.long_window), parse_duration(spec.short_window)
            out.append(
                BurnCondition(
                    spec.severity, long, short, fraction, burn_factor(fraction, window, long)
                )
            )
        return tuple(out)
    scale = window / REFERENCE_WINDOW
    out = []
    for severity, long, short, share in DEFAULT_CONDITIONS:
        scaled_short = max(MIN_SHORT_WINDOW, nice_duration(short * scale))
        scaled_long = max(nice_duration(long * scale), 2 * scaled_short)
        out.append(
            BurnCondition(
                severity,
                scaled_long,
                scaled_short,
                float(share),
                burn_factor(share, window, scaled_long),
            )
        )
    return tuple(out)


def slo_conditions(slo: SLO) -> list[BurnCondition]:
    """The burn-rate conditions of an SLO, only for the severities it enables."""
    enabled = {"page": slo.alerting.page.enabled, "ticket": slo.alerting.ticket.enabled}
    return [
        c for c in burn_conditions(slo.window.seconds, slo.alerting.windows) if enabled[c.severity]
    ]


#: Windows every SLO records (when not longer than the SLO window), so that views can
#: show the same burn rates (1h, 6h, 1d, 3d) for every SLO whatever its alert windows.
STANDARD_WINDOWS = (5 * MINUTE, 30 * MINUTE, 1 * HOUR, 2 * HOUR, 6 * HOUR, 1 * DAY, 3 * DAY)


def recorded_windows(slo: SLO) -> list[int]:
    """Every window an SLO records an error ratio for: standard, alert and SLO windows."""
    windows = {w for w in STANDARD_WINDOWS if w <= slo.window.seconds} | {slo.window.seconds}
    for condition in burn_conditions(slo.window.seconds, slo.alerting.windows):
        windows.update((condition.long, condition.short))
    return sorted(windows)


def raw_windows(slo: SLO) -> frozenset[int]:
    """Windows computed from raw series; the others chain from the 5 m base.

    Windows up to 6 h, and every window a page reads whatever its length: a
    chained window lags by up to the long group's interval, and a page must
    come no later than the maths allows.
    """
    page = {
        w
        for c in burn_conditions(slo.window.seconds, slo.alerting.windows)
        if c.severity == "page"
        for w in (c.long, c.short)
    }
    return frozenset(w for w in recorded_windows(slo) if w <= RAW_WINDOW_LIMIT or w in page)


# ------------------------------------------------------------ budget numbers


def burn_rate(error_ratio: float, error_budget: float) -> float:
    """How many times faster than sustainable the budget burns."""
    return error_ratio / error_budget


def budget_remaining(sli: float, target: float) -> float:
    """Share of the window's budget left, ``1 - (1 - sli) / (1 - target)``.

    Negative when the budget is overspent.
    """
    return 1 - (1 - sli) / (1 - target)


def time_to_exhaustion(remaining: float, window: int, current_burn: float) -> float | None:
    """Seconds until the budget runs out at the current burn rate (None when not burning)."""
    if current_burn <= 0:
        return None
    return max(remaining, 0.0) * window / current_burn
