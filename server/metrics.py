"""The server's own Prometheus metrics, on a registry handed in (a fresh one per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ServerMetrics:
    """Refresh duration, Prometheus queries and their errors, SLO count, data age."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.refresh_duration = Histogram(
            "sloctl_server_refresh_duration_seconds",
            "Time one budget refresh took, queries and maths included.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.queries = Counter(
            "sloctl_server_prometheus_queries",
            "Prometheus queries sent by budget refreshes.",
            registry=registry,
        )
        self.query_errors = Counter(
            "sloctl_server_prometheus_query_errors",
            "Prometheus queries that failed or timed out.",
            registry=registry,
        )
        self.slos = Gauge("sloctl_server_slos", "Active SLOs in the registry.", registry=registry)
        self.raw_windows = Gauge(
            "sloctl_server_raw_windows",
            "SLO windows computed from raw series because recorded history is too short.",
            registry=registry,
        )
        self.last_success = Gauge(
            "sloctl_server_last_refresh_success_timestamp_seconds",
            "Unix time of the last refresh that read Prometheus successfully.",
            registry=registry,
        )
