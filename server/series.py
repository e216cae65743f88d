"""Thinning stored snapshots to a chart's worth of points: shared by the API and the pages."""

from __future__ import annotations

from collections.abc import Sequence

from server.store.repository import SnapshotIn

#: Most points a series holds; longer ranges are thinned to this.
MAX_POINTS = 500


def step_for(span: int, history_interval: float, max_points: int = MAX_POINTS) -> int:
    """Seconds per point: the snapshot interval, or longer so that ``span`` fits ``max_points``."""
    return max(int(history_interval), -(-span // max_points))


def thin(rows: Sequence[SnapshotIn], step: int) -> list[SnapshotIn]:
    """The last snapshot of each ``step``-second bucket, oldest first."""
    buckets: dict[int, SnapshotIn] = {}
    for row in rows:
        buckets[int(row.taken_at.timestamp()) // step] = row
    return [row for _, row in sorted(buckets.items())]
