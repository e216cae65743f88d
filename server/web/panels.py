"""Panels of the SLO page that features plug in: alert history now, evidence later.

A panel is an id, a title, a template under ``server/web/templates/panels/``
and a loader that returns what the template shows. The SLO page renders every
registered panel in order, each in its own ``<section>``; a loader that
fails shows its error in the panel instead of failing the page. Register one
with ``Site.add_panel`` (see docs/web.md); registering an id again replaces
the panel (the evidence feature replaces the default ``evidence`` panel).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from server.alerts import AlertsView, FiringAlert
from server.evidence import EvidenceService
from server.schemas import SLOPublic
from server.settings import Settings
from server.store import repository
from server.store.repository import Episode
from server.web.links import jaeger_search
from sloctl.spec.models import SLO

log = logging.getLogger("sloctl.server.web")


@dataclass(frozen=True)
class PanelRequest:
    """What a panel's loader may read: the SLO, its numbers, the page's range and the store."""

    slo: SLO
    item: SLOPublic
    start: datetime
    end: datetime
    now: datetime
    session: Session
    settings: Settings
    alerts: AlertsView
    version: int = 0
    evidence: EvidenceService | None = None


@dataclass(frozen=True)
class Panel:
    id: str
    title: str
    template: str
    load: Callable[[PanelRequest], Any]


@dataclass(frozen=True)
class LoadedPanel:
    panel: Panel
    data: Any
    error: str | None


def load_panel(panel: Panel, request: PanelRequest) -> LoadedPanel:
    try:
        return LoadedPanel(panel, panel.load(request), None)
    except Exception as err:
        log.exception("panel failed", extra={"panel": panel.id, "slo": request.slo.id})
        return LoadedPanel(panel, None, f"{type(err).__name__}: {err}")


# ------------------------------------------------------------ alert history


@dataclass(frozen=True)
class AlertHistory:
    firing: list[FiringAlert] | None
    episodes: list[Episode]
    read_at: datetime | None
    error: str | None
    now: datetime


def load_alert_history(request: PanelRequest) -> AlertHistory:
    """Alerts firing now and every episode in the page's range, from the store."""
    return AlertHistory(
        firing=request.alerts.for_slo(request.slo.id),
        episodes=repository.episodes(request.session, slo_id=request.slo.id, since=request.start),
        read_at=request.alerts.read_at,
        error=request.alerts.error,
        now=request.now,
    )


ALERT_HISTORY = Panel("alerts", "Alert history", "panels/alerts.html", load_alert_history)


# ----------------------------------------------------------------- evidence


@dataclass(frozen=True)
class EvidenceLinks:
    """Where the SLO's traces and logs are, as its spec says; the evidence feature fills
    the panel with the traces and log lines themselves."""

    jaeger_service: str | None
    jaeger_operation: str | None
    jaeger_url: str | None
    es_index: str | None
    es_query: str | None


def load_evidence(request: PanelRequest) -> EvidenceLinks:
    evidence = request.slo.evidence
    jaeger = evidence.jaeger
    es = evidence.elasticsearch
    lookback = int((request.end - request.start).total_seconds())
    return EvidenceLinks(
        jaeger_service=jaeger.service if jaeger else None,
        jaeger_operation=jaeger.operation if jaeger else None,
        jaeger_url=(
            jaeger_search(request.settings.jaeger_url, jaeger.service, jaeger.operation, lookback)
            if jaeger
            else None
        ),
        es_index=es.index if es else None,
        es_query=es.query if es else None,
    )


EVIDENCE = Panel("evidence", "Evidence: traces and logs", "panels/evidence.html", load_evidence)

DEFAULT_PANELS = (ALERT_HISTORY, EVIDENCE)
