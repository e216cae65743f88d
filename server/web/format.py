"""How numbers read on the pages: percentages, burn rates, durations, ages. Pure functions.

Every function takes ``None`` (no data) and answers with an en dash, so a
template never prints "None" or "nan".
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sloctl.durations import DAY, HOUR, MINUTE

NO_DATA = "–"


def percent(fraction: float | None, digits: int = 2) -> str:
    """``0.99912`` -> ``99.91 %``; trailing zeros dropped (``99.9 %``, ``100 %``)."""
    if fraction is None or not math.isfinite(fraction):
        return NO_DATA
    text = f"{fraction * 100:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    return f"{text} %"


def objective(fraction: float) -> str:
    """An objective with every significant digit: ``0.9995`` -> ``99.95 %``."""
    return percent(fraction, 6)


def sli(fraction: float | None, target: float) -> str:
    """An SLI with enough digits to compare with its objective (two more than the objective's)."""
    decimals = len(f"{target * 100:.6f}".rstrip("0").split(".")[1]) if target else 0
    return percent(fraction, min(decimals + 2, 6))


def burn(rate: float | None) -> str:
    """``14.43`` -> ``14.4`` followed by a multiplication sign; small rates keep two digits."""
    if rate is None or not math.isfinite(rate):
        return NO_DATA
    if rate == 0:
        return "0×"
    if rate >= 100:
        return f"{rate:.0f}×"
    if rate >= 10:
        return f"{rate:.1f}×"
    if rate >= 0.01:
        return f"{rate:.2f}×".replace(".00×", "×")
    return "<0.01×"


def duration(seconds: float | None) -> str:
    """A short duration with two units: ``3d 4h``, ``5h 12m``, ``42m``, ``30s``."""
    if seconds is None or not math.isfinite(seconds):
        return NO_DATA
    seconds = max(0, int(seconds))
    if seconds >= DAY:
        days, rest = divmod(seconds, DAY)
        hours = rest // HOUR
        return f"{days}d {hours}h" if hours and days < 10 else f"{days}d"
    if seconds >= HOUR:
        hours, rest = divmod(seconds, HOUR)
        minutes = rest // MINUTE
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if seconds >= MINUTE:
        return f"{seconds // MINUTE}m"
    return f"{seconds}s"


def exhaustion(seconds: float | None, remaining: float | None) -> str:
    """Time to exhaustion: ``spent`` when nothing is left, a dash when not burning."""
    if remaining is not None and remaining <= 0:
        return "spent"
    return duration(seconds)


def age(then: datetime | None, now: datetime) -> str:
    """``12s ago``, ``5m ago``; ``never`` without a time."""
    if then is None:
        return "never"
    return f"{duration((now - then).total_seconds())} ago"


def timestamp(value: datetime | None) -> str:
    """UTC, to the second, as people read it: ``2026-11-24 12:00:05 UTC``."""
    if value is None:
        return NO_DATA
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: datetime | None) -> str:
    """For ``<time datetime=...>``."""
    return "" if value is None else value.isoformat()
