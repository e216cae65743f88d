"""The pages: ``/`` (every SLO's error budget) and ``/slos/{id}`` (one SLO), and static files.

Handlers read only the server's in-memory registry, budget cache and alert
view, plus the stored snapshots, so pages answer at once and keep working,
marked stale, while Prometheus is down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.api import errors as api_errors
from server.api.deps import ContextDep, SessionDep
from server.context import ServerContext
from server.errors import NotFoundError
from server.schemas import GroupPublic
from server.series import step_for
from server.store import repository
from server.web import detail, links
from server.web import format as fmt
from server.web.overview import (
    BURN_WINDOWS,
    COLUMNS,
    STATUSES,
    BurnCell,
    Row,
    budget_bar,
    burn_cells,
    make_row,
    overview,
)
from server.web.overview import Query as OverviewQuery
from server.web.panels import PanelRequest, load_panel
from server.web.security import SecurityHeaders
from server.web.site import STATIC, Site, SiteDep
from sloctl.compile.dashboards import service_uid

router = APIRouter(include_in_schema=False)

#: Columns of the overview table, in order.
HEAD = (
    "name",
    "team",
    "objective",
    "window",
    "sli",
    "budget",
    *(f"burn{w}" for w in BURN_WINDOWS),
    "exhaustion",
    "alerts",
    "status",
    "updated",
)
#: Most points a chart draws per series (a 720-pixel-wide chart).
CHART_POINTS = 360


@dataclass(frozen=True)
class Freshness:
    """Whether the numbers are stale, since when, and why."""

    stale: bool
    last_success: datetime | None
    error: str | None
    age: str


def freshness(context: ServerContext) -> Freshness:
    view, stale = context.cache_view()
    return Freshness(
        stale=stale,
        last_success=view.last_success,
        error=view.last_error,
        age=fmt.age(view.last_success, context.now()),
    )


def rows(context: ServerContext, site: Site) -> list[Row]:
    """Every SLO's overview row, rebuilt only when something it shows changed."""
    view, stale = context.cache_view()
    alerts = context.alerts_view()
    key = (context.registry.generation, view.generation, alerts.generation, stale)

    def build() -> list[Row]:
        specs = {entry.slo.id: entry.slo for entry in context.registry.entries()}
        items = context.catalog.items(view, stale=stale)
        return [
            make_row(item, specs[item.id], alerts.for_slo(item.id))
            for item in items
            if item.id in specs
        ]

    return site.rows.rows(key, build)


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, context: ContextDep, site: SiteDep) -> Response:
    query = OverviewQuery.parse(request.query_params)
    every = rows(context, site)
    model = overview(every, context.alerts_view(), query)
    now = context.now()
    # The macro returns Markup (autoescaped when rendered), so the page inserts it as is.
    row_macro = site.env.get_template("_row.html").module.row  # type: ignore[attr-defined]
    fragments = site.rows.fragments(every, query.group == "none", row_macro)
    return site.render(
        request,
        "overview.html",
        {
            "o": model,
            "fragments": fragments,
            "columns": COLUMNS,
            "head": HEAD,
            "statuses": STATUSES,
            "freshness": freshness(context),
            "age": lambda then: fmt.age(then, now),
        },
        refresh=context.settings.web_refresh_interval,
    )


@dataclass(frozen=True)
class GroupRow:
    group: GroupPublic
    sli: str
    remaining: str
    burns: tuple[BurnCell, ...]
    exhaustion: str


@router.get("/slos/{slo_id}", response_class=HTMLResponse)
def slo_page(
    slo_id: str,
    request: Request,
    context: ContextDep,
    site: SiteDep,
    session: SessionDep,
    range_: Annotated[str, Query(alias="range")] = detail.DEFAULT_RANGE,
) -> Response:
    try:
        entry = context.registry.get(slo_id)
    except NotFoundError as err:
        return not_found_page(request, site, err.message)
    slo = entry.slo
    view, stale = context.cache_view()
    item = context.catalog.get(slo_id, view, stale=stale)
    now = context.now()
    span = detail.time_range(range_, item, now)
    history = repository.snapshots(
        session,
        slo_id=slo_id,
        since=span.start,
        until=span.end + timedelta(seconds=1),
        step=step_for(span.seconds, context.settings.history_interval, CHART_POINTS),
    )
    alerts = context.alerts_view()
    panel_request = PanelRequest(
        slo=slo,
        item=item,
        start=span.start,
        end=span.end,
        now=now,
        session=session,
        settings=context.settings,
        alerts=alerts,
        version=entry.version,
        evidence=context.evidence,
    )
    settings = context.settings
    public_prometheus = settings.prometheus_public_url or settings.prometheus_url
    queries = links.query_links(public_prometheus, slo, span.seconds)
    ranges = [(key, f"last {key}") for key in detail.RANGES]
    ranges.append(("window", f"this {item.window}" if item.period else f"last {item.window}"))
    groups = [
        GroupRow(
            group=g,
            sli=fmt.sli(g.sli, item.objective),
            remaining=fmt.percent(g.error_budget.remaining, 1),
            burns=burn_cells(slo, g.burn_rates),
            exhaustion=fmt.exhaustion(g.time_to_exhaustion_seconds, g.error_budget.remaining),
        )
        for g in item.groups or []
    ]
    context_vars: dict[str, Any] = {
        "item": item,
        "sli": fmt.sli(item.sli, item.objective),
        "objective": fmt.objective(item.objective),
        "remaining": fmt.percent(item.error_budget.remaining, 1),
        "exhaustion": fmt.exhaustion(item.time_to_exhaustion_seconds, item.error_budget.remaining),
        "bar": budget_bar(item.error_budget.remaining, item.status),
        "burns": burn_cells(slo, item.burn_rates),
        "burn_windows": BURN_WINDOWS,
        "groups": groups,
        "gate": detail.gate(item),
        "conditions": detail.conditions(slo, item),
        "span": span,
        "ranges": ranges,
        "points": len(history),
        "budget_chart": detail.budget_chart(item, history, span),
        "burn_chart": detail.burn_chart(slo, history, span),
        "sli_chart": detail.sli_chart(item, history, span),
        "panels": [load_panel(panel, panel_request) for panel in site.panels],
        "grafana": links.grafana_dashboard(settings.grafana_url, slo, span.seconds),
        "dashboard_uid": service_uid(slo.service),
        "queries": queries,
        "prometheus_links": public_prometheus is not None,
        "freshness": freshness(context),
    }
    return site.render(
        request, "slo.html", context_vars, refresh=context.settings.web_refresh_interval
    )


def not_found_page(request: Request, site: Site, message: str) -> HTMLResponse:
    return site.render(
        request, "error.html", {"title": "Not found", "message": message}, status_code=404
    )


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def install(app: FastAPI, site: Site | None = None) -> Site:
    """Serve the pages and static files on ``app`` with security headers on every response.

    Browsers asking for an unknown page get an HTML 404; API clients keep the
    JSON error shape.
    """
    site = site or Site()
    app.state.site = site
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    exempt = [app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url]
    app.add_middleware(SecurityHeaders, exempt=[path for path in exempt if path])

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404 and _wants_html(request):
            return not_found_page(request, site, f"There is no page at {request.url.path}.")
        return await api_errors.http_error(request, exc)

    app.add_exception_handler(StarletteHTTPException, http_error)
    return site
