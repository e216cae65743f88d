"""Evidence on the web: a panel on the SLO page and a page of its own.

Gathering evidence asks Prometheus, Jaeger and Elasticsearch and may take
seconds (bounded by ``SLOCTL_SERVER_EVIDENCE_DEADLINE``), far more than the
SLO page's budget. So the panel shows a report only when one for the page's
range is already cached, and otherwise where the evidence will come from and
a link; the evidence page (``/slos/{id}/evidence``) gathers it, within the
deadline, and caches it for the panel. Without JavaScript both work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response

from server.api.deps import ContextDep
from server.api.routes.evidence import MAX_RANGE
from server.errors import NotFoundError
from server.evidence.model import EvidenceReport, EvidenceTarget
from server.web import detail
from server.web.panels import Panel, PanelRequest
from server.web.routes import freshness, not_found_page
from server.web.site import Site, SiteDep

router = APIRouter(include_in_schema=False)


def evidence_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The page's range, cut to the last 7 days: trace searches over weeks are slow anywhere."""
    return max(start, end - MAX_RANGE), end


@dataclass(frozen=True)
class EvidencePanel:
    """What the SLO page shows: a cached report if there is one, else where to look."""

    target: EvidenceTarget | None
    report: EvidenceReport | None
    page_url: str
    start: datetime
    end: datetime


def page_url(slo_id: str, range_key: str) -> str:
    return f"/slos/{quote(slo_id, safe='')}/evidence?range={quote(range_key, safe='')}"


def load_evidence(request: PanelRequest) -> EvidencePanel:
    start, end = evidence_window(request.start, request.end)
    service = request.evidence
    key = _range_key(request.end - request.start)
    if service is None:
        return EvidencePanel(None, None, page_url(request.slo.id, key), start, end)
    report = service.cached(request.slo, version=request.version, start=start, end=end)
    return EvidencePanel(
        service.target(request.slo), report, page_url(request.slo.id, key), start, end
    )


def _range_key(span: timedelta) -> str:
    """The page range key whose length is ``span`` (the SLO window's otherwise)."""
    seconds = int(span.total_seconds())
    for key, length in detail.RANGES.items():
        if length == seconds:
            return key
    return "window"


EVIDENCE_PANEL = Panel(
    "evidence", "Evidence: traces and logs", "panels/evidence.html", load_evidence
)


@router.get("/slos/{slo_id}/evidence", response_class=HTMLResponse)
def evidence_page(
    slo_id: str,
    request: Request,
    context: ContextDep,
    site: SiteDep,
    range_: Annotated[str, Query(alias="range")] = "1h",
) -> Response:
    """Gather the evidence of one SLO over a range (at most 7 days) and show it."""
    try:
        entry = context.registry.get(slo_id)
    except NotFoundError as err:
        return not_found_page(request, site, err.message)
    view, stale = context.cache_view()
    item = context.catalog.get(slo_id, view, stale=stale)
    span = detail.time_range(range_, item, context.now())
    start, end = evidence_window(span.start, span.end)
    report, cached = context.evidence.report(entry.slo, version=entry.version, start=start, end=end)
    ranges = [key for key in detail.RANGES if detail.RANGES[key] <= MAX_RANGE.total_seconds()]
    return site.render(
        request,
        "evidence.html",
        {
            "item": item,
            "report": report,
            "cached": cached,
            "span": span,
            "ranges": ranges,
            "slo_url": f"/slos/{quote(slo_id, safe='')}?range={quote(span.key, safe='')}",
            "freshness": freshness(context),
        },
    )


def install(app: FastAPI, site: Site) -> None:
    """Serve the evidence page and put the evidence panel on the SLO page."""
    site.add_panel(EVIDENCE_PANEL)
    app.include_router(router)
