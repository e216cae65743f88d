"""``/api/v1/slos/{id}/evidence``: the traces, logs and exemplars behind an SLO's burn."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from server.api.deps import ContextDep
from server.api.routes.slos import since_time
from server.errors import ErrorDetail, InvalidRequestError
from server.evidence.model import EvidenceReport
from server.schemas import ErrorBody

router = APIRouter(
    prefix="/api/v1/slos",
    tags=["evidence"],
    responses={
        404: {"model": ErrorBody, "description": "unknown SLO id"},
        422: {"model": ErrorBody, "description": "a parameter is invalid"},
    },
)

#: The longest window one request may search: trace searches over weeks are slow everywhere.
MAX_RANGE = timedelta(days=7)
DEFAULT_RANGE = "1h"


@router.get(
    "/{slo_id}/evidence",
    response_model=EvidenceReport,
    summary="Exemplars, failing and slow traces, and logs behind an SLO",
)
def evidence(
    slo_id: str,
    context: ContextDep,
    from_: Annotated[
        str, Query(alias="from", description="window start: duration back from now (1h) or ISO")
    ] = DEFAULT_RANGE,
    to: Annotated[
        str | None, Query(description="window end: duration back from now or ISO; default now")
    ] = None,
) -> Response:
    """Gathered from Prometheus, Jaeger and Elasticsearch at once, within
    ``SLOCTL_SERVER_EVIDENCE_DEADLINE`` seconds; a backend that fails or does not answer in
    time is named in ``failed`` and ``sources`` and the rest is returned (``partial``)."""
    entry = context.registry.get(slo_id)
    now = context.now()
    start = since_time(from_, now, "from")
    end = now if to is None else since_time(to, now, "to")
    if start >= end:
        raise InvalidRequestError(
            "from must be before to",
            [ErrorDetail("from", "the window's start is not before its end")],
        )
    if end - start > MAX_RANGE:
        raise InvalidRequestError(
            "the window is longer than 7 days",
            [ErrorDetail("from", "search at most 7 days at once")],
        )
    report, cached = context.evidence.report(entry.slo, version=entry.version, start=start, end=end)
    return Response(
        report.model_dump_json(),
        media_type="application/json",
        headers={"X-Evidence-Cache": "hit" if cached else "miss"},
    )
