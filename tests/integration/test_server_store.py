"""The store on SQLite and on PostgreSQL: migrations, registry versions, history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from server.store import repository
from server.store.db import migrate, session_factory, transaction
from server.store.repository import SnapshotIn
from sloctl.spec.models import SLO
from tests.support.databases import database

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def slo(name: str, objective: float = 99.9, service: str = "orders") -> SLO:
    return SLO.model_validate(
        {
            "service": service,
            "name": name,
            "team": "shop",
            "objective": objective,
            "window": "30d",
            "sli": {"ratio": {"errors": 'req_total{code="500"}', "total": "req_total"}},
        }
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with database(request.param, tmp_path) as (_url, engine):
        migrate(engine)
        yield engine


def test_migrations_upgrade_an_empty_database(db: Engine):
    tables = set(inspect(db).get_table_names())
    assert {"slos", "slo_versions", "budget_snapshots", "alembic_version"} <= tables
    with db.connect() as connection:
        assert (
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
        )
    migrate(db)  # idempotent: a restart migrates again


def test_declarative_apply_keeps_versions_and_retires(db: Engine):
    sessions = session_factory(db)
    with transaction(sessions) as session:
        first = repository.apply_slos(
            session, slos=[slo("availability"), slo("latency")], origin="api", now=T0
        )
    assert first.created == ["orders-availability", "orders-latency"]
    later = T0 + timedelta(hours=1)
    with transaction(sessions) as session:
        second = repository.apply_slos(
            session, slos=[slo("availability", 99.95)], origin="api", now=later
        )
    assert (second.created, second.updated, second.unchanged, second.removed) == (
        [],
        ["orders-availability"],
        [],
        ["orders-latency"],
    )
    with transaction(sessions) as session:
        active = repository.active_slos(session)
        versions = repository.slo_versions(session, slo_id="orders-availability")
        retired = repository.slo_versions(session, slo_id="orders-latency")
    assert [(e.slo.id, e.version, e.slo.objective) for e in active] == [
        ("orders-availability", 2, 99.95)
    ]
    assert active[0].updated_at == later
    assert active[0].updated_at.tzinfo is not None
    assert [(v, s.objective) for v, s, _o, _t in versions] == [(1, 99.9), (2, 99.95)]
    assert len(retired) == 1, "a removed SLO keeps its versions"
    with transaction(sessions) as session:
        third = repository.apply_slos(
            session, slos=[slo("availability", 99.95), slo("latency")], origin="api", now=later
        )
    assert third.unchanged == ["orders-availability"]
    assert third.created == ["orders-latency"]
    with transaction(sessions) as session:
        assert repository.slo_versions(session, slo_id="orders-latency")[-1][0] == 2


def test_a_changed_source_alone_is_not_a_new_version(db: Engine):
    sessions = session_factory(db)
    with transaction(sessions) as session:
        repository.apply_slos(session, slos=[slo("a")], origin="api", now=T0)
    moved = slo("a").model_copy(update={"source": "elsewhere.yaml:3"})
    with transaction(sessions) as session:
        outcome = repository.apply_slos(session, slos=[moved], origin="api", now=T0)
    assert outcome.unchanged == ["orders-a"]


def test_snapshots_round_trip_and_retention(db: Engine):
    sessions = session_factory(db)
    rows = [
        SnapshotIn("orders-a", T0 - timedelta(days=d), 0.999 - d / 1e4, 0.5, {"1h": 1.5}, "ok")
        for d in (40, 10, 1, 0)
    ]
    with transaction(sessions) as session:
        repository.add_snapshots(session, snapshots=rows)
        repository.add_snapshots(
            session, snapshots=[SnapshotIn("orders-b", T0, None, None, {}, "unknown")]
        )
    with transaction(sessions) as session:
        got = repository.snapshots(session, slo_id="orders-a", since=T0 - timedelta(days=11))
    assert [r.taken_at for r in got] == [T0 - timedelta(days=10), T0 - timedelta(days=1), T0]
    assert got[-1] == rows[-1]
    with transaction(sessions) as session:
        pruned = repository.prune_snapshots(session, before=T0 - timedelta(days=35))
    assert pruned == 1
    with transaction(sessions) as session:
        left = repository.snapshots(session, slo_id="orders-a", since=T0 - timedelta(days=400))
        empty = repository.snapshots(session, slo_id="orders-b", since=T0)
    assert len(left) == 3
    assert empty[0].sli is None
    assert empty[0].burn_rates == {}
