"""Firing SLO alerts, read from Prometheus once per refresh, and their history.

Until Alertmanager's webhook feeds the server (on-call routing), the server
learns which SLO alerts fire from Prometheus itself: one instant query per
refresh, whatever the number of SLOs, returns every firing ``SLOErrorBudgetBurn``
and ``SLOMetricAbsent`` alert with the time it became active
(``ALERTS_FOR_STATE`` holds it as its value, for every active alert). Each
change is written to the store as an alert episode (started, ended), which
the SLO page shows as the alert history.

Pages read :meth:`AlertTracker.view` only, never Prometheus. When the query
fails, the view keeps the last alerts and says since when they are unknown.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from server.errors import PrometheusUnavailableError
from server.prometheus import PrometheusAPI, Sample
from server.store import repository
from server.store.db import transaction
from server.store.repository import EpisodeIn

log = logging.getLogger("sloctl.server.alerts")

#: The alerts sloctl's rules define (docs/rules.md).
SLO_ALERTS = ("SLOErrorBudgetBurn", "SLOMetricAbsent")
#: Every firing SLO alert; the value is the Unix time it became active.
FIRING_QUERY = (
    f'ALERTS_FOR_STATE{{alertname=~"{"|".join(SLO_ALERTS)}",slo!=""}}'
    ' and ignoring(alertstate) ALERTS{alertstate="firing"}'
)
#: Labels every alert of one SLO shares; the rest tell its alerts apart (groupBy values).
_COMMON = frozenset({"__name__", "alertname", "alertstate", "slo", "service", "severity", "team"})
_SEVERITY_ORDER = {"page": 0, "ticket": 1}


@dataclass(frozen=True)
class FiringAlert:
    """One firing alert of one SLO."""

    slo_id: str
    alertname: str
    severity: str
    since: datetime
    labels: Mapping[str, str]

    @property
    def key(self) -> str:
        """Identifies the alert across refreshes: its name and every label."""
        return json.dumps(
            {"alertname": self.alertname, "severity": self.severity, **self.labels},
            sort_keys=True,
        )

    @property
    def distinct_labels(self) -> dict[str, str]:
        """The labels that tell this alert from the SLO's other alerts (groupBy values)."""
        return {k: v for k, v in sorted(self.labels.items()) if k not in _COMMON}


def firing_alert(sample: Sample) -> FiringAlert:
    labels = {k: v for k, v in sample.labels.items() if k not in ("__name__", "alertstate")}
    return FiringAlert(
        slo_id=labels.get("slo", ""),
        alertname=labels.get("alertname", ""),
        severity=labels.get("severity", ""),
        since=datetime.fromtimestamp(sample.value, UTC),
        labels=labels,
    )


def by_severity(alerts: Sequence[FiringAlert]) -> list[FiringAlert]:
    """Pages first, then tickets, then the rest; oldest first within each."""
    return sorted(alerts, key=lambda a: (_SEVERITY_ORDER.get(a.severity, 2), a.since, a.key))


@dataclass(frozen=True)
class AlertsView:
    """A consistent read of the firing alerts.

    ``read_at`` is when Prometheus last answered; ``error`` is set when the
    last attempt failed. Without a good read, which alerts fire is unknown.
    """

    firing: Mapping[str, list[FiringAlert]] = field(default_factory=dict)
    read_at: datetime | None = None
    attempted_at: datetime | None = None
    error: str | None = None
    generation: int = 0

    @property
    def known(self) -> bool:
        return self.read_at is not None and self.error is None

    def for_slo(self, slo_id: str) -> list[FiringAlert] | None:
        """The SLO's firing alerts, pages first; None while unknown."""
        if self.read_at is None:
            return None
        return self.firing.get(slo_id, [])

    def count(self, severity: str) -> int:
        return sum(1 for alerts in self.firing.values() for a in alerts if a.severity == severity)


class AlertTracker:
    """Reads firing alerts in each refresh and keeps the alert history in the store."""

    def __init__(
        self, prometheus: PrometheusAPI, sessions: sessionmaker[Session], retention: timedelta
    ) -> None:
        self.prometheus = prometheus
        self.sessions = sessions
        self.retention = retention
        self._lock = threading.Lock()
        self._view = AlertsView()

    def view(self) -> AlertsView:
        with self._lock:
            return self._view

    def refresh(self, at: datetime) -> bool:
        """Read the firing alerts (one query) and record what started or ended.

        Never raises for Prometheus: a failure keeps the last alerts, marked unknown.
        """
        try:
            samples = self.prometheus.query(FIRING_QUERY, at)
        except PrometheusUnavailableError as err:
            self.fail(err.message, at)
            return False
        alerts = [firing_alert(s) for s in samples]
        firing: dict[str, list[FiringAlert]] = {}
        for alert in alerts:
            if alert.slo_id:
                firing.setdefault(alert.slo_id, []).append(alert)
        firing = {slo_id: by_severity(items) for slo_id, items in firing.items()}
        rows = [
            EpisodeIn(a.slo_id, a.key, a.alertname, a.severity, dict(a.labels), a.since)
            for items in firing.values()
            for a in items
        ]
        with transaction(self.sessions) as session:
            changes = repository.sync_episodes(session, firing=rows, now=at)
            if changes:
                repository.prune_episodes(session, before=at - self.retention)
        with self._lock:
            self._view = AlertsView(firing, at, at, None, self._view.generation + 1)
        if changes:
            log.info("alert episodes changed", extra={"changes": changes, "firing": len(rows)})
        return True

    def fail(self, error: str, at: datetime) -> None:
        """Keep the last alerts, now of unknown currency (Prometheus did not answer)."""
        with self._lock:
            old = self._view
            self._view = AlertsView(old.firing, old.read_at, at, error, old.generation + 1)
