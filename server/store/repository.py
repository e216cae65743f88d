"""Keyword-only functions over the store: the registry's SLOs and versions, and snapshots.

Callers hand in the session (and the time), so the functions are transaction
agnostic and testable on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.store.models import BudgetSnapshot, SLORecord, SLOVersion
from sloctl.spec.models import SLO


@dataclass(frozen=True)
class StoredSLO:
    """An active SLO as the registry holds it."""

    slo: SLO
    version: int
    updated_at: datetime


@dataclass
class ApplyOutcome:
    """What a declarative apply changed, by SLO id."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SnapshotIn:
    """One SLO's numbers at one time, to be written."""

    slo_id: str
    taken_at: datetime
    sli: float | None
    remaining: float | None
    burn_rates: dict[str, float]
    status: str


def spec_json(slo: SLO) -> str:
    """The wire format of an SLO as canonical JSON (sorted keys)."""
    return json.dumps(slo.model_dump(mode="json", by_alias=True), sort_keys=True)


def spec_digest(slo: SLO) -> str:
    """What identifies a spec version: its content, without where it was read from."""
    data = slo.model_dump(mode="json", by_alias=True, exclude={"source"})
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def active_slos(session: Session) -> list[StoredSLO]:
    """Every active SLO with its current spec, sorted by id."""
    rows = session.execute(
        select(SLORecord, SLOVersion)
        .join(
            SLOVersion,
            (SLOVersion.slo_id == SLORecord.id) & (SLOVersion.version == SLORecord.version),
        )
        .where(SLORecord.active.is_(True))
        .order_by(SLORecord.id)
    ).all()
    return [
        StoredSLO(SLO.model_validate_json(version.spec), record.version, record.updated_at)
        for record, version in rows
    ]


def apply_slos(
    session: Session, *, slos: Sequence[SLO], origin: str, now: datetime
) -> ApplyOutcome:
    """Make the active SLOs exactly ``slos``; removed ones are retired, their history kept.

    A spec that differs from the current version (ignoring ``source``) gets a
    new version; a retired SLO that comes back is reported as created.
    """
    outcome = ApplyOutcome()
    records = {r.id: r for r in session.scalars(select(SLORecord))}
    current = session.execute(
        select(SLOVersion.slo_id, SLOVersion.digest).join(
            SLORecord,
            (SLOVersion.slo_id == SLORecord.id) & (SLOVersion.version == SLORecord.version),
        )
    ).all()
    digests: dict[str, str] = dict(current)
    wanted = {slo.id for slo in slos}
    for slo in sorted(slos, key=lambda s: s.id):
        digest = spec_digest(slo)
        record = records.get(slo.id)
        if record is None:
            record = SLORecord(
                id=slo.id,
                service=slo.service,
                name=slo.name,
                team=slo.team,
                version=1,
                active=True,
                created_at=now,
                updated_at=now,
                retired_at=None,
            )
            session.add(record)
            outcome.created.append(slo.id)
        elif record.active and digests.get(slo.id) == digest:
            outcome.unchanged.append(slo.id)
            continue
        else:
            (outcome.updated if record.active else outcome.created).append(slo.id)
            record.version += 1
            record.active = True
            record.retired_at = None
            record.team = slo.team
            record.updated_at = now
        session.add(
            SLOVersion(
                slo_id=slo.id,
                version=record.version,
                spec=spec_json(slo),
                digest=digest,
                origin=origin,
                created_at=now,
            )
        )
    for slo_id, record in sorted(records.items()):
        if record.active and slo_id not in wanted:
            record.active = False
            record.retired_at = now
            record.updated_at = now
            outcome.removed.append(slo_id)
    session.flush()
    return outcome


def slo_versions(session: Session, *, slo_id: str) -> list[tuple[int, SLO, str, datetime]]:
    """Every stored version of an SLO: (version, spec, origin, created_at), oldest first."""
    rows = session.scalars(
        select(SLOVersion).where(SLOVersion.slo_id == slo_id).order_by(SLOVersion.version)
    )
    return [
        (row.version, SLO.model_validate_json(row.spec), row.origin, row.created_at) for row in rows
    ]


def add_snapshots(session: Session, *, snapshots: Sequence[SnapshotIn]) -> None:
    """Write budget snapshots."""
    session.add_all(
        BudgetSnapshot(
            slo_id=s.slo_id,
            taken_at=s.taken_at,
            sli=s.sli,
            remaining=s.remaining,
            burn_rates=json.dumps(s.burn_rates, sort_keys=True),
            status=s.status,
        )
        for s in snapshots
    )
    session.flush()


def snapshots(
    session: Session, *, slo_id: str, since: datetime, until: datetime | None = None
) -> list[SnapshotIn]:
    """An SLO's snapshots taken at or after ``since`` (and before ``until``), oldest first."""
    query = select(BudgetSnapshot).where(
        BudgetSnapshot.slo_id == slo_id, BudgetSnapshot.taken_at >= since
    )
    if until is not None:
        query = query.where(BudgetSnapshot.taken_at < until)
    rows = session.scalars(query.order_by(BudgetSnapshot.taken_at))
    return [
        SnapshotIn(
            slo_id=row.slo_id,
            taken_at=row.taken_at,
            sli=row.sli,
            remaining=row.remaining,
            burn_rates=json.loads(row.burn_rates),
            status=row.status,
        )
        for row in rows
    ]


def prune_snapshots(session: Session, *, before: datetime) -> int:
    """Delete snapshots older than ``before`` (retention); returns how many went."""
    result = session.execute(delete(BudgetSnapshot).where(BudgetSnapshot.taken_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
