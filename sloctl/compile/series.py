"""Names of the series sloctl records; the server and the dashboards read these.

Names follow Prometheus's ``level:metric:operations`` convention. Every series
carries ``slo``, ``service``, the spec's labels and the SLO's ``groupBy`` labels.
"""

from __future__ import annotations

from sloctl.durations import format_duration


def error_ratio(window: int) -> str:
    """Bad events over all events within ``window``."""
    return f"slo:sli_error:ratio_rate{format_duration(window)}"


def total_events(window: int) -> str:
    """All events per second averaged over ``window``."""
    return f"slo:sli_total_events:rate{format_duration(window)}"


def error_events(window: int) -> str:
    """Bad events per second averaged over ``window`` (recorded for the base window only)."""
    return f"slo:sli_error_events:rate{format_duration(window)}"


def total_count(window: int) -> str:
    """All events counted in ``window``; recorded every ``window`` for the long windows to sum."""
    return f"slo:sli_total_events:increase{format_duration(window)}"


def error_count(window: int) -> str:
    """Bad events counted in ``window``; recorded every ``window`` for the long windows to sum."""
    return f"slo:sli_error_events:increase{format_duration(window)}"


OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"
CURRENT_BURN_RATE = "slo:current_burn_rate:ratio"
INFO = "slo:info"


def slo_selector(slo_id: str) -> str:
    """The label matcher block that selects one SLO's recorded series."""
    escaped = slo_id.replace("\\", "\\\\").replace('"', '\\"')
    return f'{{slo="{escaped}"}}'
