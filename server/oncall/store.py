"""The incident store: Alertmanager notifications in, incidents with timelines out.

Keyword-only functions over a caller's :class:`Session`; the caller owns the
transaction, so a notification is stored in the same transaction as the reply
that acknowledges it.

Ingestion is idempotent and tolerates notifications out of order. Each alert
(fingerprint) keeps the state of its latest firing episode, which its
``startsAt`` identifies: news of an older episode is ignored, and within one
episode ``resolved`` wins over ``firing``. The incident is firing while any
of its alerts fires, resolved when none does; a new episode after resolution
reopens it. Concurrent notifications of one group are serialised by the
incident row: the first statement inserts it (or finds it) and locks it
(``FOR UPDATE`` on PostgreSQL; on SQLite the insert takes the database's
write lock).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, cast

from sqlalchemy import ColumnElement, Table, bindparam, case, func, select, update
from sqlalchemy import insert as insert_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.errors import ConflictError, NotFoundError
from server.oncall.models import Incident, IncidentAlert, IncidentEvent
from server.oncall.webhook import AlertmanagerPayload, WebhookAlert

__all__ = [
    "EVENT_KINDS",
    "Incident",
    "IncidentAlert",
    "IncidentEvent",
    "IncidentStatus",
    "IngestResult",
    "acknowledge",
    "add_event",
    "alerts_of",
    "events_of",
    "get_incident",
    "incidents_page",
    "ingest",
    "list_incidents",
    "lock_incident",
    "resolve",
]

IncidentStatus = Literal["firing", "acknowledged", "resolved"]
INCIDENT_STATUSES: tuple[IncidentStatus, ...] = ("firing", "acknowledged", "resolved")
EVENT_KINDS = (
    "received",
    "opened",
    "notified",
    "delivery_failed",
    "escalated",
    "acknowledged",
    "ack_timeout",
    "resolved",
    "all_clear",
    "reopened",
)
#: Who resolved an incident whose alerts all resolved.
ALERTMANAGER = "alertmanager"


class RouteLike(Protocol):
    """What routing decided for an incident (``sloctl.oncall.routing.RouteMatch``)."""

    @property
    def team(self) -> str | None: ...

    @property
    def policy(self) -> str: ...


@dataclass(frozen=True)
class IngestResult:
    """What one notification did to its incident."""

    incident_id: int
    opened: bool
    resolved: bool
    reopened: bool
    changed: bool
    status: IncidentStatus


def key_digest(receiver: str, group_key: str) -> str:
    """The unique key of an incident: SHA-256 of receiver and group key."""
    return hashlib.sha256(f"{receiver}\x00{group_key}".encode()).hexdigest()


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


# The hot path's statements, built once over the tables (not the ORM classes): values travel
# as parameters, so a notification costs no statement building and no ORM bookkeeping.
_INCIDENTS = cast(Table, Incident.__table__)
_ALERTS = cast(Table, IncidentAlert.__table__)
_EVENTS = cast(Table, IncidentEvent.__table__)
_CLAIM = {
    name: dialect_insert(_INCIDENTS)
    .on_conflict_do_nothing(index_elements=["key_digest"])
    .returning(_INCIDENTS.c.id)
    for name, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_FIND = (
    select(_INCIDENTS.c.id, _INCIDENTS.c.status)
    .where(_INCIDENTS.c.key_digest == bindparam("digest"))
    .with_for_update()
)
_KNOWN = select(_ALERTS.c.id, _ALERTS.c.fingerprint, _ALERTS.c.status, _ALERTS.c.starts_at).where(
    _ALERTS.c.incident_id == bindparam("incident")
)
_ADD_ALERTS = insert_(_ALERTS)
_SET_ALERTS = update(_ALERTS).where(_ALERTS.c.id == bindparam("alert_id"))
_SET_INCIDENT = update(_INCIDENTS).where(_INCIDENTS.c.id == bindparam("incident_id"))
_ADD_EVENTS = insert_(_EVENTS)


def _claim(session: Session, payload: AlertmanagerPayload, now: datetime) -> tuple[int, str | None]:
    """Insert the incident row if it is new, else lock it: its id, and its status if it existed."""
    digest = key_digest(payload.receiver, payload.group_key)
    values = {
        "key_digest": digest,
        "receiver": payload.receiver,
        "group_key": payload.group_key,
        "status": "resolved",  # set once the alerts are applied, in this transaction
        "title": "",
        "labels": "{}",
        "external_url": payload.external_url,
        "escalation_step": 0,
        "escalation_round": 0,
        "opened_at": now,
        "updated_at": now,
    }
    connection = session.connection()
    statement = _CLAIM[connection.dialect.name]
    created = connection.execute(statement, values).scalar_one_or_none()
    if created is not None:
        return created, None
    found = connection.execute(_FIND, {"digest": digest}).one()
    return found.id, found.status


@dataclass(frozen=True)
class _Known:
    """What the store holds of one alert: enough to judge a new report of it."""

    id: int
    status: str
    starts_at: datetime


def _alert_values(alert: WebhookAlert, now: datetime) -> dict[str, Any]:
    return {
        "status": alert.status,
        "alertname": alert.labels.get("alertname"),
        "labels": _dumps(alert.labels),
        "annotations": _dumps(alert.annotations),
        "starts_at": alert.starts_at,
        "ends_at": alert.ends_at if alert.status == "resolved" else None,
        "generator_url": alert.generator_url,
        "updated_at": now,
    }


def _judge(known: _Known | None, alert: WebhookAlert) -> tuple[bool, bool]:
    """Whether a report changes the stored alert, and whether it starts a firing episode."""
    if known is None:
        return True, alert.status == "firing"
    if alert.starts_at < known.starts_at:
        return False, False  # news of an older episode
    if alert.starts_at > known.starts_at:
        return True, alert.status == "firing"
    # Same episode: resolved is final, and a repeat changes nothing.
    return known.status == "firing" and alert.status == "resolved", False


def _description(payload: AlertmanagerPayload, route: RouteLike | None) -> dict[str, Any]:
    labels = payload.labels()
    annotations = payload.common_annotations
    return {
        "slo": labels.get("slo"),
        "service": labels.get("service"),
        "severity": labels.get("severity"),
        "team": (route.team if route is not None else None) or labels.get("team"),
        "policy": route.policy if route is not None else None,
        "title": annotations.get("summary")
        or annotations.get("title")
        or labels.get("alertname")
        or labels.get("slo")
        or payload.group_key,
        "summary": annotations.get("description"),
        "labels": _dumps(labels),
        "external_url": payload.external_url,
    }


def ingest(
    session: Session,
    payload: AlertmanagerPayload,
    *,
    receiver_now: datetime,
    route: RouteLike | None,
) -> IngestResult:
    """Store one webhook notification; idempotent, and safe out of order.

    Written with Core statements rather than ORM objects: this is the hot path
    (a handful of statements per notification; an unchanged re-send writes nothing).

    Args:
        session: in the caller's transaction (committed before the reply).
        payload: the validated notification.
        receiver_now: when it arrived, the time of timeline entries.
        route: the team and escalation policy routing chose, if an on-call
            configuration is loaded.
    """
    now = receiver_now
    incident_id, previous = _claim(session, payload, now)
    created = previous is None
    known: dict[str, _Known] = {}
    if not created:
        rows = session.connection().execute(_KNOWN, {"incident": incident_id})
        known = {row.fingerprint: _Known(row.id, row.status, row.starts_at) for row in rows}
    # Each alert's status once this notification is applied (the payload's fingerprints
    # are unique, so every alert is judged against what the store held).
    statuses = {fingerprint: item.status for fingerprint, item in known.items()}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    changed: list[str] = []
    new_episode = False
    for alert in payload.alerts:
        before = known.get(alert.fingerprint)
        did_change, episode = _judge(before, alert)
        new_episode = new_episode or episode
        if not did_change:
            continue
        changed.append(alert.fingerprint)
        values = _alert_values(alert, now)
        if before is None:
            inserts.append({"incident_id": incident_id, "fingerprint": alert.fingerprint, **values})
        else:
            updates.append({"alert_id": before.id, **values})
        statuses[alert.fingerprint] = alert.status
    connection = session.connection()
    if inserts:
        connection.execute(_ADD_ALERTS, inserts)
    if updates:
        connection.execute(_SET_ALERTS, updates)
    firing = sum(1 for status in statuses.values() if status == "firing")
    events: list[tuple[str, dict[str, Any]]] = []
    if changed:
        detail = {
            "status": payload.status,
            "alerts": len(payload.alerts),
            "changed": sorted(changed),
            "firing": firing,
        }
        events.append(("received", detail))
    incident: dict[str, Any] = {}
    opened = resolved = reopened = False
    closed = {"status": "resolved", "resolved_at": now, "resolved_by": ALERTMANAGER}
    if created:
        incident.update(_description(payload, route))
        if firing:
            incident["status"] = "firing"
            opened = True
            events.append(("opened", {"firing": firing}))
        else:
            # Only news of resolved alerts: the firing notification is late or lost.
            incident.update(closed)
            resolved = True
            events.append(("resolved", {"by": ALERTMANAGER}))
    elif previous == "resolved":
        if new_episode and firing:
            incident.update(_description(payload, route))
            incident.update(
                status="firing",
                acknowledged_at=None,
                acknowledged_by=None,
                resolved_at=None,
                resolved_by=None,
                escalation_step=0,
                escalation_round=0,
            )
            reopened = True
            events.append(("reopened", {"firing": firing}))
    elif changed and not firing:
        incident.update(closed)
        resolved = True
        events.append(("resolved", {"by": ALERTMANAGER}))
    if changed or created:
        incident["updated_at"] = now
        connection.execute(_SET_INCIDENT, {"incident_id": incident_id, **incident})
    if events:
        connection.execute(
            _ADD_EVENTS,
            [
                {"incident_id": incident_id, "kind": kind, "at": now, "detail": _dumps(detail)}
                for kind, detail in events
            ],
        )
    return IngestResult(
        incident_id=incident_id,
        opened=opened,
        resolved=resolved,
        reopened=reopened,
        changed=bool(changed),
        status=_status(str(incident.get("status", previous))),
    )


def _status(value: str) -> IncidentStatus:
    for status in INCIDENT_STATUSES:
        if status == value:
            return status
    raise ValueError(f"unknown incident status {value!r}")


def _close(session: Session, incident: Incident, *, by: str, now: datetime) -> None:
    incident.status = "resolved"
    incident.resolved_at = now
    incident.resolved_by = by
    incident.updated_at = now
    add_event(session, incident.id, kind="resolved", at=now, detail={"by": by})


def add_event(
    session: Session, incident_id: int, *, kind: str, at: datetime, detail: Mapping[str, Any]
) -> None:
    """Append an entry to an incident's timeline (kinds: :data:`EVENT_KINDS`)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown timeline kind {kind!r}; expected one of {EVENT_KINDS}")
    session.add(IncidentEvent(incident_id=incident_id, kind=kind, at=at, detail=_dumps(detail)))


def lock_incident(session: Session, incident_id: int) -> Incident:
    """One incident, locked for the rest of the transaction (PostgreSQL ``FOR UPDATE``).

    Raises:
        NotFoundError: no such incident.
    """
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no FOR UPDATE: a no-op write takes the database's write lock first,
        # so two acknowledgements cannot both see "firing".
        session.execute(update(Incident).where(Incident.id == incident_id).values(id=Incident.id))
    incident = session.execute(
        select(Incident).where(Incident.id == incident_id).with_for_update()
    ).scalar_one_or_none()
    if incident is None:
        raise NotFoundError(f"no incident with id {incident_id}")
    return incident


def acknowledge(
    session: Session, incident_id: int, *, by: str, now: datetime
) -> tuple[Incident, bool]:
    """Acknowledge a firing incident (this stops its escalation); repeating it is a no-op.

    Returns the incident and whether this call changed it: only then has the
    escalation something to stop.

    Raises:
        NotFoundError: no such incident.
        ConflictError: the incident is resolved.
    """
    incident = lock_incident(session, incident_id)
    if incident.status == "resolved":
        raise ConflictError(f"incident {incident_id} is resolved; there is nothing to acknowledge")
    if incident.status != "firing":
        return incident, False
    incident.status = "acknowledged"
    incident.acknowledged_at = now
    incident.acknowledged_by = by
    incident.updated_at = now
    add_event(session, incident_id, kind="acknowledged", at=now, detail={"by": by})
    session.flush()
    return incident, True


def resolve(session: Session, incident_id: int, *, by: str, now: datetime) -> tuple[Incident, bool]:
    """Resolve an incident by hand; resolving a resolved incident is a no-op.

    It stays resolved until one of its alerts starts a new firing episode.
    Returns the incident and whether this call changed it.

    Raises:
        NotFoundError: no such incident.
    """
    incident = lock_incident(session, incident_id)
    if incident.status == "resolved":
        return incident, False
    _close(session, incident, by=by, now=now)
    session.flush()
    return incident, True


def list_incidents(
    session: Session,
    *,
    statuses: Collection[IncidentStatus] | None = None,
    team: str | None = None,
    slo: str | None = None,
    limit: int = 100,
) -> list[Incident]:
    """Incidents, newest first, optionally of some statuses, one team or one SLO.

    Incidents of several statuses opened at the same instant come in the order
    the statuses are given, so one query lists them as one query per status would.
    """
    query = select(Incident).where(*_incident_filters(statuses, team, slo))
    order: list[ColumnElement[Any]] = [Incident.opened_at.desc()]
    if statuses is not None and len(wanted := list(statuses)) > 1:
        ranks = {value: rank for rank, value in enumerate(wanted)}
        order.append(case(ranks, value=Incident.status))
    query = query.order_by(*order, Incident.id.desc()).limit(limit)
    return list(session.scalars(query))


def incidents_page(
    session: Session,
    *,
    statuses: Collection[IncidentStatus] | None = None,
    team: str | None = None,
    slo: str | None = None,
    limit: int = 100,
) -> tuple[list[Incident], int]:
    """What :func:`list_incidents` lists, and how many incidents match in all.

    The count is a second query only when the page is full: a page with room
    to spare holds every match.
    """
    rows = list_incidents(session, statuses=statuses, team=team, slo=slo, limit=limit)
    if len(rows) < limit:
        return rows, len(rows)
    count = select(func.count()).select_from(Incident)
    return rows, session.scalar(count.where(*_incident_filters(statuses, team, slo))) or 0


def _incident_filters(
    statuses: Collection[IncidentStatus] | None, team: str | None, slo: str | None
) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if statuses is not None:
        filters.append(Incident.status.in_(list(statuses)))
    if team is not None:
        filters.append(Incident.team == team)
    if slo is not None:
        filters.append(Incident.slo == slo)
    return filters


def get_incident(session: Session, incident_id: int) -> Incident:
    """One incident by id.

    Raises:
        NotFoundError: no such incident.
    """
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFoundError(f"no incident with id {incident_id}")
    return incident


def alerts_of(session: Session, incident_id: int) -> list[IncidentAlert]:
    """An incident's alerts, firing first, then by start."""
    rows = session.scalars(
        select(IncidentAlert)
        .where(IncidentAlert.incident_id == incident_id)
        .order_by(IncidentAlert.starts_at, IncidentAlert.fingerprint)
    )
    return sorted(rows, key=lambda row: row.status != "firing")


def events_of(session: Session, incident_id: int) -> list[IncidentEvent]:
    """An incident's timeline, oldest first."""
    return list(
        session.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == incident_id)
            .order_by(IncidentEvent.id)
        )
    )
