"""How finely a chart samples stored snapshots: shared by the API's series and the pages."""

from __future__ import annotations

#: Most points a series holds; longer ranges are thinned to this.
MAX_POINTS = 500


def step_for(span: int, history_interval: float, max_points: int = MAX_POINTS) -> int:
    """Seconds per point: the snapshot interval, or longer so that ``span`` fits ``max_points``."""
    return max(int(history_interval), -(-span // max_points))
