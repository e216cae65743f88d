"""Line charts as geometry for inline SVG: scales, ticks, lines with a marker per point. Pure.

The server draws every chart itself (no charting library, nothing fetched by
the browser): this module turns time series into coordinates inside a fixed
view box; ``templates/_chart.html`` writes the SVG, with every text escaped.
A ``None`` value breaks a line (no data is not zero).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 10, 26


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Line:
    """One series: polyline segments (split at gaps) and a marker per point."""

    name: str
    css: str
    segments: list[str]
    points: list[Point]


@dataclass(frozen=True)
class Rule:
    """A horizontal reference line (objective, threshold, policy level)."""

    y: float
    label: str
    css: str


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    lines: list[Line]
    rules: list[Rule] = field(default_factory=list)
    guides: list[Line] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    empty: str | None = None
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def plot(self) -> tuple[float, float, float, float]:
        """left, top, right, bottom of the plotting area."""
        return LEFT, TOP, self.width - RIGHT, self.height - BOTTOM

    @property
    def point_count(self) -> int:
        return sum(len(line.points) for line in self.lines)


@dataclass(frozen=True)
class Series:
    """A named series of (time, value) before scaling."""

    name: str
    css: str
    values: Sequence[tuple[datetime, float | None]]
    format: Callable[[float], str]


class Scale:
    """Maps values to pixels, linearly or on a log10 axis (values floored at ``low``)."""

    def __init__(self, low: float, high: float, start: float, end: float, log: bool = False):
        if high <= low:
            high = low + (1.0 if not log else low * 10)
        self.log = log
        self.low, self.high = low, high
        self._low = math.log10(low) if log else low
        self._high = math.log10(high) if log else high
        self.start, self.end = start, end

    def __call__(self, value: float) -> float:
        if self.log:
            value = math.log10(max(value, self.low))
        value = min(max(value, self._low), self._high)
        share = (value - self._low) / (self._high - self._low)
        return round(self.start + share * (self.end - self.start), 2)


def time_ticks(t0: datetime, t1: datetime, scale: Scale, count: int = 6) -> list[Tick]:
    """Evenly spaced ticks on whole minutes, hours or days, labelled for the span."""
    span = (t1 - t0).total_seconds()
    steps = [60 * m for m in (1, 5, 10, 15, 30)] + [3600 * h for h in (1, 2, 3, 6, 12)]
    steps += [86400 * d for d in (1, 2, 5, 7, 14)]
    step = next((s for s in steps if span / s <= count), steps[-1])
    first = math.ceil(t0.timestamp() / step) * step
    label = "%H:%M" if span <= 2 * 86400 else "%b %d" if step >= 86400 else "%b %d %H:%M"
    ticks = []
    t = first
    while t <= t1.timestamp():
        at = datetime.fromtimestamp(t, UTC)
        ticks.append(Tick(scale(t), at.strftime(label)))
        t += step
    return ticks


def linear_ticks(low: float, high: float, scale: Scale, fmt: Callable[[float], str]) -> list[Tick]:
    """About five ticks at round values between ``low`` and ``high``."""
    span = high - low
    if span <= 0:
        return [Tick(scale(low), fmt(low))]
    raw = span / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    value = math.ceil(low / step) * step
    ticks = []
    while value <= high + step * 1e-9:
        ticks.append(Tick(scale(value), fmt(value)))
        value += step
    return ticks


def log_ticks(low: float, high: float, scale: Scale, fmt: Callable[[float], str]) -> list[Tick]:
    exponent = math.floor(math.log10(low))
    ticks = []
    while 10**exponent <= high * 1.0001:
        if 10**exponent >= low * 0.9999:
            ticks.append(Tick(scale(10**exponent), fmt(10**exponent)))
        exponent += 1
    return ticks


def _line(series: Series, x: Scale, y: Scale, tx: Callable[[datetime], str]) -> Line:
    segments: list[str] = []
    points: list[Point] = []
    current: list[str] = []
    for at, value in series.values:
        if value is None or not math.isfinite(value):
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        px, py = x(at.timestamp()), y(value)
        current.append(f"{px},{py}")
        points.append(Point(px, py, f"{series.name} {series.format(value)} at {tx(at)}"))
    if current:
        segments.append(" ".join(current))
    return Line(series.name, series.css, segments, points)


def line_chart(
    *,
    id: str,
    title: str,
    description: str,
    t0: datetime,
    t1: datetime,
    series: Sequence[Series],
    low: float,
    high: float,
    y_format: Callable[[float], str],
    rules: Sequence[tuple[float, str, str]] = (),
    guides: Sequence[Series] = (),
    log: bool = False,
    empty: str = "No history in this range yet.",
) -> Chart:
    """A chart of ``series`` over [t0, t1] with the y axis from ``low`` to ``high``.

    ``rules`` are horizontal lines (value, label, css class); ``guides`` are
    lines drawn without point markers (the ideal burn-down).
    """
    if t1 <= t0:
        t1 = t0 + timedelta(seconds=1)
    left, top, right, bottom = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    x = Scale(t0.timestamp(), t1.timestamp(), left, right)
    y = Scale(low, high, bottom, top, log=log)

    def stamp(at: datetime) -> str:
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

    lines = [_line(s, x, y, stamp) for s in series]
    guide_lines = [Line(g.name, g.css, _line(g, x, y, stamp).segments, []) for g in guides]
    y_ticks = log_ticks(low, high, y, y_format) if log else linear_ticks(low, high, y, y_format)
    has_points = any(line.points for line in lines)
    return Chart(
        id=id,
        title=title,
        description=description,
        lines=lines,
        rules=[Rule(y(v), label, css) for v, label, css in rules if low <= v <= high],
        guides=guide_lines,
        x_ticks=time_ticks(t0, t1, x),
        y_ticks=y_ticks,
        empty=None if has_points else empty,
    )
