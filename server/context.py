"""Everything a request handler may need, built once by ``create_app`` and kept on the app."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from server.alerts import AlertsView, AlertTracker
from server.evidence import EvidenceService
from server.metrics import ServerMetrics
from server.oncall.holder import OnCallHolder
from server.oncall.listener import IncidentListener, NullListener
from server.refresher import BudgetCache, CacheView, Clock, Refresher
from server.registry import Registry
from server.settings import Settings
from server.views import Catalog


@dataclass
class ServerContext:
    """The app's services; routes reach them through ``ContextDep``."""

    settings: Settings
    clock: Clock
    db: Engine
    sessions: sessionmaker[Session]
    registry: Registry
    cache: BudgetCache
    refresher: Refresher
    catalog: Catalog
    metrics: ServerMetrics
    evidence: EvidenceService
    alerts: AlertTracker | None = None
    oncall_config: OnCallHolder = field(default_factory=OnCallHolder)
    incident_listener: IncidentListener = field(default_factory=NullListener)

    def now(self) -> datetime:
        return self.clock()

    def cache_view(self) -> tuple[CacheView, bool]:
        """The cache as it is now, and whether its values are stale."""
        view = self.cache.view()
        return view, view.stale(self.clock(), self.settings.stale_seconds)

    def alerts_view(self) -> AlertsView:
        """Firing alerts as last read (an empty, unknown view without Prometheus)."""
        return self.alerts.view() if self.alerts is not None else AlertsView()
