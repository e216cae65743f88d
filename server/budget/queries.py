"""The PromQL a refresh sends: a fixed number of vector queries, whatever the SLO count.

Recorded series carry the ``slo`` label, so one query per series family reads
every SLO at once. Where recorded history is shorter than a window (rules
loaded recently), the window is computed from the SLI's raw series instead:
each SLO's raw expression is labelled with ``label_replace`` and all of them
are joined with ``or`` into one query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sloctl.compile import series
from sloctl.compile.sli import EventSource, source_for
from sloctl.durations import format_duration, parse_duration
from sloctl.slo_math import BASE_WINDOW
from sloctl.spec.models import SLO

#: Every recorded error ratio of every SLO (all windows).
RECORDED_RATIOS = '{__name__=~"slo:sli_error:ratio_rate.+"}'
#: Label that carries the window key in the combined raw and period queries.
WINDOW_LABEL = "sloctl_window"
_RATIO_PREFIX = "slo:sli_error:ratio_rate"


def ratio_window(metric_name: str) -> str | None:
    """The window key of a recorded error-ratio series name (``...ratio_rate1h`` -> ``1h``)."""
    if not metric_name.startswith(_RATIO_PREFIX):
        return None
    try:
        return format_duration(parse_duration(metric_name.removeprefix(_RATIO_PREFIX)))
    except ValueError:
        return None


def coverage(offsets: Sequence[int]) -> str:
    """Which SLOs' 5-minute base series existed each ``offset`` seconds ago.

    Chained windows are sums over the 5-minute event counts, so a window is
    right only once those counts reach back over all of it. A count within the
    hour before ``now - offset`` shows they do (the long rule group writes one
    every 5 minutes). One lookup per series and offset; the offsets are the
    distinct chained window lengths, not one per SLO.
    """
    parts = []
    for offset in offsets:
        span = f"[1h] offset {format_duration(offset)}"
        present = (
            f"group by (slo) (last_over_time({series.total_count(BASE_WINDOW)}{span}))"
            f" or group by (slo) (last_over_time({series.error_ratio(BASE_WINDOW)}{span}))"
        )
        parts.append(_label(f"({present})", WINDOW_LABEL, format_duration(offset)))
    return "\nor\n".join(parts)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _label(expr: str, name: str, value: str) -> str:
    return f"label_replace({expr}, {_quote(name)}, {_quote(value)}, {_quote('')}, {_quote('')})"


def labelled(expr: str, slo_id: str, key: str) -> str:
    """``expr`` with the ``slo`` and window labels set, for a combined query."""
    return _label(_label(f"({expr})", "slo", slo_id), WINDOW_LABEL, key)


def raw_ratio(slo: SLO, seconds: int) -> str:
    """The SLO's error ratio over ``seconds`` read from its raw series (no recorded series).

    Traffic-weighted for event SLIs (bad over all events in the window); the
    query's own ratio for raw error-ratio SLIs. No traffic gives no sample.
    """
    source = source_for(slo)
    if isinstance(source, EventSource):
        total = source.total(seconds)
        errors = source.errors(seconds, f"({total})")
        return f"({errors})\n/\n({total} > 0)"
    return source.ratio(seconds)


def recorded_period_ratio(slo_ids: Sequence[str], seconds: int, events: bool) -> str:
    """Error ratio over the last ``seconds`` summed from the 5-minute event counts."""
    pattern = "|".join(re.escape(i) for i in sorted(slo_ids))
    selector = f"{{slo=~{_quote(pattern)}}}"
    span = f"[{seconds}s]"
    if not events:
        return f"avg_over_time({series.error_ratio(BASE_WINDOW)}{selector}{span})"
    errors = f"sum_over_time({series.error_count(BASE_WINDOW)}{selector}{span})"
    total = f"sum_over_time({series.total_count(BASE_WINDOW)}{selector}{span})"
    return f"{errors} / ({total} > 0)"


@dataclass(frozen=True)
class RawNeed:
    """A window of an SLO that must be read from raw series."""

    slo: SLO
    key: str
    seconds: int


def combined_raw(needs: Iterable[RawNeed]) -> str:
    """One query for every raw window needed, each labelled with its SLO and window."""
    return "\nor\n".join(labelled(raw_ratio(n.slo, n.seconds), n.slo.id, n.key) for n in needs)


def combined_periods(groups: Iterable[tuple[int, bool, Sequence[str]]]) -> str:
    """One query for the calendar periods read from recorded series.

    ``groups`` holds (elapsed seconds, event SLI?, SLO ids): SLOs whose
    periods have run equally long share one selector.
    """
    parts = [
        _label(f"({recorded_period_ratio(ids, seconds, events)})", WINDOW_LABEL, "period")
        for seconds, events, ids in groups
    ]
    return "\nor\n".join(parts)
