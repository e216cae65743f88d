"""``/api/v1/incidents``: incidents from Alertmanager, acknowledge and resolve.

Reads are open like the rest of the read API; acknowledge and resolve are
writes and need the API bearer token. The listener hears of a change only
after it is committed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from server.api.deps import WRITE_RESPONSES, ContextDep, SessionDep, WriteAuth
from server.oncall import store
from server.oncall.actions import act_on_incident
from server.oncall.schemas import (
    IncidentAction,
    IncidentDetail,
    IncidentPublic,
    IncidentsPublic,
    incident_detail,
    incident_public,
)
from server.oncall.store import IncidentStatus
from server.schemas import ErrorBody

router = APIRouter(
    prefix="/api/v1/incidents",
    tags=["incidents"],
    responses={
        404: {"model": ErrorBody, "description": "unknown incident id"},
        422: {"model": ErrorBody, "description": "a parameter or body field is invalid"},
    },
)


def _json(model: IncidentsPublic | IncidentPublic | IncidentDetail) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


@router.get("", response_model=IncidentsPublic, summary="Incidents, newest first")
def list_incidents(
    session: SessionDep,
    status: Annotated[IncidentStatus | None, Query(description="only this status")] = None,
    team: Annotated[str | None, Query(description="only this team")] = None,
    slo: Annotated[str | None, Query(description="only this SLO id")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many")] = 100,
) -> Response:
    """``count`` is how many incidents match, which is more than ``data`` holds past ``limit``."""
    statuses = None if status is None else (status,)
    rows, count = store.incidents_page(session, statuses=statuses, team=team, slo=slo, limit=limit)
    return _json(IncidentsPublic(data=[incident_public(row) for row in rows], count=count))


@router.get("/{incident_id}", response_model=IncidentDetail, summary="One incident")
def get_incident(incident_id: int, session: SessionDep) -> Response:
    """The incident with its alerts and its timeline."""
    row = store.get_incident(session, incident_id)
    return _json(
        incident_detail(
            row, store.alerts_of(session, incident_id), store.events_of(session, incident_id)
        )
    )


@router.post(
    "/{incident_id}/ack",
    response_model=IncidentPublic,
    summary="Acknowledge an incident (stops escalation)",
    dependencies=[WriteAuth],
    responses={**WRITE_RESPONSES, 409: {"model": ErrorBody, "description": "it is resolved"}},
)
def acknowledge(incident_id: int, body: IncidentAction, context: ContextDep) -> Response:
    return _json(incident_public(act_on_incident(context, incident_id, "ack", by=body.by)))


@router.post(
    "/{incident_id}/resolve",
    response_model=IncidentPublic,
    summary="Resolve an incident by hand",
    dependencies=[WriteAuth],
    responses=WRITE_RESPONSES,
)
def resolve(incident_id: int, body: IncidentAction, context: ContextDep) -> Response:
    return _json(incident_public(act_on_incident(context, incident_id, "resolve", by=body.by)))
