"""Alembic environment: migrations run on the connection the server hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from server.store.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):  # pragma: no cover - only run through migrate()
    raise RuntimeError("run migrations through server.store.db.migrate(engine)")
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
