"""The store's databases for tests: a SQLite file, or PostgreSQL in a schema of its own.

PostgreSQL is the real server on 127.0.0.1:5432 (trust auth, database ``test``);
each test gets a fresh schema, dropped afterwards, so runs never collide. A
missing PostgreSQL fails the test with how to get one.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from server.store.db import make_engine

POSTGRES_URL = os.environ.get(
    "SLOCTL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
INSTALL_POSTGRES = (
    "apt-get install -y postgresql && service postgresql start, with trust auth for "
    "127.0.0.1 and a database named test (or set SLOCTL_TEST_POSTGRES_URL)"
)


@contextlib.contextmanager
def database(kind: str, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """An empty database of ``kind`` (sqlite or postgresql): its URL and an engine."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        engine = make_engine(url)
        try:
            yield url, engine
        finally:
            engine.dispose()
        return
    schema = f"sloctl_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as err:
        pytest.fail(f"PostgreSQL is required for this test ({err}); {INSTALL_POSTGRES}")
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        engine = make_engine(POSTGRES_URL, schema=schema)
        try:
            yield POSTGRES_URL, engine
        finally:
            engine.dispose()
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
