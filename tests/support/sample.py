"""Running the orders sample service in tests: real uvicorn, real databases.

``serve_app`` runs an app under uvicorn in a thread on a free loopback port
(the way httpx tests its clients); ``database_url`` gives each test its own
database: a SQLite file, or a fresh schema in the PostgreSQL on
127.0.0.1:5432 (``SLOCTL_TEST_POSTGRES_URL`` to point elsewhere), dropped
afterwards. A PostgreSQL that does not answer fails the test with how to get
one; it does not skip.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from tests.support.processes import free_port

POSTGRES_URL = os.environ.get(
    "SLOCTL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@contextlib.contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve ``app`` (lifespan included) on 127.0.0.1 until the block ends; yields its URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start the app")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextlib.contextmanager
def postgres_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose connections use a new, empty schema; dropped afterwards."""
    schema = f"orders_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as err:
        pytest.fail(
            f"PostgreSQL is required at {POSTGRES_URL} (trust auth, database 'test'): {err}; "
            "install it with: apt-get install -y postgresql, or set SLOCTL_TEST_POSTGRES_URL"
        )
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextlib.contextmanager
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database of ``backend`` (``sqlite`` or ``postgresql``) for one test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'orders.db'}"
    else:
        with postgres_schema_url() as url:
            yield url


def assert_failed_span(span: ReadableSpan, *, error_type: str, message: str) -> None:
    """``span`` ended as an error: the status with ``message``, ``error.type``, the exception."""
    assert span.status.status_code == StatusCode.ERROR
    assert message in (span.status.description or "")
    assert span.attributes is not None
    assert span.attributes["error.type"] == error_type
    assert [e.name for e in span.events] == ["exception"]
