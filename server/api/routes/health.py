"""``/healthz`` (the process is up), ``/readyz`` (its dependencies are) and ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from server.api.deps import ContextDep
from server.schemas import CheckPublic, ReadinessPublic

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=ReadinessPublic,
    summary="Database reachable and budgets fresh",
    responses={503: {"model": ReadinessPublic, "description": "a dependency is not ready"}},
)
def readyz(context: ContextDep) -> JSONResponse:
    checks: dict[str, CheckPublic] = {}
    try:
        with context.db.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = CheckPublic(ok=True, message="reachable")
    except Exception as err:
        checks["database"] = CheckPublic(ok=False, message=f"unreachable: {err}")
    view, stale = context.cache_view()
    if context.settings.prometheus_url is None and context.refresher.engine is None:
        checks["prometheus"] = CheckPublic(
            ok=False, message="SLOCTL_SERVER_PROMETHEUS_URL is not set"
        )
    elif view.last_attempt is None:
        checks["prometheus"] = CheckPublic(ok=False, message="first refresh not done yet")
    elif stale:
        since = view.last_success.isoformat() if view.last_success else "never"
        reason = view.last_error or "no refresh for too long"
        checks["prometheus"] = CheckPublic(
            ok=False, message=f"budgets are stale (last good refresh: {since}): {reason}"
        )
    else:
        checks["prometheus"] = CheckPublic(
            ok=True,
            message=f"budgets refreshed at {view.last_success.isoformat()}"
            if view.last_success
            else "refreshed",
        )
    ready = all(c.ok for c in checks.values())
    body = ReadinessPublic(
        status="ready" if ready else "not ready",
        checks=checks,
        last_refresh=view.last_attempt,
        last_success=view.last_success,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


@router.get("/metrics", summary="The server's own metrics", include_in_schema=False)
def metrics(context: ContextDep) -> Response:
    return Response(generate_latest(context.metrics.registry), media_type=CONTENT_TYPE_LATEST)
