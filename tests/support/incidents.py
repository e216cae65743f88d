"""The incident store's app for the webhook and incidents API tests, on SQLite and PostgreSQL.

``client`` is the real app (lifespan running, scheduler held) on a fresh
database of each ``kind``, its clock the ``clock`` fixture and its incident
listener a :class:`Recorder`; the fixtures reach the tests through
tests/integration/conftest.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from server.app import create_app
from server.settings import Settings
from tests.support.clock import FakeClock
from tests.support.databases import database

HOOK_TOKEN = "hook-s3cret"
API_TOKEN = "api-s3cret"
HOOK = {"Authorization": f"Bearer {HOOK_TOKEN}"}
URL = "/api/v1/alerts/alertmanager"


class Recorder:
    """An incident listener that remembers what it heard."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.lock = threading.Lock()

    def _add(self, kind: str, incident_id: int) -> None:
        with self.lock:
            self.calls.append((kind, incident_id))

    def opened(self, incident_id: int) -> None:
        self._add("opened", incident_id)

    def acknowledged(self, incident_id: int) -> None:
        self._add("acknowledged", incident_id)

    def resolved(self, incident_id: int) -> None:
        self._add("resolved", incident_id)


def make_app(tmp_path: Path, engine: Engine, clock: FakeClock, **settings: Any) -> FastAPI:
    """The app with both tokens and a 64 KiB webhook limit; ``settings`` override them."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'unused.db'}",
        "webhook_token": HOOK_TOKEN,
        "api_token": API_TOKEN,
        "webhook_max_bytes": 64 * 1024,
    }
    values.update(settings)
    return create_app(
        Settings(**values),
        clock=clock,
        database=engine,
        metrics_registry=CollectorRegistry(),
        start_scheduler=False,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(kind: str, tmp_path: Path, clock: FakeClock, recorder: Recorder) -> Iterator[TestClient]:
    with database(kind, tmp_path) as (_url, engine):
        app = make_app(tmp_path, engine, clock)
        with TestClient(app) as test_client:
            app.state.context.incident_listener = recorder
            yield test_client
