"""Keeping budgets fresh: the in-memory cache reads are served from, and the refresh job.

APScheduler runs :meth:`Refresher.refresh` every ``refresh_interval`` seconds
in a background thread. Requests only read :class:`BudgetCache`, so they never
wait on Prometheus. When a refresh fails the cache keeps the last values and
marks them stale; the next good refresh clears that, with no restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from server.alerts import AlertTracker
from server.budget.engine import Engine
from server.budget.numbers import Budget
from server.errors import PrometheusUnavailableError
from server.metrics import ServerMetrics
from server.registry import Registry
from server.store import repository
from server.store.db import transaction
from server.store.repository import SnapshotIn

log = logging.getLogger("sloctl.server.refresh")
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class CacheView:
    """A consistent read of the cache."""

    budgets: dict[str, Budget]
    last_success: datetime | None
    last_attempt: datetime | None
    last_error: str | None
    generation: int
    queries: int = 0

    def stale(self, now: datetime, stale_after: float) -> bool:
        """Whether the values are old or the last refresh failed."""
        if self.last_success is None or self.last_error is not None:
            return True
        return (now - self.last_success).total_seconds() > stale_after


@dataclass
class BudgetCache:
    """The latest budgets; swapped whole under a lock by the refresh job."""

    _view: CacheView = field(default_factory=lambda: CacheView({}, None, None, None, 0))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def view(self) -> CacheView:
        with self._lock:
            return self._view

    def succeed(self, budgets: dict[str, Budget], at: datetime, queries: int) -> None:
        with self._lock:
            self._view = CacheView(budgets, at, at, None, self._view.generation + 1, queries)

    def fail(self, error: str, at: datetime) -> None:
        with self._lock:
            old = self._view
            self._view = CacheView(
                old.budgets, old.last_success, at, error, old.generation + 1, old.queries
            )


class Refresher:
    """Runs refreshes, records metrics, and writes snapshots to the history."""

    def __init__(
        self,
        *,
        engine: Engine | None,
        registry: Registry,
        cache: BudgetCache,
        metrics: ServerMetrics,
        sessions: sessionmaker[Session],
        clock: Clock,
        interval: float,
        history_interval: float,
        retention: timedelta,
        alerts: AlertTracker | None = None,
    ) -> None:
        self.engine = engine
        self.alerts = alerts
        self.registry = registry
        self.cache = cache
        self.metrics = metrics
        self.sessions = sessions
        self.clock = clock
        self.interval = interval
        self.history_interval = timedelta(seconds=history_interval)
        self.retention = retention
        self._last_snapshot: datetime | None = None
        self._run_lock = threading.Lock()
        self._scheduler: BackgroundScheduler | None = None

    def refresh(self) -> bool:
        """One refresh; never raises. Returns whether Prometheus answered."""
        with self._run_lock:
            slos = self.registry.slos()
            self.metrics.slos.set(len(slos))
            at = self.clock()
            if self.engine is None:
                self.cache.fail("SLOCTL_SERVER_PROMETHEUS_URL is not set", at)
                return False
            log.debug("refreshing budgets", extra={"slos": len(slos), "at": at.isoformat()})
            start = time.perf_counter()
            try:
                result = self.engine.refresh(slos, at)
            except PrometheusUnavailableError as err:
                self.metrics.query_errors.inc()
                self.cache.fail(err.message, at)
                if self.alerts is not None:
                    self.alerts.fail(err.message, at)
                log.warning("budget refresh failed", extra={"error": err.message})
                return False
            finally:
                self.metrics.refresh_duration.observe(time.perf_counter() - start)
                self.metrics.queries.inc(self.engine.queries_sent)
            for warning in result.warnings:
                self.metrics.query_errors.inc()
                log.warning("budget refresh incomplete", extra={"error": warning})
            self.cache.succeed(result.budgets, at, result.queries)
            self._read_alerts(at)
            self.metrics.raw_windows.set(result.raw_windows)
            self.metrics.last_success.set(at.timestamp())
            log.info(
                "budgets refreshed",
                extra={
                    "slos": len(slos),
                    "queries": result.queries,
                    "raw_windows": result.raw_windows,
                    "seconds": round(time.perf_counter() - start, 4),
                },
            )
            self._snapshot(result.budgets, at)
            return True

    def _read_alerts(self, at: datetime) -> None:
        """One more query per refresh: which SLO alerts fire (server/alerts.py)."""
        if self.alerts is None:
            return
        self.metrics.queries.inc()
        if not self.alerts.refresh(at):
            self.metrics.query_errors.inc()
            log.warning("firing alerts not read", extra={"error": self.alerts.view().error})

    def _snapshot(self, budgets: dict[str, Budget], at: datetime) -> None:
        if self._last_snapshot is not None and at - self._last_snapshot < self.history_interval:
            return
        rows = [
            SnapshotIn(
                slo_id=budget.slo_id,
                taken_at=at,
                sli=budget.numbers.sli,
                remaining=budget.numbers.remaining,
                burn_rates=budget.numbers.burn_rates,
                status=budget.numbers.status,
            )
            for budget in budgets.values()
        ]
        with transaction(self.sessions) as session:
            repository.add_snapshots(session, snapshots=rows)
            pruned = repository.prune_snapshots(session, before=at - self.retention)
        self._last_snapshot = at
        if pruned:
            log.info("pruned budget history", extra={"rows": pruned})

    def start(self) -> None:
        """Refresh now and then every ``interval`` seconds, in a background thread."""
        scheduler = BackgroundScheduler(daemon=True)
        scheduler.add_job(
            self.refresh,
            "interval",
            seconds=self.interval,
            next_run_time=datetime.now().astimezone(),
            max_instances=1,
            coalesce=True,
            id="refresh",
        )
        scheduler.start()
        self._scheduler = scheduler

    def trigger(self) -> None:
        """Refresh as soon as possible (after an apply), without waiting for the interval."""
        if self._scheduler is not None:
            self._scheduler.modify_job("refresh", next_run_time=datetime.now().astimezone())

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
