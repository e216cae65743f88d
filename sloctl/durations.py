"""Prometheus-style durations ("5m", "1h30m", "30d") as whole seconds."""

from __future__ import annotations

import re

_UNITS: dict[str, int] = {
    "w": 7 * 86400,
    "d": 86400,
    "h": 3600,
    "m": 60,
    "s": 1,
}
_PART = re.compile(r"(\d+)(ms|w|d|h|m|s)")
_WHOLE = re.compile(r"^(?:\d+(?:ms|w|d|h|m|s))+$")

MINUTE = 60
HOUR = 3600
DAY = 86400


def parse_duration(text: str) -> int:
    """Parse a duration such as ``5m`` or ``1h30m`` into whole seconds.

    Raises:
        ValueError: the text is not a positive duration made of w/d/h/m/s parts
            (milliseconds are rejected: SLO maths works in seconds).
    """
    text = text.strip()
    if not _WHOLE.match(text):
        raise ValueError(f"{text!r} is not a duration such as 5m, 1h30m or 30d")
    total = 0
    for number, unit in _PART.findall(text):
        if unit == "ms":
            raise ValueError(f"{text!r}: durations below one second are not supported")
        total += int(number) * _UNITS[unit]
    if total <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return total


def format_duration(seconds: int) -> str:
    """Format whole seconds the way Prometheus writes durations, but with days.

    Weeks are written as days (``7d``, ``28d``) because SLO windows are usually
    spoken of in days.
    """
    if seconds <= 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size:
            count, seconds = divmod(seconds, size)
            parts.append(f"{count}{unit}")
    return "".join(parts)


def humanize_duration(seconds: float) -> str:
    """A short human reading of a duration: ``52s``, ``7.2h``, ``3d``."""
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 2 * HOUR:
        return f"{seconds / MINUTE:.1f}m".replace(".0m", "m")
    if seconds < 2 * DAY:
        return f"{seconds / HOUR:.1f}h".replace(".0h", "h")
    return f"{seconds / DAY:.1f}d".replace(".0d", "d")
