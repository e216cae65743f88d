"""``/api/v1/slos``: the registry and every SLO's error budget."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from server.api.deps import WRITE_RESPONSES, ContextDep, SessionDep, WriteAuth
from server.errors import ErrorDetail, InvalidRequestError, NotFoundError
from server.schemas import (
    ErrorBody,
    ErrorBudgetPublic,
    HistoryPublic,
    SeriesPointPublic,
    SeriesPublic,
    SLOPublic,
    SLOsApplied,
    SLOsApply,
    SLOsPublic,
    SLOVersionPublic,
    SLOVersionsPublic,
    SnapshotPublic,
    Status,
)
from server.series import step_for
from server.store import repository
from server.store.repository import SnapshotIn
from sloctl.durations import format_duration, parse_duration

router = APIRouter(
    prefix="/api/v1/slos",
    tags=["slos"],
    responses={
        404: {"model": ErrorBody, "description": "unknown SLO id"},
        422: {"model": ErrorBody, "description": "a parameter or body field is invalid"},
    },
)


def _json(model: SLOsPublic | SLOPublic | SLOsApplied) -> Response:
    """Serialised by pydantic-core directly: the fast path for 1,000 SLOs."""
    return Response(model.model_dump_json(), media_type="application/json")


def _labels(selectors: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for selector in selectors:
        key, sep, value = selector.partition("=")
        if not sep or not key:
            raise InvalidRequestError(
                f"label filter {selector!r} is not key=value",
                [ErrorDetail("label", f"{selector!r} is not key=value, e.g. tier=1")],
            )
        out[key.strip()] = value.strip()
    return out


@router.get("", response_model=SLOsPublic, summary="Every SLO with its error budget")
def list_slos(
    context: ContextDep,
    service: Annotated[str | None, Query(description="only this service")] = None,
    team: Annotated[str | None, Query(description="only this team")] = None,
    status: Annotated[Status | None, Query(description="only this status")] = None,
    label: Annotated[
        list[str] | None, Query(description="key=value; repeat to require several")
    ] = None,
) -> Response:
    wanted = _labels(label or [])
    view, stale = context.cache_view()
    items = context.catalog.items(view, stale=stale)
    if service is not None or team is not None or status is not None or wanted:
        items = [
            item
            for item in items
            if (service is None or item.service == service)
            and (team is None or item.team == team)
            and (status is None or item.status == status)
            and all(_label_value(item, k) == v for k, v in wanted.items())
        ]
    return _json(SLOsPublic(data=list(items), count=len(items)))


def _label_value(item: SLOPublic, key: str) -> str | None:
    if key == "team":
        return item.team
    if key == "service":
        return item.service
    return item.labels.get(key)


@router.put(
    "",
    response_model=SLOsApplied,
    summary="Replace the registry's SLOs (sloctl apply)",
    dependencies=[WriteAuth],
    responses=WRITE_RESPONSES,
)
def apply_slos(body: SLOsApply, context: ContextDep) -> Response:
    """Declarative: afterwards the registry holds exactly these SLOs. Removed ones are
    retired, their versions and history kept."""
    outcome = context.registry.apply(body.slos, origin="api", now=context.now())
    if outcome.created or outcome.updated:
        context.refresher.trigger()
    view, stale = context.cache_view()
    items = context.catalog.items(view, stale=stale)
    return _json(
        SLOsApplied(
            data=list(items),
            count=len(items),
            created=outcome.created,
            updated=outcome.updated,
            unchanged=outcome.unchanged,
            removed=outcome.removed,
        )
    )


@router.get("/{slo_id}", response_model=SLOPublic, summary="One SLO with its error budget")
def get_slo(slo_id: str, context: ContextDep) -> Response:
    view, stale = context.cache_view()
    return _json(context.catalog.get(slo_id, view, stale=stale))


@router.get("/{slo_id}/versions", response_model=SLOVersionsPublic, summary="Stored spec versions")
def versions(slo_id: str, session: SessionDep) -> SLOVersionsPublic:
    """Every version of an SLO's spec the registry stored, oldest first (retired SLOs too)."""
    rows = repository.slo_versions(session, slo_id=slo_id)
    if not rows:
        raise NotFoundError(f"no SLO with id {slo_id!r} was ever registered")
    data = [
        SLOVersionPublic(
            version=version,
            origin=origin,
            created_at=created,
            spec=spec.model_dump(mode="json", by_alias=True),
        )
        for version, spec, origin, created in rows
    ]
    return SLOVersionsPublic(data=data, count=len(data))


def since_time(text: str, now: datetime, field: str) -> datetime:
    """A duration back from now (``24h``, ``7d``) or an ISO 8601 time."""
    try:
        return now - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequestError(
            f"{field} {text!r} is neither a duration nor an ISO 8601 time",
            [ErrorDetail(field, f"{text!r}: give a duration such as 24h or 7d, or an ISO time")],
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _snapshot(row: SnapshotIn) -> SnapshotPublic:
    return SnapshotPublic(
        taken_at=row.taken_at,
        sli=row.sli,
        error_budget=ErrorBudgetPublic(
            consumed=None if row.remaining is None else 1 - row.remaining,
            remaining=row.remaining,
        ),
        burn_rates=row.burn_rates,
        status=row.status,
    )


@router.get("/{slo_id}/history", response_model=HistoryPublic, summary="Budget snapshots")
def history(
    slo_id: str,
    context: ContextDep,
    session: SessionDep,
    since: Annotated[str, Query(description="duration back from now (7d) or ISO time")] = "7d",
) -> HistoryPublic:
    """The snapshots the server stored (every ``history_interval``), oldest first."""
    context.registry.get(slo_id)
    start = since_time(since, context.now(), "since")
    rows = repository.snapshots(session, slo_id=slo_id, since=start)
    return HistoryPublic(data=[_snapshot(r) for r in rows], count=len(rows))


@router.get("/{slo_id}/series", response_model=SeriesPublic, summary="Burn-rate series")
def series(
    slo_id: str,
    context: ContextDep,
    session: SessionDep,
    range_: Annotated[str, Query(alias="range", description="how far back, e.g. 1d or 7d")] = "1d",
) -> SeriesPublic:
    """Burn rates over time for charts, from the stored snapshots (never from a live
    Prometheus query), at most 500 points: the last snapshot of each step."""
    context.registry.get(slo_id)
    try:
        span = parse_duration(range_)
    except ValueError as err:
        raise InvalidRequestError(str(err), [ErrorDetail("range", str(err))]) from None
    now = context.now()
    step = step_for(span, context.settings.history_interval)
    rows = repository.snapshots(
        session, slo_id=slo_id, since=now - timedelta(seconds=span), step=step
    )
    points = [
        SeriesPointPublic(
            time=row.taken_at, burn_rates=row.burn_rates, error_budget_remaining=row.remaining
        )
        for row in rows
    ]
    return SeriesPublic(
        data=points, count=len(points), range=format_duration(span), step=format_duration(step)
    )
